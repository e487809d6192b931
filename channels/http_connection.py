"""One keep-alive HTTP/1.1 connection to a platform: open (TLS, proxy tunnel), write, read.

Written on the socket rather than on http.client: a platform call is a POST with a small JSON
answer, and http.client parses every answer's headers with the email package, which was a
third of the dispatcher's CPU per send (bench/dispatch.py). Reading the status line and the
three headers framing needs (Content-Length, Transfer-Encoding, Connection) is all a send
needs. Failures raise the standard exceptions (OSError, TimeoutError, http.client's
BadStatusLine and IncompleteRead, ValueError); channels/http.py classifies them.
"""

import socket
import ssl
from http.client import BadStatusLine, IncompleteRead, LineTooLong
from io import BufferedReader

MAX_LINE = 65536  # a status or header line longer than this is not a platform's answer
MAX_HEADERS = 100
_FORBIDDEN = frozenset("\r\n\0")
_NO_BODY = frozenset((204, 304))


class Connection:
    """A connection to (host, port), through an HTTP proxy at `via` if given (not yet open).

    `tunnel`: reach an HTTPS host through the proxy with CONNECT (its credentials in
    `tunnel_headers`), TLS inside; without it a proxy gets plain requests with absolute URIs.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: bool,
        via: tuple[str, int] | None = None,
        tunnel_headers: dict[str, str] | None = None,
        connect_timeout: float,
    ) -> None:
        self.host, self.port, self.tls, self.via = host, port, tls, via
        self.tunnel_headers = tunnel_headers or {}
        self.connect_timeout = connect_timeout
        self.sock: socket.socket | None = None
        self._reader: BufferedReader | None = None  # over sock; closing it leaves sock open
        authority = f"[{host}]" if ":" in host else host
        self.authority = authority if port == (443 if tls else 80) else f"{authority}:{port}"

    def open(self) -> None:
        sock = socket.create_connection(self.via or (self.host, self.port), self.connect_timeout)
        try:
            # Each request goes out in one write; do not hold it back for an ACK (Nagle).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls:
                if self.via:
                    _tunnel(sock, f"{self.host}:{self.port}", self.tunnel_headers)
                sock = _tls_context().wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self._reader = sock.makefile("rb")

    def send(self, request: bytes, timeout: float) -> None:
        if self.sock is None:
            self.open()
        assert self.sock is not None
        self.sock.settimeout(timeout)
        self.sock.sendall(request)

    def answer(self, limit: int) -> tuple[int, bytes, bool]:
        """(status, body, complete): at most `limit` + 1 bytes of body are read.

        `complete`: the answer was read to its end and the peer keeps the connection open,
        so the next request may reuse it.
        """
        assert self._reader is not None
        status, headers, keep = _head(self._reader)
        while 100 <= status < 200:  # "100 Continue" and the like come before the answer
            status, headers, keep = _head(self._reader)
        if status in _NO_BODY:
            return status, b"", keep
        if "chunked" in headers.get("transfer-encoding", ""):
            body, ended = _chunked(self._reader, limit)
            return status, body, keep and ended
        length = headers.get("content-length")
        if length is None:  # the body runs until the peer closes
            return status, self._reader.read(limit + 1), False
        if not length.isdigit():
            raise BadStatusLine(f"Content-Length: {length}")
        size = int(length)
        body = self._reader.read(min(size, limit + 1))
        if len(body) < min(size, limit + 1):
            raise IncompleteRead(body, size - len(body))
        return status, body, keep and size <= limit

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if sock is not None:
            sock.close()


def request_bytes(target: str, authority: str, headers: dict[str, str], body: bytes) -> bytes:
    """The whole request; ValueError (or UnicodeEncodeError) if it cannot be written."""
    if not target.isascii() or any(c <= " " or c == "\x7f" for c in target):
        raise ValueError(f"the request target cannot contain spaces or controls: {target!r}")
    lines = [f"POST {target} HTTP/1.1", f"Host: {authority}", f"Content-Length: {len(body)}"]
    for name, value in headers.items():
        if _FORBIDDEN.intersection(name + value):
            raise ValueError(f"header {name!r} cannot contain a line break or NUL")
        lines.append(f"{name}: {value}")
    head = "\r\n".join(lines).encode("latin-1")
    return head + b"\r\n\r\n" + body


def _head(reader: BufferedReader) -> tuple[int, dict[str, str], bool]:
    """Status line and headers: (status, framing headers lower-cased, keep-alive)."""
    line = _line(reader)
    version, _, rest = line.partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise BadStatusLine(repr(line[:100]))
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        header = _line(reader)
        if header in (b"\r\n", b"\n"):
            break
        name, colon, value = header.partition(b":")
        if not colon:
            raise BadStatusLine(f"not a header: {header[:100]!r}")
        key = name.strip().lower().decode("latin-1")
        if key in ("content-length", "transfer-encoding", "connection"):
            headers[key] = value.strip().decode("latin-1").lower()
    else:
        raise BadStatusLine(f"more than {MAX_HEADERS} headers")
    keep = version == b"HTTP/1.1" and "close" not in headers.get("connection", "")
    return int(code), headers, keep


def _line(reader: BufferedReader) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise LineTooLong("header line")
    if not line.endswith(b"\n"):  # the peer closed mid-line (or before answering at all)
        raise BadStatusLine(repr(line[:100]) if line else "the connection closed, no answer")
    return line


def _chunked(reader: BufferedReader, limit: int) -> tuple[bytes, bool]:
    """The body of a chunked answer: (body, read to its end)."""
    parts: list[bytes] = []
    size_so_far = 0
    while True:
        size_line = reader.readline(MAX_LINE + 1)
        try:
            size = int(size_line.split(b";", 1)[0], 16)
        except ValueError:
            raise IncompleteRead(b"".join(parts)) from None
        if size == 0:
            while _line(reader) not in (b"\r\n", b"\n"):  # trailers, ignored
                pass
            return b"".join(parts), True
        take = min(size, limit + 1 - size_so_far)
        chunk = reader.read(take)
        if len(chunk) < take:
            raise IncompleteRead(b"".join(parts) + chunk, size - len(chunk))
        parts.append(chunk)
        size_so_far += take
        if size_so_far > limit:  # too big to be an answer: stop reading, do not reuse
            return b"".join(parts), False
        if take == size and reader.read(2) != b"\r\n":
            raise IncompleteRead(b"".join(parts))


def _tunnel(sock: socket.socket, authority: str, headers: dict[str, str]) -> None:
    """Ask the proxy for a tunnel to `authority`; OSError if it refuses (nothing was sent)."""
    lines = [f"CONNECT {authority} HTTP/1.0", *(f"{k}: {v}" for k, v in headers.items())]
    sock.sendall("\r\n".join(lines).encode("latin-1") + b"\r\n\r\n")
    # Unbuffered: nothing after the proxy's answer may be taken from the TLS stream.
    with sock.makefile("rb", buffering=0) as reader:
        status, _, _ = _head(reader)  # type: ignore[arg-type]
    if status != 200:
        raise OSError(f"the proxy refused the tunnel: HTTP {status}")


_context: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    global _context
    if _context is None:  # loading the CA store costs milliseconds: once per process
        _context = ssl.create_default_context()
    return _context
