"""Fixtures shared by the channel tests; their helper modules get pytest's assert messages."""

import pytest

pytest.register_assert_rewrite("tests.channels.webhooks", "tests.channels.sending")


@pytest.fixture
def no_handlers(settings) -> None:
    """The channel layer alone: no app handler runs on inbound events (they have own tests)."""
    settings.INBOUND_EVENT_HANDLERS = []
