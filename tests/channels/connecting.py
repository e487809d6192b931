"""Run connect_channel the way an operator does, for the tests of each platform."""

from io import StringIO

from django.core.management import call_command


def connect_channel(
    kind: str, name: str, *args: str, credentials: dict[str, str] | None = None
) -> list[str]:
    """Run `connect_channel kind name` with `credentials` as --credential options; its lines."""
    out = StringIO()
    pairs = [f"--credential={key}={value}" for key, value in (credentials or {}).items()]
    call_command("connect_channel", kind, name, *pairs, *args, stdout=out, stderr=StringIO())
    return out.getvalue().splitlines()
