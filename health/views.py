from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from health.checks import broker_state, database_state, heartbeat_state


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer and a worker executed a task lately; 503
    with the reasons otherwise. Beat's last tick is reported, not required: without beat the
    worker's heartbeat (a task beat sends) goes stale too, and that is the 503."""
    database = database_state()
    body = {"database": database, "broker": broker_state()}
    if database["ok"]:
        body["worker"] = heartbeat_state("worker", max_age=settings.HEALTH_WORKER_MAX_AGE)
        body["beat"] = heartbeat_state("beat", max_age=settings.HEALTH_WORKER_MAX_AGE)
    else:
        body["worker"] = body["beat"] = {"ok": False, "error": "database down"}
    failing = [part for part in ("database", "broker", "worker") if not body[part]["ok"]]
    body["status"] = "unavailable" if failing else "ok"
    if failing:
        body["reasons"] = [body[part].get("error") or f"{part} down" for part in failing]
    return JsonResponse(body, status=503 if failing else 200)
