"""The signature scheme: Ed25519 and RSA round trips, tampering, malformed and expired signatures."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from dtsen.dci.signing import (
    MAX_LIFETIME,
    SignatureError,
    algorithm_of,
    public_pem,
    sign,
    signature_check_time,
    signature_key_id,
    signature_parse,
    signature_verify,
)

HEADER = {"message_id": "m-1", "sender_id": "spmis", "action": "search"}
MESSAGE = {"transaction_id": "t-1", "search_request": [{"reference_id": "r", "q": "Ünïcode"}]}


@pytest.mark.parametrize("key", [ed25519.Ed25519PrivateKey.generate(),
                                 rsa.generate_private_key(public_exponent=65537, key_size=2048)])  # fmt: skip
def test_round_trip_and_tampering(key):
    signature = sign(private_key=key, sender_id="spmis", key_id="k1", header=HEADER, message=MESSAGE)
    parsed = signature_parse(signature)
    assert (parsed.sender_id, parsed.key_id) == ("spmis", "k1")
    assert parsed.algorithm == algorithm_of(public_pem(key))
    assert signature_key_id(signature) == "k1"
    signature_verify(parsed, public_pem=public_pem(key), header=HEADER, message=MESSAGE)
    # key order does not matter (canonical JSON), content does
    signature_verify(parsed, public_pem=public_pem(key), header=dict(reversed(HEADER.items())), message=MESSAGE)
    with pytest.raises(SignatureError):
        signature_verify(parsed, public_pem=public_pem(key), header={**HEADER, "message_id": "m-2"}, message=MESSAGE)


def test_algorithm_must_match_the_key():
    key = ed25519.Ed25519PrivateKey.generate()
    signature = sign(private_key=key, sender_id="s", key_id="k", header=HEADER, message=MESSAGE)
    forged = signature.replace("ed25519", "rsa-sha256")
    with pytest.raises(SignatureError, match="algorithm does not match"):
        signature_verify(signature_parse(forged), public_pem=public_pem(key), header=HEADER, message=MESSAGE)


@pytest.mark.parametrize("value", ["", None, "Signature: namespace=\"dci\"", 'namespace="x", kidId="a|b|ed25519"',
                                   'namespace="dci", kidId="a|b|ed25519", algorithm="ed25519", created="x"'])
def test_malformed_signatures(value):
    with pytest.raises(SignatureError):
        signature_parse(value)


def test_validity_window():
    key = ed25519.Ed25519PrivateKey.generate()
    now = int(time.time())
    expired = signature_parse(sign(private_key=key, sender_id="s", key_id="k", header=HEADER, message=MESSAGE,
                                   created=now - 700, lifetime=600))  # fmt: skip
    with pytest.raises(SignatureError, match="expired"):
        signature_check_time(expired)
    too_long = signature_parse(sign(private_key=key, sender_id="s", key_id="k", header=HEADER, message=MESSAGE,
                                    lifetime=MAX_LIFETIME + 1))  # fmt: skip
    with pytest.raises(SignatureError, match="validity"):
        signature_check_time(too_long)
    future = signature_parse(sign(private_key=key, sender_id="s", key_id="k", header=HEADER, message=MESSAGE,
                                  created=now + 3600))  # fmt: skip
    with pytest.raises(SignatureError, match="future"):
        signature_check_time(future)
