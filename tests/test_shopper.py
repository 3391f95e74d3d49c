"""Secrets stay out of what the harness writes, in whatever form a browser passed them on."""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

from harness.record.secrets import redact, without_credentials


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


def test_a_secret_is_hidden_as_base64_and_hex_in_every_spelling() -> None:
    secret = "canary?Pa55>word~"
    raw = secret.encode()
    spelled = [
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        quote(base64.b64encode(raw).decode(), safe=""),
        raw.hex(),
        raw.hex().upper(),
    ]
    for text in spelled:
        assert "•••" in redact(f"x={text};", [secret]), text
        assert text not in redact(f"x={text};", [secret])


def test_a_secret_inside_a_longer_base64_blob_is_hidden_at_every_alignment() -> None:
    secret = "canary-Pa55word!"
    for prefix in (b"", b"u:", b"us:", b"user:"):
        blob = base64.b64encode(prefix + secret.encode() + b";tail").decode()
        hidden = redact(f"Authorization: Basic {blob}", [secret])
        assert "•••" in hidden, prefix
        # What is left of the blob is edges: decoded at any alignment, no 6 bytes of the secret in a row.
        for piece in hidden.removeprefix("Authorization: Basic ").split("•••"):
            for start in range(4):
                chunk = piece[start:].rstrip("=")
                chunk = chunk[: len(chunk) - len(chunk) % 4]
                decoded = base64.b64decode(chunk) if chunk else b""
                assert not any(secret.encode()[i : i + 6] in decoded for i in range(len(secret) - 5)), prefix


def test_short_values_do_not_redact_ordinary_text() -> None:
    # "zq" spells "enE" in base64 and "7a71" in hex: forms this short would hit ordinary words.
    text = "Zenith: 7a71 enemies, plain words"
    assert redact(text, ["zq"]) == text
