"""A LoopSession driven from a test's plain code: each call runs in a greenlet spawned on a
CurlLoop, which is stepped until every call has ended. So a test written for PlatformSession
runs unchanged on the loop the dispatcher sends through (channels/curl_loop.py)."""

from collections.abc import Callable
from typing import Any

from channels.curl_loop import CurlLoop, LoopSession
from channels.http import PlatformResponse


class LoopDriven:
    def __init__(self) -> None:
        self.loop = CurlLoop()
        self.session = LoopSession(self.loop)

    def post(self, *args: Any, **kwargs: Any) -> PlatformResponse:
        [(answer, error)] = self.run_together(lambda: self.session.post(*args, **kwargs))
        if error is not None:
            raise error
        return answer

    def run_together(self, *calls: Callable[[], Any]) -> list[tuple[Any, Exception | None]]:
        """Start every call, then step the loop until all have ended: (result, error) each."""
        ended: list[tuple[Any, Exception | None] | None] = [None] * len(calls)

        def run(index: int, call: Callable[[], Any]) -> None:
            try:
                ended[index] = (call(), None)
            except Exception as error:
                ended[index] = (None, error)

        for index, call in enumerate(calls):
            self.loop.spawn(run, index, call)
        while self.loop.running:
            self.loop.step(None)
        return ended  # type: ignore[return-value]

    def before_next_write(self, hook: Callable[[], None] | None) -> None:
        self.session.before_next_write(hook)

    def close(self) -> None:
        self.session.close()
        self.loop.close()
