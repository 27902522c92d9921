"""A self-hosted arithmetic challenge for the public forms (Cek Bansos): no outside service, no image, readable
by screen readers. The question ("Berapa 3 ditambah 4?") is shown with a signed token that carries a nonce and
a keyed hash of the answer (never the answer itself); a token is good for `MAX_AGE` seconds and only once
(the nonce is remembered in the cache). It slows scripted use down; the rate limit is the real guard.

`CAPTCHA_TEST_MODE = True` (the setting name django-simple-captcha uses) accepts the answer "PASSED", for tests.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
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


def _digest(nonce: str, answer: str) -> str:
    return salted_hmac(SALT, f"{nonce}:{answer}").hexdigest()


def challenge_new() -> Challenge:
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    nonce = secrets.token_urlsafe(12)
    token = signing.dumps({"n": nonce, "h": _digest(nonce, str(a + b))}, salt=SALT, compress=True)
    return Challenge(question=_("How much is %(a)d plus %(b)d?") % {"a": a, "b": b}, token=token)


def challenge_check(token: str, answer: str) -> bool:
    """Whether `answer` solves the challenge of `token`; a token is spent by its first check."""
    answer = answer.strip()
    if getattr(settings, "CAPTCHA_TEST_MODE", False) and answer.upper() == TEST_ANSWER:
        return True
    try:
        payload = signing.loads(token, salt=SALT, max_age=MAX_AGE)
        nonce, digest = str(payload["n"]), str(payload["h"])
    except (signing.BadSignature, KeyError, TypeError):
        return False
    if not cache.add(f"challenge-used:{nonce}", 1, MAX_AGE):
        return False
    return answer.isdigit() and constant_time_compare(digest, _digest(nonce, answer))
