from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from health.checks import broker_state, database_state
from health.models import Heartbeat


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, 503 when either does not."""
    database = database_state()
    broker = broker_state()
    body = {"database": database, "broker": broker, "worker": _worker_state(database["ok"])}
    ok = database["ok"] and broker["ok"]
    body["status"] = "ok" if ok else "unavailable"
    return JsonResponse(body, status=200 if ok else 503)


def _worker_state(database_ok: bool) -> dict:
    # Informational only: a worker that is briefly busy must not take the web process out.
    if not database_ok:
        return {"last_heartbeat": None}
    beat = Heartbeat.objects.filter(name="worker").first()
    if beat is None:
        return {"last_heartbeat": None}
    age = (timezone.now() - beat.beat_at).total_seconds()
    return {"last_heartbeat": beat.beat_at.isoformat(), "age_seconds": round(age, 1)}
