"""The visit XLSForm: it converts with pyxform without error or warning, it is bilingual, its version follows the
definition, its questions are exactly the phone page's (both come from `visit_questions`), and `dtsen odk form`
writes it."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook
from pyxform.xls2xform import convert

from dtsen.fieldforms.management.commands.odk import pyxform_problems
from dtsen.fieldforms.xlsform import LOCATION_SUFFIX, TASK_FIELD, form_sheets, form_version, xlsform_bytes
from dtsen.updates import visit_questions as vq
from dtsen.updates.visits import task_code, task_id_from_code


def _xform() -> str:
    warnings: list[str] = []
    result = convert(xlsform=io.BytesIO(xlsform_bytes()), warnings=warnings, file_type=".xlsx")
    assert warnings == []
    return result.xform


def test_generated_xlsform_converts_with_pyxform_without_warnings():
    xform = _xform()
    assert f'id="{vq.FORM_ID}"' in xform
    assert f'version="{form_version()}"' in xform
    assert re.search(r'<translation lang="Indonesian \(id\)" default="true\(\)">', xform)
    assert '<translation lang="English (en)">' in xform
    assert 'type="geopoint"' in xform
    assert xform.count('mediatype="image/*"') == 3
    assert "Apakah keluarga ditemukan?" in xform
    assert "Was the family found?" in xform
    assert "Keluarga ditemukan" in xform
    assert "Family found" in xform
    assert pyxform_problems(xlsform_bytes()) == []


def test_pyxform_check_catches_a_broken_form():
    """The check can fail: a select with an unknown list is an error."""
    book = load_workbook(io.BytesIO(xlsform_bytes()))
    sheet = book["survey"]
    sheet.append(["select_one no_such_list", "broken"])
    out = io.BytesIO()
    book.save(out)
    assert pyxform_problems(out.getvalue())


def test_every_question_has_both_languages_and_the_photos_their_location():
    survey = form_sheets()["survey"]
    for row in survey:
        if row["type"] not in ("start", "end", "end_group"):
            assert row["label::Indonesian (id)"], row
            assert row["label::English (en)"], row
    names = [r["name"] for r in survey]
    for q in vq.photo_questions():
        assert names.index(q.name + LOCATION_SUFFIX) == names.index(q.name) + 1
    labels = {r["name"]: r for r in survey}
    assert labels["visited_on"]["label::Indonesian (id)"] == "Tanggal kunjungan"
    assert labels["visited_on"]["label::English (en)"] == "Visit date"
    choices = form_sheets()["choices"]
    assert {"list_name": "daya", "name": "tidak_ada", "label::Indonesian (id)": "Tanpa meteran PLN / tidak diketahui",
            "label::English (en)": "No PLN meter / unknown"} in choices


def test_version_changes_when_the_definition_changes(monkeypatch):
    before = form_version()
    assert form_version() == before  # stable
    changed = tuple(replace(q, max_length=80) if q.name == "occupation" else q for q in vq.QUESTIONS)
    monkeypatch.setattr(vq, "QUESTIONS", changed)
    assert form_version() != before


@pytest.mark.django_db
def test_form_questions_are_the_phone_page_questions(client, worker, task):
    """The names the phone page posts are the XLSForm's names (less ODK's own: task code, photo locations,
    start/end); the choices of each select are the same values."""
    client.force_login(worker)
    page = client.get(reverse("updates:visit_detail", args=[task.pk])).content.decode()
    form = page[page.index('class="form visit-form"'):]
    posted = set(re.findall(r'<(?:input|select|textarea)[^>]*\sname="([^"]+)"', form)) - {"csrfmiddlewaretoken"}
    survey = [r for r in form_sheets()["survey"] if r["type"] not in ("begin_group", "end_group", "start", "end")]
    odk = {r["name"] for r in survey} - {TASK_FIELD} - {n for n in (r["name"] for r in survey)
                                                        if n.endswith(LOCATION_SUFFIX)}
    assert posted == odk == {q.name for q in vq.QUESTIONS}
    for q in vq.QUESTIONS:
        if q.type in ("select_one", "select_multiple") and q.name != "power_va":
            values = set(re.findall(rf'name="{q.name}" value="([^"]+)"', form)) or set(
                re.findall(r'<option value="([^"]+)"', form[form.index(f'name="{q.name}"'):].split("</select>")[0]))
            assert values == {v for v, _label in q.choice_list()}, q.name
    assert f'data-task-code>{task_code(task)}<' in page


def test_task_code_has_a_check_digit():
    class V:
        pk = 1234

    code = task_code(V())  # type: ignore[arg-type]
    assert code.startswith("1234")
    assert len(code) == 5
    assert task_id_from_code(code) == 1234
    assert task_id_from_code(f" {code} ") == 1234
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert task_id_from_code(wrong) is None
    assert task_id_from_code("1243" + code[-1]) is None  # two digits swapped
    assert task_id_from_code("abc") is None
    assert task_id_from_code("") is None


def test_cli_writes_the_form(tmp_path):
    out = tmp_path / "visit.xlsx"
    text = io.StringIO()
    call_command("odk", "form", "--out", str(out), "--check", stdout=text)
    assert out.read_bytes()[:2] == b"PK"
    assert form_version() in text.getvalue()
    book = load_workbook(out)
    assert book.sheetnames == ["survey", "choices", "settings"]
    assert book["settings"]["B2"].value == vq.FORM_ID
