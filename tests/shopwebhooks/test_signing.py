import hashlib
import hmac
import shutil
import subprocess

import pytest

from shopwebhooks.signing import signature_header, verify

BODY = b'{"event":"reorder.requested","id":"evt_1"}'


def test_it_verifies_with_either_secret_during_rotation() -> None:
    header = signature_header(secrets=["new", "old"], timestamp=1000, body=BODY)
    assert verify(header=header, body=BODY, secret="new", now=1000)
    assert verify(header=header, body=BODY, secret="old", now=1000)
    assert not verify(header=header, body=BODY, secret="other", now=1000)


def test_it_refuses_a_changed_body_or_a_stale_timestamp() -> None:
    header = signature_header(secrets=["s"], timestamp=1000, body=BODY)
    assert not verify(header=header, body=BODY + b" ", secret="s", now=1000)
    assert not verify(header=header, body=BODY, secret="s", now=1000 + 301)


def test_it_matches_the_python_recipe() -> None:
    header = signature_header(secrets=["s"], timestamp=1000, body=BODY)
    expected = hmac.new(b"s", b"1000." + BODY, hashlib.sha256).hexdigest()
    assert f"v1={expected}" in header


@pytest.mark.skipif(not shutil.which("openssl"), reason="no openssl")
def test_it_matches_the_openssl_recipe() -> None:
    header = signature_header(secrets=["s"], timestamp=1000, body=BODY)
    out = (
        subprocess.run(
            ["openssl", "dgst", "-sha256", "-hmac", "s", "-r"],
            input=b"1000." + BODY,
            capture_output=True,
            check=True,
        )
        .stdout.split()[0]
        .decode()
    )
    assert f"v1={out}" in header
