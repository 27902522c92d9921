"""BNBA exports (by name, by address) of a beneficiary decree, one village at a time: CSV (UTF-8 with a BOM, so
that Excel reads it right), XLSX (openpyxl) and a printable A4 PDF with a signature column (fpdf2).

The rows come from `selectors.bnba_rows`, which checks `program.view` over the village and gives the NIK only
masked; every export is an audited read (`audit_read`, action "export") naming the recipients.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.utils import timezone, translation
from fpdf import FPDF
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from dtsen.accounts.selectors import Actor
from dtsen.audit.services import audit_read
from dtsen.core.errors import NotFound, ValidationFailed
from dtsen.programs.models import Decree
from dtsen.programs.selectors import BnbaRow, bnba_rows, program_names
from dtsen.regions.selectors import region_get

FORMATS = ("csv", "xlsx", "pdf")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
HEADERS = ("No", "Nama penerima / Recipient", "NIK (disamarkan / masked)", "ID keluarga / Family", "Alamat / Address",
           "RT", "RW", "Komponen / Components", "Nilai / Amount (Rp)", "Status", "Tanda tangan / Signature")


@dataclass(frozen=True)
class Export:
    content: bytes
    content_type: str
    filename: str


@dataclass(frozen=True)
class _Head:
    program: str
    decree_number: str
    decree_date: str
    tahap: str
    village: str
    village_code: str


def _head(decree: Decree, village_code: str) -> _Head:
    try:
        village = region_get(village_code).name
    except NotFound:
        village = ""
    program = program_names(decree.run).get(decree.program, decree.program)
    return _Head(program=program, decree_number=decree.decree_number,
                 decree_date=decree.decree_date.strftime("%d-%m-%Y"), tahap=decree.run.period, village=village,
                 village_code=village_code)


def _values(row: BnbaRow) -> list[Any]:
    return [row.no, row.name, row.nik_masked, row.family_code, row.address, row.rt, row.rw, row.components,
            row.amount, row.status_label, ""]


def _safe(value: Any) -> Any:
    """A text cell that a spreadsheet would take for a formula starts with a quote (CSV/formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def bnba_csv(head: _Head, rows: list[BnbaRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Program", head.program, "SK", head.decree_number, head.decree_date, "Tahap", head.tahap,
                     "Desa/Kelurahan", head.village, head.village_code])
    writer.writerow(HEADERS[:-1])
    for row in rows:
        writer.writerow([_safe(v) for v in _values(row)[:-1]])
    writer.writerow(["", "Jumlah / Total", "", "", "", "", "", "", sum(r.amount for r in rows), "", ""][:-1])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def bnba_xlsx(head: _Head, rows: list[BnbaRow]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "BNBA"
    ws.append([f"BNBA {head.program}"])
    ws.append(["SK", head.decree_number, "Tanggal / Date", head.decree_date, "Tahap", head.tahap])
    ws.append(["Desa/Kelurahan", head.village, "Kode", head.village_code])
    ws.append([])
    ws.append(list(HEADERS))
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws["A1"].font = Font(bold=True, size=13)
    for row in rows:
        ws.append([_safe(v) for v in _values(row)])
        ws.cell(row=ws.max_row, column=9).number_format = "#,##0"
    ws.append(["", "Jumlah / Total", "", "", "", "", "", "", sum(r.amount for r in rows)])
    ws.cell(row=ws.max_row, column=9).number_format = "#,##0"
    ws.cell(row=ws.max_row, column=2).font = Font(bold=True)
    for i, width in enumerate((5, 28, 20, 18, 30, 5, 5, 26, 14, 14, 20), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _latin1(value: Any) -> str:
    """The PDF's core font prints Latin-1 (enough for Indonesian); anything else becomes '?'."""
    return str(value).encode("latin-1", "replace").decode("latin-1")


def _rupiah(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


_PDF_COLUMNS = (  # (title, width mm) on A4 landscape: 297 - 2 x 10 margins = 277
    ("No", 9), ("Nama penerima", 46), ("NIK", 32), ("Alamat", 50), ("RT/RW", 15), ("Komponen", 40),
    ("Nilai (Rp)", 24), ("Status", 23), ("Tanda tangan", 38),
)


class _Pdf(FPDF):
    title_line = ""

    def header(self) -> None:
        if self.page_no() > 1:
            self.set_font("Helvetica", size=7)
            self.cell(0, 5, _latin1(self.title_line), new_x="LMARGIN", new_y="NEXT")
            _table_head(self)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("Helvetica", size=7)
        self.cell(0, 5, _latin1(f"DTSEN - data pribadi (UU 27/2022) - halaman {self.page_no()}/{{nb}}"), align="C")


def _table_head(pdf: FPDF) -> None:
    pdf.set_font("Helvetica", style="B", size=8)
    pdf.set_fill_color(230, 230, 230)
    for title, width in _PDF_COLUMNS:
        pdf.cell(width, 7, title, border=1, fill=True, align="C")
    pdf.ln(7)
    pdf.set_font("Helvetica", size=8)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    text = _latin1(text)
    while text and pdf.get_string_width(text) > width - 2:
        text = text[:-1]
    return text


def bnba_pdf(head: _Head, rows: list[BnbaRow], *, printed_at: str) -> bytes:
    pdf = _Pdf(orientation="L", format="A4")
    pdf.title_line = f"BNBA {head.program} - SK {head.decree_number} - {head.village} ({head.village_code})"
    pdf.set_title(_latin1(pdf.title_line))
    pdf.set_author("DTSEN")
    pdf.set_margins(10, 10, 10)
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=13)
    pdf.cell(0, 7, _latin1("Daftar penerima by name by address (BNBA)"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    for label, value in (("Program", head.program), ("Nomor SK", head.decree_number), ("Tanggal SK", head.decree_date),
                         ("Tahap", head.tahap), ("Desa/Kelurahan", f"{head.village} ({head.village_code})"),
                         ("Jumlah penerima", f"{len(rows)} - Rp{_rupiah(sum(r.amount for r in rows))}")):
        pdf.cell(32, 5, _latin1(label))
        pdf.cell(0, 5, _latin1(f": {value}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _table_head(pdf)
    height = 9  # room to sign
    for row in rows:
        values = (str(row.no), row.name, row.nik_masked, row.address, f"{row.rt}/{row.rw}", row.components,
                  _rupiah(row.amount), row.status_label, "")
        if pdf.will_page_break(height):
            pdf.add_page()
        for (title, width), value in zip(_PDF_COLUMNS, values, strict=True):
            align = "R" if title == "Nilai (Rp)" else "L"
            pdf.cell(width, height, _fit(pdf, value, width), border=1, align=align)
        pdf.ln(height)
    pdf.ln(4)
    pdf.set_font("Helvetica", size=8)
    pdf.multi_cell(0, 4, _latin1(f"Dicetak {printed_at} dari DTSEN. NIK disamarkan. Penerima menandatangani saat "
                                 "menerima bantuan."), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def bnba_export(*, actor: Actor, decree: Decree, village_code: str, fmt: str) -> Export:
    """The BNBA list of one village of the decree in `fmt` (csv, xlsx, pdf); an audited read."""
    if fmt not in FORMATS:
        raise ValidationFailed("Format unduhan harus csv, xlsx atau pdf.", "The format must be csv, xlsx or pdf.",
                               field="format")
    with translation.override("id"):  # an official list: in Indonesian whatever the user's language
        rows = bnba_rows(actor=actor, decree=decree, village_code=village_code)
        head = _head(decree, village_code)
        if fmt == "csv":
            content = bnba_csv(head, rows)
        elif fmt == "xlsx":
            content = bnba_xlsx(head, rows)
        else:
            content = bnba_pdf(head, rows, printed_at=timezone.localtime().strftime("%d-%m-%Y %H:%M"))
    audit_read(actor=actor, object_type="decree", object_id=f"{decree.pk}:{village_code}:{fmt}", action="export",
               person_ids=[r.person_id for r in rows if r.person_id])
    safe_number = "".join(ch if ch.isalnum() else "-" for ch in decree.decree_number).strip("-")[:40]
    filename = f"bnba-{decree.program}-{safe_number}-{village_code.replace('.', '')}.{fmt}"
    return Export(content=content, content_type=CONTENT_TYPES[fmt], filename=filename)
