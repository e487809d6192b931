import pytest

from tests.factories import ChannelAccountFactory, CustomerFactory, OrderFactory


@pytest.fixture
def telegram():
    """A Telegram bot account (no API base: nothing here sends)."""
    return ChannelAccountFactory(kind="telegram")


@pytest.fixture
def order():
    """The shop's order A-1001 of an English-speaking customer."""
    return OrderFactory(external_id="A-1001", customer=CustomerFactory(locale="en"))
