"""Array parameters for the dispatcher's hot statements, as PostgreSQL array literals.

Django binds parameters on the client, and psycopg quotes a list element by element in Python:
12 us per outcome for the seven columns of a flush of outcomes, a tenth of the main thread
(bench/dispatch.py). The same arrays written as one literal each (`{1,2,"a b",NULL}`) cost 2 us,
and the server parses them in C. The literal still travels as one quoted string parameter, so
nothing in it can reach the SQL around it; the statement casts it (`%s::bigint[]`).
"""

from collections.abc import Iterable
from datetime import datetime


def ints(values: Iterable[int]) -> str:
    return "{" + ",".join(map(str, values)) + "}"


def texts(values: Iterable[str | None]) -> str:
    """Every element double-quoted, its backslashes and quotes escaped; None is NULL."""
    return "{" + ",".join(map(_text, values)) + "}"


def times(values: Iterable[datetime | None]) -> str:
    """Aware datetimes in ISO 8601 (offset included); None is NULL."""
    return "{" + ",".join("NULL" if v is None else v.isoformat() for v in values) + "}"


def _text(value: str | None) -> str:
    if value is None:
        return "NULL"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
