"""The DCI message signature: an HTTP-Signature-style string over the header and the message.

The standard (`MsgSignature` in social_api_v1.0.0.yaml) describes the signature as

    Signature: namespace="dci", kidId="{sender_id}|{unique_key_id}|{algorithm}", algorithm="ed25519",
               created="1606970629", expires="1607030629", headers="(created) (expires) digest",
               signature="Base64(signing content)"

and says it is a "signature of {header}+{message} body verified using sender's signing public key". It does
not spell out the signing content, so we use the construction of Beckn, where this format comes from:

    body    = canonical JSON of {"header": <header>, "message": <message>}
              (keys sorted, separators "," and ":", UTF-8, no ASCII escaping)
    digest  = "BLAKE-512=" + base64(BLAKE2b-512(body))
    signing content = "(created): <created>\\n(expires): <expires>\\ndigest: <digest>"
    signature = base64(Ed25519-sign(signing content))      (or RSASSA-PKCS1-v1_5 with SHA-256: "rsa-sha256")

`created` and `expires` are Unix seconds: a signature is accepted from `created - CLOCK_SKEW` until
`expires`, and may be valid for at most MAX_LIFETIME seconds, which bounds how long a message id has to be
remembered to refuse a replay (see services.message_accept).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from django.conf import settings

ED25519 = "ed25519"
RSA_SHA256 = "rsa-sha256"
ALGORITHMS = (ED25519, RSA_SHA256)
NAMESPACES = ("dci", "spdci")
CLOCK_SKEW = 300  # seconds a partner's clock may run ahead of ours
MAX_LIFETIME = 3600  # longest accepted expires - created
DEFAULT_LIFETIME = 300
MAX_SIGNATURE_LENGTH = 2048

_PARAM = re.compile(r'([A-Za-z]+)="([^"]*)"?')
_KID = re.compile(r'kidId="[^"|]*\|([^"|]*)\|')
_PUBLIC_TYPES = (ed25519.Ed25519PublicKey, rsa.RSAPublicKey)


class SignatureError(Exception):
    """The signature is missing (`missing=True`) or does not hold; `reason` says why (English, for logs)."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing


@dataclass(frozen=True)
class ParsedSignature:
    sender_id: str
    key_id: str
    algorithm: str
    created: int
    expires: int
    signature: bytes


def canonical_body(header: Any, message: Any) -> bytes:
    return json.dumps(
        {"header": header, "message": message}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def digest_of(body: bytes) -> str:
    return "BLAKE-512=" + base64.b64encode(hashlib.blake2b(body, digest_size=64).digest()).decode("ascii")


def signing_content(created: int, expires: int, body: bytes) -> bytes:
    return f"(created): {created}\n(expires): {expires}\ndigest: {digest_of(body)}".encode()


def signature_parse(value: Any) -> ParsedSignature:
    if not isinstance(value, str) or not value.strip():
        raise SignatureError("no signature", missing=True)
    if len(value) > MAX_SIGNATURE_LENGTH:
        raise SignatureError("signature too long")
    params = dict(_PARAM.findall(value))
    if params.get("namespace") not in NAMESPACES:
        raise SignatureError("unknown namespace")
    parts = params.get("kidId", "").split("|")
    if len(parts) != 3 or not all(parts):
        raise SignatureError("kidId must be sender_id|key_id|algorithm")
    algorithm = params.get("algorithm", "").lower()
    if algorithm not in ALGORITHMS or parts[2].lower() != algorithm:
        raise SignatureError("unsupported algorithm")
    if params.get("headers", "(created) (expires) digest") != "(created) (expires) digest":
        raise SignatureError("headers must be '(created) (expires) digest'")
    try:
        created, expires = int(params["created"]), int(params["expires"])
        raw = base64.b64decode(params["signature"], validate=True)
    except (KeyError, ValueError):
        raise SignatureError("created, expires or signature malformed") from None
    return ParsedSignature(parts[0], parts[1], algorithm, created, expires, raw)


def signature_key_id(value: Any) -> str:
    """The key id named in a signature's kidId, without checking anything else ("" when there is none)."""
    if not isinstance(value, str) or len(value) > MAX_SIGNATURE_LENGTH:
        return ""
    match = _KID.search(value)
    return match.group(1) if match else ""


def signature_check_time(parsed: ParsedSignature, *, now: float | None = None) -> None:
    now = time.time() if now is None else now
    if parsed.created > now + CLOCK_SKEW:
        raise SignatureError("created in the future")
    if parsed.expires <= now:
        raise SignatureError("signature expired")
    if not 0 < parsed.expires - parsed.created <= MAX_LIFETIME:
        raise SignatureError(f"validity must be between 1 and {MAX_LIFETIME} seconds")


@lru_cache(maxsize=1024)
def public_key_load(pem: str) -> ed25519.Ed25519PublicKey | rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, _PUBLIC_TYPES):
        raise ValueError("only Ed25519 and RSA public keys are supported")
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        raise ValueError("RSA keys must have at least 2048 bits")
    return key


