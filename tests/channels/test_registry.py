"""What the rest of the code reads from the provider registry instead of comparing kind names:
each attribute matches what the adapter really does."""

from campaigns.dispatch.recovery import IDEMPOTENT_KINDS
from campaigns.figures import RECEIPTS
from channels.messages import RichMessage
from channels.providers import LINKED_KINDS, PROVIDERS
from channels.providers.base import SendOptions


def test_only_an_idempotent_platform_dedupes_a_repeated_send(account_on, fake_platform):
    vk, telegram = account_on("vk"), account_on("telegram")
    options = SendOptions(idempotency_key="4242")
    for account, user in ((vk, "2000001"), (telegram, "3000001")):
        for _ in range(2):
            account.provider().send(user, RichMessage(text="Menu"), options)

    deduplicated = {r.platform: r.deduplicated for r in fake_platform.requests}
    assert deduplicated == {"vk": True, "telegram": False}
    assert {"vk"} <= IDEMPOTENT_KINDS and "telegram" not in IDEMPOTENT_KINDS
    assert IDEMPOTENT_KINDS == {k for k, cls in PROVIDERS.items() if cls.idempotent_sends}


def test_receipts_and_links_come_from_the_providers():
    assert RECEIPTS["telegram"] == () and RECEIPTS["vk"] == ("read",)
    assert RECEIPTS["sms"] == ("delivered",) and RECEIPTS["email"] == ("delivered", "read")
    assert set(LINKED_KINDS) == set(PROVIDERS) - {"email", "sms"}
    assert not PROVIDERS["email"].sends_over_http and not PROVIDERS["sandbox"].sends_over_http
    assert PROVIDERS["sms"].numbered_replies and not PROVIDERS["telegram"].numbered_replies
