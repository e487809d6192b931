"""Django's PostgreSQL backend, with a connection health check that needs no round trip.

Django checks a persistent connection before a request's first query (CONN_HEALTH_CHECKS) with
`SELECT 1`: a round trip per API post or webhook, a sixth of a webhook's cost. A connection the
server ended (a restart, `pg_terminate_backend`, PgBouncer going away) has its error and end
of stream waiting on the socket; an idle, healthy one has nothing to read. So the check looks
at the socket instead. A connection cut without a word (no FIN) fails its next query as
before: `SELECT 1` would have waited for the same TCP timeout. Unasked messages the server may
send (a reported setting changed by a configuration reload) only cost a new connection.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        poller = select.poll()
        try:
            poller.register(connection.fileno(), select.POLLIN)
        except (OSError, ValueError):  # no socket any more
            return False
        return not poller.poll(0)  # anything to read while idle: an error, then the end
