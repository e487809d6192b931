"""python -m channels.fake_platform --port 8081 [--host 127.0.0.1]

Runs in the foreground until SIGINT or SIGTERM. Prints one line once it accepts connections,
so a parent process can wait for it (and learn the port when given --port 0).
"""

import argparse
import asyncio
import signal
import sys

from .dispatch import FakeApp
from .protocol import HttpServer
from .server import loopback_host

# A standalone server usually sits under a long benchmark: cap memory at roughly 1 GB.
DEFAULT_MAX_RECORDS = 500_000


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m channels.fake_platform", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1", help="loopback only (127.0.0.0/8, ::1)")
    parser.add_argument(
        "--max-records",
        type=int,
        default=DEFAULT_MAX_RECORDS,
        help="keep only the newest N recorded requests (~2 KB each); 0 keeps all",
    )
    args = parser.parse_args(argv)
    try:
        args.host = loopback_host(args.host)
    except ValueError as error:
        parser.error(str(error))  # exits with status 2
    return args


async def _serve(host: str, port: int, max_records: int | None) -> None:
    server = HttpServer(FakeApp(max_records))
    port = await server.start(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    shown = f"[{host}]" if ":" in host else host
    print(f"fake platform listening on http://{shown}:{port}", flush=True)
    await stop.wait()
    await server.close()


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    asyncio.run(_serve(args.host, args.port, args.max_records or None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
