"""The one seam through which every request to a messenger platform goes."""

import json
import re
import urllib.request
from typing import Any

import requests

from channels.errors import ConfigurationError, RejectedByPolicy, Transient

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 10


# requests raises these before anything is sent (https://requests.readthedocs.io, "Exceptions");
# http.client raises UnicodeEncodeError for a header value outside Latin-1 (a pasted token).
UNSENDABLE = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    requests.exceptions.URLRequired,
    requests.exceptions.InvalidHeader,
    UnicodeEncodeError,
)
# Error texts quote the URL, which carries Telegram's bot token in its path and Meta's
# access_token in its query: reasons are stored and shown, so URLs are left out of them.
_URL = re.compile(r"(?<=with url: )\S+|[a-z][a-z0-9+.-]*://[^\s'\"]*|/bot[^/\s'\"]+")


def _described(exc: BaseException) -> str:
    """The exception's class and message, with any URL replaced by "<url>"."""
    return f"{type(exc).__name__}: {_URL.sub('<url>', str(exc))}"


class PlatformSession:
    """A keep-alive HTTP session with timeouts; every requests failure becomes a SendError."""

    def __init__(self, pool_size: int = 32) -> None:
        self._session = requests.Session()
        # With trust_env, requests re-reads proxy variables and ~/.netrc on every call (a fifth
        # of a send's CPU in bench/dispatch.py). Only a configured proxy needs that machinery;
        # without one, skip it (and never send netrc credentials to a platform).
        self._session.trust_env = bool(urllib.request.getproxies())
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def post(
        self,
        url: str,
        *,
        json_body: Any = None,
        form: dict[str, Any] | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        timeout: float = READ_TIMEOUT,
    ) -> requests.Response:
        """POST `json_body` as JSON, `form` urlencoded or `body` as given (with its headers)."""
        try:
            return self._session.post(
                url,
                json=json_body,
                data=form if body is None else body,
                headers=headers,
                params=params,
                timeout=(CONNECT_TIMEOUT, timeout),
            )
        except (requests.ConnectionError, requests.ConnectTimeout) as exc:
            # Refused before the request went out: certainly not delivered.
            if not isinstance(exc, requests.ReadTimeout) and _never_sent(exc):
                raise Transient(f"connection failed: {_described(exc)}", maybe_sent=False) from exc
            raise Transient(f"connection lost: {_described(exc)}", maybe_sent=True) from exc
        except requests.ReadTimeout as exc:
            # The platform had the request and did not answer in time: it may have sent it.
            raise Transient(f"timed out after {timeout}s", maybe_sent=True) from exc
        except UNSENDABLE as exc:
            # Nothing went out, and retrying cannot help: the account's api_base or a credential
            # (a token in the URL or a header) cannot make a request.
            raise ConfigurationError(f"request cannot be made: {_described(exc)}") from exc
        except requests.TooManyRedirects as exc:
            # Platform APIs answer sends themselves; a redirect loop means api_base points at
            # some other site. No send went through it.
            raise ConfigurationError(f"redirect loop: {_described(exc)}") from exc
        except requests.exceptions.InvalidJSONError as exc:
            # This message's content (e.g. NaN) cannot be JSON: skip it, the account is fine.
            raise RejectedByPolicy(f"not JSON-encodable: {exc}") from exc
        except requests.RequestException as exc:
            # A response that broke off or could not be decoded (ChunkedEncodingError,
            # ContentDecodingError, ...): the platform had the request and may have acted on it.
            raise Transient(f"broken response: {_described(exc)}", maybe_sent=True) from exc

    def close(self) -> None:
        self._session.close()


def _never_sent(exc: requests.RequestException) -> bool:
    text = str(exc)
    return isinstance(exc, requests.ConnectTimeout) or "Connection refused" in text


def json_or_empty(response: requests.Response) -> dict[str, Any]:
    """The response's JSON object, or {} when the body is not one (e.g. an HTML 502 page)."""
    try:
        data = response.json()
    except (ValueError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {"result": data}


_shared: PlatformSession | None = None


def shared_session() -> PlatformSession:
    """A process-wide session, so sends reuse connections across calls."""
    global _shared
    if _shared is None:
        _shared = PlatformSession()
    return _shared
