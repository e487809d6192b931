"""A fake Telegram / Messenger / WhatsApp / Viber / VK API server for tests and benchmarks.

Standard library only (no Django): it runs in the test process (FakePlatform().start()) or
standalone (python -m channels.fake_platform --port 8081). See server.py for the Python API and
control.py for the same controls over HTTP.
"""

from .recorder import RecordedRequest
from .server import FakePlatform

__all__ = ["FakePlatform", "RecordedRequest"]
