"""NIK protection: AES-256-GCM encryption at rest plus a keyed blind index (HMAC-SHA256) for exact lookup.

An unkeyed hash of a NIK is guessable (6-digit region + birth date + 4-digit serial: for a known person
about 10^4 guesses), so the index is keyed. Both subkeys are derived (HKDF-SHA256) from DTSEN_NIK_KEY,
which lives outside the database. Ciphertext format: "v1:" + urlsafe-base64(nonce(12) || ciphertext+tag).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_VERSION = "v1"


@lru_cache(maxsize=4)
def _keys(master_hex: str) -> tuple[AESGCM, bytes]:
    master = bytes.fromhex(master_hex)
    if len(master) != 32:
        raise ValueError("DTSEN_NIK_KEY must be 64 hex characters (32 bytes)")
    derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=b"dtsen-nik-v1").derive(master)
    return AESGCM(derived[:32]), derived[32:]


def _current() -> tuple[AESGCM, bytes]:
    return _keys(settings.NIK_KEY)


def nik_hash(nik: str) -> str:
    """Keyed blind index of a NIK (hex): equal NIKs give equal hashes, without the key nobody can test one."""
    _, mac_key = _current()
    return hmac.new(mac_key, nik.encode("ascii"), hashlib.sha256).hexdigest()


def nik_encrypt(nik: str) -> str:
    aead, _ = _current()
    nonce = os.urandom(12)
    blob = nonce + aead.encrypt(nonce, nik.encode("ascii"), _VERSION.encode())
    return f"{_VERSION}:{base64.urlsafe_b64encode(blob).decode('ascii')}"


def nik_decrypt(token: str) -> str:
    version, _, payload = token.partition(":")
    if version != _VERSION:
        raise ValueError("unknown NIK ciphertext version")
    aead, _ = _current()
    blob = base64.urlsafe_b64decode(payload)
    return aead.decrypt(blob[:12], blob[12:], _VERSION.encode()).decode("ascii")


def nik_mask(nik: str) -> str:
    """What a staff page shows by default: region and serial hidden, e.g. 3401**********12 → '340101******0012'
    keeps the kecamatan and the last four digits only."""
    return f"{nik[:6]}{'*' * 6}{nik[12:]}" if len(nik) == 16 else "*" * len(nik)
