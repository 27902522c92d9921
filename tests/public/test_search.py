"""Cek Bansos: the public search by village and name shows masked recipients only (issue 7)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.urls import reverse

from dtsen.audit.models import AuditRecord
from dtsen.core import ratelimits
from dtsen.core.challenge import challenge_check, challenge_new
from dtsen.registry.crypto import nik_decrypt
from dtsen.registry.models import Person
from tests.registry.factories import VILLAGE_A

URL = "/cek-bansos/"
REGION = {"prov": "34", "kab": "34.01", "kec": "34.01.01", "desa": VILLAGE_A}
SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")


def _search(client, name: str, **extra: str):
    return client.post(URL, {**REGION, "name": name, "challenge_token": "", "challenge_answer": "PASSED", **extra})


def _niks(family) -> list[str]:
    return [nik_decrypt(p.nik_enc) for p in Person.objects.filter(family=family)]


def test_url_name():
    assert reverse("public:search") == URL


@pytest.mark.django_db
def test_region_steps_cascade_without_javascript(client):
    page = client.get(URL).content.decode()
    assert 'name="prov"' in page
    assert 'name="kab"' not in page
    assert 'id="search-form"' not in page
    page = client.get(URL, {"prov": "34", "kab": "34.01"}).content.decode()
    assert 'name="kec"' in page
    assert 'name="desa"' not in page
    assert 'id="search-form"' in client.get(URL, REGION).content.decode()
    # a kabupaten outside the chosen province is dropped, with everything below it
    page = client.get(URL, {"prov": "33", "kab": "34.01", "kec": "34.01.01"}).content.decode()
    assert 'name="kec"' not in page


@pytest.mark.django_db
def test_region_selects_follow_the_language_and_the_choice(client):
    """The selects are rendered once per choice of regions and language, then reused: the same choice in
    English gets English labels, and another choice its own option marked."""
    page = client.get(URL, {"prov": "34", "kab": "34.01"}).content.decode()
    assert "Kabupaten/kota" in page
    assert '<option value="34.01" selected>' in page
    client.cookies["django_language"] = "en"
    page = client.get(URL, {"prov": "34", "kab": "34.01"}).content.decode()
    assert "Regency/city" in page
    assert "Kabupaten/kota" not in page
    page = client.get(URL, {"prov": "34", "kab": "34.02"}).content.decode()
    assert '<option value="34.02" selected>' in page
    assert '<option value="34.01" selected>' not in page


def test_recipient_found_masked(client, recipient, former):
    response = _search(client, "budi")
    page = response.content.decode()
    assert response.status_code == 200
    upper = page.upper()
    assert "BUD* SAN****" in upper
    assert "SANTOSO" not in upper
    assert "BUDI" not in upper.split('ID="RESULTS"')[1]
    assert "HARTONO" not in upper
    assert "HAR****" not in upper
    assert "PKH" in page
    assert "BPNT" in page
    assert page.count("data-recipient") == 1
    assert not SIXTEEN_DIGITS.search(page)
    for nik in _niks(recipient) + _niks(former):
        assert nik not in page
        assert nik[:12] not in page
    assert "Sidorejo" not in page
    assert "3401012001250001" not in page
    assert "desil" not in page.split('id="results"')[1].lower()


def test_htmx_search_gets_the_changing_part_only(client, recipient):
    """A browser with JavaScript sends the search form through htmx: the answer is `#cek` alone (the form with a
    new challenge and the results), masked the same way; without htmx the whole page."""
    response = client.post(URL, {**REGION, "name": "budi", "challenge_token": "", "challenge_answer": "PASSED"},
                           HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="cek">')
    assert "<html" not in page
    assert 'name="challenge_token"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert page.count("data-recipient") == 1
    assert "BUD* SAN****" in page.upper()
    assert "SANTOSO" not in page.upper()
    assert "HX-Request" in response["Vary"]
    assert "<html" in _search(client, "budi").content.decode()


def test_all_words_in_any_order_and_case(client, recipient):
    assert "data-recipient" in _search(client, "SANTOSO budi").content.decode()
    assert "data-recipient" in _search(client, "siti nur").content.decode()
    assert "data-recipient" not in _search(client, "di santoso").content.decode()  # not the start of a word


def test_not_found(client, recipient):
    page = _search(client, "Joko Susilo").content.decode()
    assert 'id="not-found"' in page
    assert "data-recipient" not in page


def test_other_village_not_found(client, recipient):
    response = client.post(URL, {"prov": "34", "kab": "34.01", "kec": "34.01.01", "desa": "34.01.01.2002",
                                 "name": "Budi", "challenge_answer": "PASSED"})
    assert response.status_code == 200
    assert 'id="not-found"' in response.content.decode()


def test_unknown_village(client, recipient):
    response = client.post(URL, {"desa": "34.01.01.9999", "name": "Budi", "challenge_answer": "PASSED"})
    assert response.status_code == 400
    assert 'data-error-code="unknown_village"' in response.content.decode()
    assert "data-recipient" not in response.content.decode()


def test_short_name_refused(client, recipient):
    response = _search(client, "bu")
    assert response.status_code == 400
    assert "data-recipient" not in response.content.decode()


def test_challenge_required(client, recipient, settings):
    settings.CAPTCHA_TEST_MODE = False
    response = _search(client, "budi")
    assert response.status_code == 400
    assert 'data-error-code="challenge"' in response.content.decode()
    assert "data-recipient" not in response.content.decode()
    assert not AuditRecord.objects.filter(action="public_search").exists()


def test_challenge_answer_checked_once(settings):
    settings.CAPTCHA_TEST_MODE = False
    challenge = challenge_new()
    a, b = map(int, re.findall(r"\d+", challenge.question))
    assert not challenge_check(challenge.token, str(a + b + 1))  # wrong, and the token is spent
    challenge = challenge_new()
    a, b = map(int, re.findall(r"\d+", challenge.question))
    assert challenge_check(challenge.token, str(a + b))
    assert not challenge_check(challenge.token, str(a + b))  # replay
    assert not challenge_check("forged", "PASSED")


def test_challenge_token_cannot_be_altered_or_used_late(settings, monkeypatch):
    """The token binds its nonce, expiry and answer: changing any of them, or answering after the expiry, fails;
    the answer is not in the token."""
    from dtsen.core import challenge as module

    settings.CAPTCHA_TEST_MODE = False

    def fresh() -> tuple[str, str, str, str]:
        made = challenge_new()
        a, b = map(int, re.findall(r"\d+", made.question))
        nonce, expiry, mac = made.token.split(".")
        return nonce, expiry, mac, str(a + b)

    nonce, expiry, mac, answer = fresh()
    assert answer not in (nonce, expiry)
    assert not challenge_check(f"{nonce}.{int(expiry) + 3600}.{mac}", answer)  # a later expiry
    nonce, expiry, mac, answer = fresh()
    assert not challenge_check(f"{nonce}x.{expiry}.{mac}", answer)  # another nonce
    nonce, expiry, mac, answer = fresh()
    assert not challenge_check(f"{nonce}.{expiry}.{mac[:-1]}0", answer) or mac.endswith("0")
    nonce, expiry, mac, answer = fresh()
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert not challenge_check(f"{nonce}.{expiry}.{mac}", answer)  # made with another key
    nonce, expiry, mac, answer = fresh()
    monkeypatch.setattr(module, "time", type("T", (), {"time": staticmethod(lambda: int(expiry) + 1)}))
    assert not challenge_check(f"{nonce}.{expiry}.{mac}", answer)  # too late
    monkeypatch.undo()
    settings.CAPTCHA_TEST_MODE = False
    nonce, expiry, mac, answer = fresh()
    assert challenge_check(f"{nonce}.{expiry}.{mac}", answer)


def test_rate_limited(client, recipient, settings, monkeypatch):
    # the limits count in fixed windows: freeze the clock so a window edge cannot reset the count
    monkeypatch.setattr(ratelimits, "time", SimpleNamespace(time=lambda: 1_900_000_000))
    settings.RATE_LIMITS = {"public-search": "3/m"}
    for _ in range(3):
        assert _search(client, "budi").status_code == 200
    response = _search(client, "budi")
    assert response.status_code == 429
    assert "Retry-After" in response


def test_audited_without_the_name(client, recipient):
    _search(client, "Budi Santoso")
    record = AuditRecord.objects.get(action="public_search")
    assert record.actor_id is None
    assert record.object_id == VILLAGE_A
    assert "Budi" not in str(record.after)
    assert "12" in str(record.after)
