"""A self-hosted arithmetic challenge for the public forms (Cek Bansos): no outside service, no image, readable
by screen readers. The question ("Berapa 3 ditambah 4?") is shown with a token "<nonce>.<expiry>.<mac>", the
mac an HMAC-SHA256 (key derived from SECRET_KEY for this purpose only) of the nonce, the expiry and the answer:
the answer is never in the token, and only the right answer reproduces the mac. A token is good until its
expiry (`MAX_AGE` seconds) and only once (the nonce is remembered in the cache: a wrong answer spends it too).
It slows scripted use down; the rate limit is the real guard. One HMAC to make a token and one to check it: the
public search makes and checks one per request (docs/benchmarks.md).

`CAPTCHA_TEST_MODE = True` (the setting name django-simple-captcha uses) accepts the answer "PASSED", for tests.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

SALT = "dtsen.core.challenge"
MAX_AGE = 600
TEST_ANSWER = "PASSED"


@dataclass(frozen=True, slots=True)
class Challenge:
    question: str
    token: str


def _key(secret: str) -> bytes:
    return salted_hmac(SALT, "challenge-key", secret=secret).digest()


_keys: dict[str, bytes] = {}


def _mac(nonce: str, expiry: int, answer: str) -> str:
    secret = settings.SECRET_KEY
    key = _keys.get(secret)
    if key is None:
        key = _keys[secret] = _key(secret)
    return hmac.new(key, f"{nonce}.{expiry}.{answer}".encode(), hashlib.sha256).hexdigest()[:32]


def challenge_new() -> Challenge:
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    nonce = secrets.token_urlsafe(12)
    expiry = int(time.time()) + MAX_AGE
    token = f"{nonce}.{expiry}.{_mac(nonce, expiry, str(a + b))}"
    return Challenge(question=_("How much is %(a)d plus %(b)d?") % {"a": a, "b": b}, token=token)


def challenge_check(token: str, answer: str) -> bool:
    """Whether `answer` solves the challenge of `token`; a token is spent by its first check."""
    answer = answer.strip()
    if getattr(settings, "CAPTCHA_TEST_MODE", False) and answer.upper() == TEST_ANSWER:
        return True
    nonce, _, rest = token.partition(".")
    expiry_text, _, mac = rest.partition(".")
    if not (nonce and mac and expiry_text.isdigit()) or int(expiry_text) < time.time():
        return False
    if not cache.add(f"challenge-used:{nonce}", 1, MAX_AGE):
        return False
    return answer.isdigit() and len(answer) <= 2 and constant_time_compare(mac, _mac(nonce, int(expiry_text), answer))
