import pytest
import requests

from channels.errors import Transient
from channels.http import PlatformSession


def test_it_skips_environment_lookups_when_no_proxy_is_configured(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)

    assert PlatformSession()._session.trust_env is False


def test_it_honours_a_configured_proxy(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")

    assert PlatformSession()._session.trust_env is True


def test_it_reports_a_refused_connection_as_not_sent():
    # Port 1 on loopback: nothing listens, the request never left.
    with pytest.raises(Transient) as caught:
        PlatformSession().post("http://127.0.0.1:1/x", json_body={})

    assert caught.value.maybe_sent is False


def test_it_reports_a_read_timeout_as_maybe_sent(fake_platform):
    fake_platform.slow(1.0)

    with pytest.raises(Transient) as caught:
        PlatformSession().post(f"{fake_platform.url}/botX/getMe", json_body={}, timeout=0.2)

    assert caught.value.maybe_sent is True
    assert isinstance(caught.value.__cause__, requests.ReadTimeout)
