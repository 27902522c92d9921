"""Fuzzing of the forms and API endpoints with Hypothesis: arbitrary text and bytes in every field, query
parameter, path segment and header. Whatever comes in, no server error, and every refusal is a 4xx with the
message in Indonesian and English (HTML pages: both `lang` paragraphs of the error box; API: the JSON body
`code`, `message_id`, `message_en`). A form shown again with errors (200) must carry the bilingual error too.

Each example comes from a different client address, so the rate limits and the lockout stay on without
refusing every example after the first few; 429s they give are refusals like any other and are checked."""

from __future__ import annotations

import urllib.parse

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import enrol, login_verified

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TEXT = st.text(max_size=300)
ADDRESSES = st.ip_addresses().map(str)
BYTES = st.binary(max_size=2000)
CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=xyz",
        "application/json",
        "text/plain",
        "application/octet-stream",
        "",
    ]
)


def assert_clear_html(response, *, error_on_200: bool = False) -> None:
    assert response.status_code < 500, response.status_code
    if response.status_code in (301, 302, 204):
        return
    body = response.content.decode()
    if response.status_code >= 400 or error_on_200:
        assert 'lang="id"' in body, (response.status_code, body[:500])
        assert 'lang="en"' in body, (response.status_code, body[:500])
        assert "alert-error" in body


def assert_clear_json(response) -> None:
    assert response.status_code < 500, response.status_code
    if response.status_code >= 400:
        body = response.json()
        assert {"code", "message_id", "message_en"} <= set(body), body
        assert body["message_id"]
        assert body["message_en"]


# ----------------------------------------------------------------------------------------------- login


@FUZZ
@given(username=TEXT, password=TEXT, ip=ADDRESSES)
def test_login_form(pillar, username, password, ip):
    response = Client().post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)
    assert_clear_html(response, error_on_200=True)


@FUZZ
@given(body=BYTES, content_type=CONTENT_TYPES, ip=ADDRESSES)
def test_login_form_raw_bytes(db, body, content_type, ip):
    response = Client().generic("POST", reverse("login"), body, content_type=content_type, REMOTE_ADDR=ip)
    assert_clear_html(response, error_on_200=True)


# --------------------------------------------------------------------------------------- staff pages


@pytest.fixture
def pillar_client(pillar) -> Client:
    client = Client()
    client.force_login(pillar)
    return client


@FUZZ
@given(q=TEXT, status=TEXT, page=TEXT)
def test_family_search_parameters(pillar_client, family_a, q, status, page):
    response = pillar_client.get("/families/", {"q": q, "status": status, "page": page})
    assert_clear_html(response)
    response = pillar_client.get(
        "/families/", {"q": q}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="family-results"
    )
    assert_clear_html(response)


@FUZZ
@given(as_of=TEXT, tab=TEXT)
def test_family_as_of_date(pillar_client, family_a, as_of, tab):
    url = reverse("registry:family_detail", args=[family_a.pk])
    assert_clear_html(pillar_client.get(url, {"as_of": as_of, "tab": tab}))


@FUZZ
@given(query=st.lists(st.tuples(TEXT, TEXT), max_size=5))
def test_arbitrary_query_strings_on_staff_pages(pillar_client, family_a, query):
    for path in ["/", "/families/", reverse("registry:family_detail", args=[family_a.pk])]:
        assert_clear_html(pillar_client.get(path + "?" + urllib.parse.urlencode(query)))


# ---------------------------------------------------------------------------------------- 2FA forms


@FUZZ
@given(token=TEXT, next_url=TEXT)
def test_two_factor_setup_form(operator, token, next_url):
    client = Client()
    client.force_login(operator)
    response = client.post(reverse("two_factor:setup"), {"token": token, "next": next_url})
    assert_clear_html(response)


@pytest.fixture
def enrolled_operator(operator):
    enrol(operator)
    return operator


@FUZZ
@given(token=TEXT)
def test_two_factor_verify_form(enrolled_operator, token):
    client = Client()
    client.force_login(enrolled_operator)
    response = client.post(reverse("two_factor:verify"), {"token": token, "next": "/families/"})
    assert_clear_html(response)


@FUZZ
@given(body=BYTES, content_type=CONTENT_TYPES)
def test_two_factor_forms_raw_bytes(operator, body, content_type):
    client = Client()
    client.force_login(operator)
    for name in ("two_factor:setup", "two_factor:verify"):
        assert_clear_html(client.generic("POST", reverse(name), body, content_type=content_type))


@FUZZ
@given(username=TEXT, reason=TEXT)
def test_two_factor_reset_form(superuser, username, reason):
    client = Client()
    login_verified(client, superuser)
    assert_clear_html(client.post(reverse("two_factor:reset"), {"username": username, "reason": reason}))


# ------------------------------------------------------------------------------------------------ API


@FUZZ
@given(segment=TEXT)
def test_api_family_path(token, family_a, segment):
    path = "/api/v1/families/" + urllib.parse.quote(segment, safe="")
    assert_clear_json(Client().get(path, HTTP_AUTHORIZATION=f"Bearer {token}"))


@FUZZ
@given(nik=TEXT, extra=st.lists(st.tuples(TEXT, TEXT), max_size=3))
def test_api_person_query(token, family_a, nik, extra):
    query = urllib.parse.urlencode([("nik", nik), *extra])
    assert_clear_json(Client().get(f"/api/v1/persons?{query}", HTTP_AUTHORIZATION=f"Bearer {token}"))


@FUZZ
@given(
    header=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=300), ip=ADDRESSES
)
def test_api_authorization_header(family_a, header, ip):
    response = Client().get(
        f"/api/v1/families/{family_a.family_code}", HTTP_AUTHORIZATION=header, REMOTE_ADDR=ip
    )
    assert response.status_code in (401, 429)
    assert_clear_json(response)


@FUZZ
@given(path=TEXT)
def test_api_unknown_addresses(path):
    response = Client().get("/api/" + urllib.parse.quote(path))
    assert_clear_json(response)
