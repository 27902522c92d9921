"""The staff pages through Django's test client: login, home, family search, family and person pages,
history, "as of" view, language switch and the bilingual errors."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from dtsen.accounts.services import role_assign
from dtsen.audit.models import AuditRecord
from dtsen.registry import views as registry_views
from dtsen.registry.crypto import nik_decrypt, nik_mask
from dtsen.registry.models import Person

from .conftest import KK_A, KK_A_NEW, KK_B, PASSWORD

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def family_url(family, **params) -> str:
    url = reverse("registry:family_detail", args=[family.pk])
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


def text(response) -> str:
    return response.content.decode()


# ------------------------------------------------------------------------------------------ login


@pytest.mark.parametrize("name", ["home", "registry:family_list"])
def test_pages_require_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_family_and_person_pages_require_login(client, family_a):
    head = Person.objects.get(pk=family_a.head_id)
    for url in (family_url(family_a), reverse("registry:person_detail", args=[head.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_login_page_is_indonesian_by_default(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    body = text(response)
    assert '<html lang="id">' in body
    assert "Masuk" in body
    assert "Kata sandi" in body
    assert 'name="viewport"' in body
    assert "<style" not in body
    assert "style=" not in body


def test_login_and_logout(client, operator_a):
    response = client.post(reverse("login"), {"username": "operator.a", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_is_refused_with_a_bilingual_message(client, operator_a):
    response = client.post(reverse("login"), {"username": "operator.a", "password": "salah"})
    assert response.status_code == 200
    body = text(response)
    assert "Nama pengguna atau kata sandi salah" in body
    assert "Wrong username or password" in body


# ------------------------------------------------------------------------------------------- home


def test_home_counts_only_what_the_user_may_see(client, operator_a, family_a, family_b):
    client.force_login(operator_a)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert response.context["families"] == 1
    assert response.context["persons"] == 3
    assert "Jangkaran" in text(response)  # the region of the role, by name


def test_home_without_a_role_says_so_in_both_languages(client, staff_without_role, family_a):
    client.force_login(staff_without_role)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    body = text(response)
    assert "Anda tidak berwenang" in body
    assert "You are not allowed" in body
    assert "families" not in response.context


def test_language_switch_gives_english(client, operator_a, family_a):
    client.force_login(operator_a)
    assert "Anggota" in text(client.get(family_url(family_a)))
    response = client.post(reverse("set_language"), {"language": "en", "next": family_url(family_a)})
    assert response.status_code == 302
    body = text(client.get(response["Location"]))
    assert '<html lang="en">' in body
    assert "Members" in body
    assert "Head of family" in body
    assert "Earth" in body
    assert "Anggota" not in body
    client.post(reverse("set_language"), {"language": "id", "next": "/"})
    assert '<html lang="id">' in text(client.get(family_url(family_a)))


def test_indonesian_whatever_the_browser_asks_until_the_switch_is_used(client, operator_a):
    client.force_login(operator_a)
    assert '<html lang="id">' in text(client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"))
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert '<html lang="en">' in text(client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="id"))


# ---------------------------------------------------------------------------------------- search


@pytest.mark.parametrize("field", ["family_code", "kk", "nik", "head_name", "head_name_lower"])
def test_family_search(client, operator_a, family_a, field):
    client.force_login(operator_a)
    head = Person.objects.get(pk=family_a.head_id)
    query = {
        "family_code": family_a.family_code,
        "kk": KK_A,
        "nik": nik_decrypt(head.nik_enc),
        "head_name": "BUDI",
        "head_name_lower": "santoso",
    }[field]
    response = client.get(reverse("registry:family_list"), {"q": query})
    assert response.status_code == 200
    assert [f.pk for f, _village in response.context["rows"]] == [family_a.pk]
    assert "Jangkaran" in text(response)


def test_search_never_shows_families_outside_the_users_region(client, operator_a, family_a, family_b):
    client.force_login(operator_a)
    response = client.get(reverse("registry:family_list"), {"q": KK_B})
    assert response.status_code == 200
    assert response.context["rows"] == []
    assert family_b.family_code not in text(response)
    response = client.get(reverse("registry:family_list"))
    assert [f.pk for f, _village in response.context["rows"]] == [family_a.pk]


def test_live_search_returns_only_the_results_fragment(client, operator_a, family_a):
    client.force_login(operator_a)
    url = reverse("registry:family_list")
    response = client.get(url, {"q": "budi"}, HTTP_HX_TARGET="family-results", **HTMX)
    assert response.status_code == 200
    body = text(response)
    assert "<html" not in body
    assert family_a.family_code in body
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize(
    ("params", "message_id", "message_en"),
    [
        ({"q": "340101"}, "16 digit", "16 digits"),
        ({"q": "x" * 101}, "terlalu panjang", "too long"),
        ({"page": "0"}, "Nomor halaman", "page number"),
        ({"page": "dua"}, "Nomor halaman", "page number"),
        ({"page": "²"}, "Nomor halaman", "page number"),
        ({"q": "٣٤٠١٠١٢٠٠١٢٥٠٠٠١"}, "angka 0-9", "digits 0-9"),
        ({"status": "hapus"}, "Status tidak dikenal", "Unknown status"),
    ],
)
def test_bad_search_input_gets_a_bilingual_message(
    client, operator_a, family_a, params, message_id, message_en
):
    client.force_login(operator_a)
    response = client.get(reverse("registry:family_list"), params)
    assert response.status_code == 400
    body = text(response)
    assert message_id in body
    assert message_en in body
    assert body.index(message_id) < body.index(message_en)  # Indonesian first


def test_family_list_is_paginated(client, superuser, family_a, family_b, monkeypatch):
    monkeypatch.setattr(registry_views, "PAGE_SIZE", 1)
    client.force_login(superuser)
    first = client.get(reverse("registry:family_list"))
    assert [f.pk for f, _v in first.context["rows"]] == [family_b.pk]
    assert first.context["next_url"] == "?page=2"
    assert first.context["prev_url"] == ""
    second = client.get(reverse("registry:family_list"), {"page": 2})
    assert [f.pk for f, _v in second.context["rows"]] == [family_a.pk]
    assert second.context["next_url"] == ""
    assert second.context["prev_url"] == "?"


def test_family_list_query_count_is_bounded(
    client, superuser, family_a, family_b, django_assert_max_num_queries
):
    client.force_login(superuser)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("registry:family_list"))
    assert response.status_code == 200


def test_family_and_person_pages_query_count_is_bounded(
    client, operator_a, family_with_past, django_assert_max_num_queries
):
    family = family_with_past.family
    client.force_login(operator_a)
    for url, most in (
        (family_url(family), 27),  # + the latest ranking run for the desil card
        (family_url(family, tab="history"), 20),
        (family_url(family, as_of=family_with_past.before.isoformat()), 25),
        (reverse("registry:person_detail", args=[family.head_id]), 25),
    ):
        with django_assert_max_num_queries(most):
            assert client.get(url).status_code == 200


# ---------------------------------------------------------------------------------- family page


def test_family_page_shows_members_address_condition_kk_and_flags(client, operator_a, family_a):
    client.force_login(operator_a)
    response = client.get(family_url(family_a))
    assert response.status_code == 200
    body = text(response)
    # address with region names, province to village
    for name in ("Daerah Istimewa Yogyakarta", "Kulon Progo", "Temon", "Jangkaran", "Dusun Sidorejo"):
        assert name in body
    # members with readable Indonesian labels
    for label in ("BUDI SANTOSO", "SITI AMINAH", "DEWI LESTARI", "Kepala keluarga", "Istri/suami", "Anak",
                  "SD/MI", "SMP/MTs", "Pertanian", "Informal", "Petani", "Sensorik", "Ringan", "Hidup"):
        assert label in body, label
    ages = sorted(row.age for row in response.context["members"])
    today = timezone.localdate()
    assert ages[0] == today.year - 2012 - ((today.month, today.day) < (7, 1))
    # the wife is pregnant
    wife = next(r for r in response.context["members"] if r.person.name == "SITI AMINAH")
    assert wife.person.pregnant
    # condition snapshot in readable labels, assets in Indonesian
    for label in ("Milik sendiri", "Tanah", "Anyaman bambu", "Kayu bakar", "Sepeda motor", "Telepon seluler"):
        assert label in body, label
    # KK history and exclusion flag
    assert KK_A in body
    assert "Perangkat desa" in body
    assert "Verifikasi lapangan" in body


def test_nik_is_masked_on_every_page(client, operator_a, family_a):
    client.force_login(operator_a)
    members = list(Person.objects.filter(family=family_a))
    pages = [text(client.get(family_url(family_a)))]
    pages += [text(client.get(reverse("registry:person_detail", args=[p.pk]))) for p in members]
    pages.append(text(client.get(family_url(family_a, tab="history"))))
    for person in members:
        nik = nik_decrypt(person.nik_enc)
        assert all(nik not in page for page in pages)
        assert nik_mask(nik) in pages[0]


def test_history_tab_lists_every_version_with_who_channel_and_reason(client, operator_a, family_with_past):
    family = family_with_past.family
    client.force_login(operator_a)
    response = client.get(family_url(family, tab="history"))
    assert response.status_code == 200
    body = text(response)
    assert 'aria-selected="true">Riwayat' in body
    for fragment in ("operator.a", "system", "KK baru setelah pecah KK anak", "Koreksi hasil musdes",
                     "Pendataan awal Regsosek 2022", "Regsosek", "Musyawarah desa (musdes/muskel)",
                     "Formulir web",
                     "Nomor KK", KK_A, KK_A_NEW, "Pendidikan tertinggi", "Dibuat", "Diubah"):
        assert fragment in body, fragment
    versions = response.context["versions"]
    assert versions == sorted(versions, key=lambda v: v.when, reverse=True)
    kk_change = next(v for v in versions if any(ch.new == KK_A_NEW for ch in v.changes))
    assert kk_change.actor == "operator.a"
    assert str(kk_change.reason) == "KK baru setelah pecah KK anak"


def test_history_tab_by_htmx_is_a_fragment(client, operator_a, family_with_past):
    client.force_login(operator_a)
    url = family_url(family_with_past.family, tab="history")
    response = client.get(url, HTTP_HX_TARGET="family-tab", **HTMX)
    assert response.status_code == 200
    body = text(response)
    assert "<html" not in body
    assert "Koreksi hasil musdes" in body


def test_as_of_date_shows_the_earlier_state(client, operator_a, family_with_past):
    family = family_with_past.family
    client.force_login(operator_a)
    now = client.get(family_url(family))
    assert now.context["shown"].kk_number == KK_A_NEW
    assert "Semen/bata" in text(now)

    past = client.get(family_url(family, as_of=family_with_past.before.isoformat()))
    assert past.status_code == 200
    assert past.context["as_of"] == family_with_past.before
    assert past.context["shown"].kk_number == KK_A
    head = next(r.person for r in past.context["members"] if r.person.pk == family.head_id)
    assert head.education == "sd"
    body = text(past)
    assert "Keluarga sebagaimana tercatat pada akhir" in body
    assert "Tanah" in body
    assert "Semen/bata" not in body
    assert "Lemari es/kulkas" not in body


@pytest.mark.parametrize(
    ("value", "message_id", "message_en"),
    [
        ("31-12-2024", "Tanggal tidak valid", "Invalid date"),
        ("2024-02-30", "Tanggal tidak valid", "Invalid date"),
        ((timezone.localdate() + dt.timedelta(days=2)).isoformat(), "masa depan", "future"),
    ],
)
def test_bad_as_of_date_gets_a_bilingual_message(client, operator_a, family_a, value, message_id, message_en):
    client.force_login(operator_a)
    response = client.get(family_url(family_a, as_of=value))
    assert response.status_code == 400
    body = text(response)
    assert message_id in body
    assert message_en in body
    assert response.context["shown"].pk == family_a.pk  # the current state is still shown


def test_as_of_before_registration_says_the_family_did_not_exist(client, operator_a, family_a):
    client.force_login(operator_a)
    response = client.get(family_url(family_a, as_of="2001-01-01"))
    assert response.status_code == 200
    body = text(response)
    assert "Keluarga belum terdaftar pada tanggal itu." in body
    assert "The family was not registered at that time." in body


def test_family_and_person_reads_are_audited(client, operator_a, family_a):
    client.force_login(operator_a)
    client.get(family_url(family_a))
    client.get(family_url(family_a, tab="history"))
    head = Person.objects.get(pk=family_a.head_id)
    client.get(reverse("registry:person_detail", args=[head.pk]))
    reads = AuditRecord.objects.filter(actor_username="operator.a").exclude(action__startswith="auth.")
    records = {r.action: r for r in reads}  # the login itself is audited too ("auth.login"): not a read
    assert set(records) == {"family.view", "family.history", "person.view"}
    view = records["family.view"]
    assert view.object_type == "family"
    assert view.object_id == str(family_a.pk)
    assert view.channel == "web"
    assert f",{head.pk}," in view.persons
    assert records["person.view"].object_id == str(head.pk)


# ------------------------------------------------------------------------------ scope and errors


def test_family_of_another_village_is_not_found_by_url(client, operator_a, family_a, family_b):
    client.force_login(operator_a)
    response = client.get(family_url(family_b))
    assert response.status_code == 404
    body = text(response)
    assert "Keluarga tidak ditemukan." in body
    assert "Family not found." in body
    assert family_b.family_code not in body
    assert KK_B not in body
    person_b = Person.objects.get(pk=family_b.head_id)
    response = client.get(reverse("registry:person_detail", args=[person_b.pk]))
    assert response.status_code == 404
    assert "Orang tidak ditemukan." in text(response)
    assert "JOKO" not in text(response)


@pytest.mark.parametrize("family_id", [999_999, 10**30])
def test_missing_family_is_the_same_404(client, operator_a, family_a, family_id):
    client.force_login(operator_a)
    response = client.get(reverse("registry:family_detail", args=[family_id]))
    assert response.status_code == 404
    assert "Keluarga tidak ditemukan." in text(response)
    response = client.get(reverse("registry:person_detail", args=[family_id]))
    assert response.status_code == 404
    assert "Orang tidak ditemukan." in text(response)


def test_user_without_role_gets_a_bilingual_403(client, staff_without_role, family_a):
    client.force_login(staff_without_role)
    response = client.get(family_url(family_a))
    assert response.status_code == 403
    body = text(response)
    assert "Anda tidak berwenang" in body
    assert "You are not allowed" in body


def test_application_error_as_htmx_fragment_and_json(client, operator_a, family_b):
    client.force_login(operator_a)
    fragment = client.get(family_url(family_b), **HTMX)
    assert fragment.status_code == 404
    assert "<html" not in text(fragment)
    assert "Family not found." in text(fragment)
    as_json = client.get(family_url(family_b), HTTP_ACCEPT="application/json")
    assert as_json.status_code == 404
    assert as_json.json()["code"] == "not_found"
    assert as_json.json()["message_id"] == "Keluarga tidak ditemukan."


def test_unknown_url_gets_the_bilingual_404_page(client, operator_a, settings):
    settings.DEBUG = False
    client.force_login(operator_a)
    response = client.get("/tidak-ada/")
    assert response.status_code == 404
    assert "Halaman tidak ditemukan." in text(response)
    assert "Page not found." in text(response)


@pytest.mark.parametrize(("template", "message_id", "message_en"), [
    ("400.html", "Permintaan tidak valid.", "Bad request."),
    ("403.html", "Anda tidak berwenang membuka halaman ini.", "You are not allowed to open this page."),
    ("500.html", "Terjadi kesalahan pada server.", "Something went wrong on the server."),
])
def test_error_pages_are_bilingual(rf, template, message_id, message_en):
    request = rf.get("/")
    request.user = AnonymousUser()
    body = render_to_string(template, request=None if template == "500.html" else request)
    assert message_id in body
    assert message_en in body
    assert body.index(message_id) < body.index(message_en)


# ------------------------------------------------------------------------------------ person page


def test_person_page_shows_masked_nik_and_versions(client, operator_a, family_with_past):
    family = family_with_past.family
    client.force_login(operator_a)
    head = Person.objects.get(pk=family.head_id)
    response = client.get(reverse("registry:person_detail", args=[head.pk]))
    assert response.status_code == 200
    body = text(response)
    assert nik_mask(nik_decrypt(head.nik_enc)) in body
    assert "BUDI SANTOSO" in body
    assert "Kepala keluarga" in body
    assert "Koreksi hasil musdes" in body  # its own versions
    assert "KK baru setelah pecah KK anak" not in body  # not the family's


def test_person_page_query_is_scoped(client, family_a):
    other = get_user_model().objects.create_user("operator.b", password=PASSWORD)
    role_assign(user=other, role="operator_desa", region_code="34.01.02.2001")
    client.force_login(other)
    head = Person.objects.get(pk=family_a.head_id)
    assert client.get(reverse("registry:person_detail", args=[head.pk])).status_code == 404