def algorithm_of(pem: str) -> str:
    return ED25519 if isinstance(public_key_load(pem), ed25519.Ed25519PublicKey) else RSA_SHA256


def signature_verify(parsed: ParsedSignature, *, public_pem: str, header: Any, message: Any) -> None:
    key = public_key_load(public_pem)
    content = signing_content(parsed.created, parsed.expires, canonical_body(header, message))
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            if parsed.algorithm != ED25519:
                raise SignatureError("algorithm does not match the key")
            key.verify(parsed.signature, content)
        else:
            if parsed.algorithm != RSA_SHA256:
                raise SignatureError("algorithm does not match the key")
            key.verify(parsed.signature, content, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureError("signature does not verify") from None


PrivateKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def sign(
    *,
    private_key: PrivateKey,
    sender_id: str,
    key_id: str,
    header: Any,
    message: Any,
    created: int | None = None,
    lifetime: int = DEFAULT_LIFETIME,
) -> str:
    """The signature string of a message (used for our responses, callbacks, and by partners' tools/tests)."""
    created = int(time.time()) if created is None else created
    expires = created + lifetime
    content = signing_content(created, expires, canonical_body(header, message))
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        algorithm, raw = ED25519, private_key.sign(content)
    else:
        algorithm, raw = RSA_SHA256, private_key.sign(content, padding.PKCS1v15(), hashes.SHA256())
    return (
        f'Signature: namespace="dci", kidId="{sender_id}|{key_id}|{algorithm}", algorithm="{algorithm}", '
        f'created="{created}", expires="{expires}", headers="(created) (expires) digest", '
        f'signature="{base64.b64encode(raw).decode("ascii")}"'
    )


def public_pem(private_key: PrivateKey) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def private_pem(private_key: PrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


# ------------------------------------------------------------------------------ the registry's own key


@dataclass(frozen=True)
class RegistryIdentity:
    """Who we are in DCI messages (receiver_id of requests, sender_id of our answers) and our signing key."""

    registry_id: str
    key_id: str
    private_key: PrivateKey


def _key_file() -> Path:
    configured = getattr(settings, "DCI_KEY_FILE", "") or os.environ.get("DTSEN_DCI_KEY_FILE", "")
    return Path(configured) if configured else Path(settings.DATA_DIR) / "dci_signing_key.pem"


@lru_cache(maxsize=4)
def _load_private(path: str, mtime: float) -> PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        raise ValueError("the DCI signing key must be an Ed25519 or RSA private key")
    return key


_identity: list[tuple[float, tuple[str, str, str], RegistryIdentity]] = []


def registry_identity() -> RegistryIdentity:
    """Settings DCI_REGISTRY_ID / DCI_KEY_ID / DCI_KEY_FILE, else the environment variables
    DTSEN_DCI_REGISTRY_ID (default "dtsen"), DTSEN_DCI_KEY_ID (default "k1"), DTSEN_DCI_KEY_FILE (default:
    <DTSEN_DATA_DIR>/dci_signing_key.pem, generated on first use when absent: fine for development, give
    production a key file of its own and its public key to the partners: `dtsen dci key`). Looked up again
    after a second at most (a replaced key file is read then)."""
    registry_id = getattr(settings, "DCI_REGISTRY_ID", "") or os.environ.get("DTSEN_DCI_REGISTRY_ID", "dtsen")
    key_id = getattr(settings, "DCI_KEY_ID", "") or os.environ.get("DTSEN_DCI_KEY_ID", "k1")
    names = (registry_id, key_id, str(_key_file()))
    now = time.monotonic()
    if _identity and _identity[0][0] > now and _identity[0][1] == names:
        return _identity[0][2]
    identity = _registry_identity()
    _identity[:] = [(now + 1.0, names, identity)]
    return identity


def _registry_identity() -> RegistryIdentity:
    registry_id = getattr(settings, "DCI_REGISTRY_ID", "") or os.environ.get("DTSEN_DCI_REGISTRY_ID", "dtsen")
    key_id = getattr(settings, "DCI_KEY_ID", "") or os.environ.get("DTSEN_DCI_KEY_ID", "k1")
    path = _key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(private_pem(ed25519.Ed25519PrivateKey.generate()))
        try:
            os.link(tmp, path)  # atomic: the first process wins, the others read its key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return RegistryIdentity(registry_id, key_id, _load_private(str(path), path.stat().st_mtime))
