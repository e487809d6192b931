"""Control routes under /_fake/: drive the fake from another process (benchmarks, browsers).

GET /_fake/requests?platform=&since=&after=   recorded requests (body as text)
DELETE /_fake/requests                        forget records and counters (like clear())
POST /_fake/reset                             clear + drop all behaviour config
GET|POST /_fake/config                        read / change behaviour config (any subset)
GET /_fake/stats                              counts per platform and per answered status
GET /_fake/health                             {"ok": true}, for readiness polling
"""

import json
from typing import TYPE_CHECKING, Any

from .base import check_platform
from .behaviour import Behaviour
from .protocol import HttpRequest, Response, json_response

if TYPE_CHECKING:
    from .dispatch import FakeApp


def handle(app: "FakeApp", request: HttpRequest) -> Response:
    """Answer one control request; the caller holds the app's lock."""
    route = request.path.removeprefix("/_fake/").rstrip("/")
    method = request.method
    try:
        if route == "requests" and method == "GET":
            return json_response(200, _listing(app, request.query))
        if route == "requests" and method == "DELETE":
            app.clear()
            return json_response(200, {"ok": True})
        if route == "reset" and method == "POST":
            app.reset()
            return json_response(200, {"ok": True})
        if route == "config" and method == "POST":
            # Parsed whatever the Content-Type says: `curl -d '{...}'` labels JSON as a form.
            configure(app.behaviour, json.loads(request.body or b"null"))
            return json_response(200, {"ok": True, "config": app.behaviour.snapshot()})
        if route == "config" and method == "GET":
            return json_response(200, app.behaviour.snapshot())
        if route == "stats" and method == "GET":
            return json_response(200, app.recorder.stats())
        if route == "health" and method == "GET":
            return json_response(200, {"ok": True})
    except (ValueError, TypeError, KeyError) as error:  # JSONDecodeError is a ValueError
        return json_response(400, {"error": f"{type(error).__name__}: {error}"})
    known = route in ("requests", "reset", "config", "stats", "health")
    return json_response(405 if known else 404, {"error": f"no route {method} {request.path}"})


def _listing(app: "FakeApp", query: dict[str, str]) -> list[dict[str, Any]]:
    platform = query.get("platform") or None
    check_platform(platform)
    since = float(query["since"]) if query.get("since") else None
    after = int(query["after"]) if query.get("after") else None
    return [r.as_json() for r in app.recorder.select(platform, since, after)]


def configure(behaviour: Behaviour, config: Any) -> None:
    """Apply a JSON config; all of it or, if any part is invalid, none of it."""
    changes = _changes(config)
    # Rehearse on a scratch copy first, so a bad entry leaves the live config untouched.
    for target in (Behaviour(), behaviour):
        for method, args in changes:
            getattr(target, method)(*args)


def _changes(config: Any) -> list[tuple[str, tuple[Any, ...]]]:
    """Translate the JSON shape into Behaviour method calls."""
    if not isinstance(config, dict):
        raise ValueError("config must be a JSON object")
    unknown = set(config) - {"rate_limit", "block", "fail", "slow", "error", "drop"}
    if unknown:
        raise ValueError(f"unknown config keys: {sorted(unknown)}")
    changes: list[tuple[str, tuple[Any, ...]]] = []
    for token, per_second in dict(config.get("rate_limit") or {}).items():
        if per_second is not None and (type(per_second) is not int):
            raise ValueError("rate_limit values must be integers or null")
        changes.append(("set_rate_limit", (str(token), per_second)))
    for entry in config.get("block") or []:
        item = entry if isinstance(entry, dict) else {"recipient": entry}
        changes.append(("block", (str(item["recipient"]), item.get("platform"))))
    if (fail := config.get("fail")) is not None:
        status = int(fail.get("status", 500))
        changes.append(("fail", (status, fail.get("count"), fail.get("platform"))))
    if (slow := config.get("slow")) is not None:
        changes.append(("slow", (float(slow["seconds"]), slow.get("count"), slow.get("platform"))))
    if (drop := config.get("drop")) is not None:
        changes.append(("drop", (float(drop["fraction"]), drop.get("seed"))))
    errors = config.get("error") or []
    for error in errors if isinstance(errors, list) else [errors]:
        changes.append(("error", (error["platform"], error["body"], int(error.get("status", 200)))))
    return changes
