"""BNBA exports of a decree per village open correctly: the XLSX read back with openpyxl, the PDF's text with
pypdf and the CSV with csv give the village's beneficiaries and amounts, the decree number and the recipients'
masked NIK, never a full NIK; every export is an audited read, and one outside the actor's region is refused."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from dtsen.audit.models import AuditRecord
from dtsen.core.errors import PermissionDenied, ValidationFailed
from dtsen.programs import decrees, exports
from dtsen.programs.models import Disbursement
from dtsen.programs.selectors import bnba_rows
from dtsen.registry.crypto import nik_decrypt, nik_mask
from dtsen.registry.models import Person
from tests.programs import fixtures_decree as fd

pytestmark = pytest.mark.django_db
synth_dir = fd.synth_dir
work_dir = fd.work_dir
ranked = fd.ranked
run = fd.run
ratifier = fd.ratifier
dinsos = fd.dinsos
dinsos_other = fd.dinsos_other

NUMBER = "460/77/SK-PKH/2026"


@pytest.fixture
def decree(run, ratifier):
    return decrees.decree_create(actor=ratifier, run=run, program="pkh", region_code=fd.REGENCY,
                                 decree_number=NUMBER, decree_date=timezone.localdate())


@pytest.fixture
def village(decree, run) -> str:
    return fd.busiest_village(run)


def _expected(decree, village) -> dict[int, int]:
    """Recipient (pengurus, else head) person id -> amount, of the village's disbursements."""
    out = {}
    for d in Disbursement.objects.filter(decree=decree, village_code=village).select_related("family"):
        out[d.family.pengurus_id or d.family.head_id] = d.amount
    return out


def _full_niks(person_ids) -> list[str]:
    return [nik_decrypt(p.nik_enc) for p in Person.objects.filter(pk__in=list(person_ids))]


def test_xlsx_reads_back_with_the_villages_beneficiaries(decree, village, dinsos):
    export = exports.bnba_export(actor=dinsos, decree=decree, village_code=village, fmt="xlsx")
    assert export.filename.endswith(".xlsx")
    wb = load_workbook(io.BytesIO(export.content))
    ws = wb["BNBA"]
    cells = [list(r) for r in ws.iter_rows(values_only=True)]
    assert cells[0][0] == "BNBA Program Keluarga Harapan"
    assert cells[1][:2] == ["SK", NUMBER]
    assert cells[2][3] == village
    header = next(i for i, r in enumerate(cells) if r[0] == "No")
    assert cells[header][-1].startswith("Tanda tangan")
    body = [r for r in cells[header + 1:] if isinstance(r[0], int)]
    expected = _expected(decree, village)
    assert len(body) == len(expected) == decree.disbursements.filter(village_code=village).count()
    assert [r[0] for r in body] == list(range(1, len(body) + 1))
    rows = bnba_rows(actor=dinsos, decree=decree, village_code=village)
    for line, row in zip(body, rows, strict=True):
        assert (line[1], line[8], line[3]) == (row.name, row.amount, row.family_code)
        assert line[2] == row.nik_masked
        assert "******" in line[2]
        assert line[9] in ("Decided", "Ditetapkan")
    assert sorted(line[8] for line in body) == sorted(expected.values())
    total = cells[-1]
    assert total[1] == "Jumlah / Total"
    assert total[8] == sum(expected.values())
    flat = " ".join(str(v) for r in cells for v in r if v is not None)
    for nik in _full_niks(expected):
        assert nik not in flat


def test_pdf_text_has_the_decree_the_recipients_and_only_masked_niks(decree, village, dinsos):
    export = exports.bnba_export(actor=dinsos, decree=decree, village_code=village, fmt="pdf")
    assert export.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(export.content))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    assert NUMBER in text
    assert "Program Keluarga Harapan" in text
    assert "Tanda tangan" in text
    rows = bnba_rows(actor=dinsos, decree=decree, village_code=village)
    short = [r for r in rows if len(r.name) <= 24]
    assert short
    for r in short[:5]:
        assert r.name in text
        assert r.nik_masked in text
    for nik in _full_niks(r.person_id for r in rows):
        assert nik not in text
        assert nik_mask(nik) in text


def test_csv_has_a_bom_and_reads_back(decree, village, dinsos):
    export = exports.bnba_export(actor=dinsos, decree=decree, village_code=village, fmt="csv")
    assert export.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert lines[0][:4] == ["Program", "Program Keluarga Harapan", "SK", NUMBER]
    assert lines[1][0] == "No"
    assert lines[1][2].startswith("NIK")
    body = lines[2:-1]
    expected = _expected(decree, village)
    assert len(body) == len(expected)
    assert sorted(int(r[8]) for r in body) == sorted(expected.values())
    assert int(lines[-1][8]) == sum(expected.values())
    text = export.content.decode("utf-8-sig")
    for nik in _full_niks(expected):
        assert nik not in text


def test_exports_are_audited_reads(decree, village, dinsos):
    for fmt in exports.FORMATS:
        exports.bnba_export(actor=dinsos, decree=decree, village_code=village, fmt=fmt)
        record = AuditRecord.objects.get(action="decree.export", object_id=f"{decree.pk}:{village}:{fmt}")
        assert record.actor_id == dinsos.pk
        persons = {int(p) for p in record.persons.strip(",").split(",")}
        assert persons == set(_expected(decree, village))


def test_export_outside_the_region_is_refused_and_not_logged_as_export(decree, village, dinsos_other, dinsos):
    with pytest.raises(PermissionDenied):
        exports.bnba_export(actor=dinsos_other, decree=decree, village_code=village, fmt="xlsx")
    with pytest.raises(ValidationFailed):
        exports.bnba_export(actor=dinsos, decree=decree, village_code=village, fmt="docx")
    assert not AuditRecord.objects.filter(action="decree.export").exists()
