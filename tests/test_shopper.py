"""Secrets stay out of what the harness writes, in whatever form a browser passed them on."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

from harness.recorder import without_credentials
from harness.shopper import redact


def test_a_secret_is_hidden_plain_and_percent_encoded() -> None:
    secret = "p@ss word!&x"
    text = f"typed {secret}; url ?password={quote_plus(secret)} and /{quote(secret, safe='')}"
    hidden = redact(text, [secret])
    assert secret not in hidden and quote_plus(secret) not in hidden and quote(secret, safe="") not in hidden
    assert hidden.count("•••") == 3


def test_the_target_is_recorded_without_credentials() -> None:
    assert (
        without_credentials("https://qa:hunter22@shop.example.com:8443/start")
        == "https://shop.example.com:8443/start"
    )
    assert without_credentials("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
