"""The stable codes of bulk-import problems, each with its message in Indonesian and English.

`{field}` in a message is replaced by the column name. A *fatal* code makes the input unusable as a whole
(the command exits with 2); any other code rejects the row it is reported on (exit 1). The NIK codes and
their messages are those of `dtsen.registry.nik`, so a NIK is judged the same way everywhere.
docs/import-format.md lists this catalogue (a test keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass

from dtsen.registry.nik import ERRORS as NIK_ERRORS


@dataclass(frozen=True)
class Code:
    code: str
    message_id: str
    message_en: str
    fatal: bool = False

    def render(self, field: str) -> tuple[str, str]:
        return self.message_id.replace("{field}", field), self.message_en.replace("{field}", field)


_CODES: list[Code] = [
    # The input as a whole (exit code 2).
    Code("file_missing", "Berkas tidak ditemukan.", "File not found.", fatal=True),
    Code(
        "file_unknown",
        "Nama berkas tidak dikenal: harus families, persons, conditions atau exclusions "
        "dengan akhiran .csv, .csv.gz atau .parquet.",
        "Unknown file name: expected families, persons, conditions or exclusions with the extension .csv, "
        ".csv.gz or .parquet.",
        fatal=True,
    ),
    Code(
        "file_duplicate",
        "Ada lebih dari satu berkas untuk tabel yang sama.",
        "More than one file for the same table.",
        fatal=True,
    ),
    Code(
        "file_unreadable",
        "Berkas tidak dapat dibaca (bukan CSV UTF-8 atau Parquet yang sah).",
        "The file cannot be read (not valid UTF-8 CSV or Parquet).",
        fatal=True,
    ),
    Code(
        "column_missing",
        "Kolom {field} tidak ada di baris judul.",
        "Column {field} is missing from the header.",
        fatal=True,
    ),
    Code(
        "column_duplicate",
        "Kolom {field} muncul lebih dari sekali di baris judul.",
        "Column {field} appears more than once in the header.",
        fatal=True,
    ),
    Code(
        "regions_not_loaded",
        "Kode wilayah belum dimuat; jalankan `dtsen load_regions`.",
        "Region codes are not loaded; run `dtsen load_regions`.",
        fatal=True,
    ),
    # One row (exit code 1).
    Code(
        "row_malformed",
        "Jumlah kolom pada baris ini tidak sama dengan baris judul.",
        "This row does not have the same number of fields as the header.",
    ),
    Code("required", "Kolom {field} wajib diisi.", "{field} is required."),
    Code("bad_int", "Kolom {field} harus bilangan bulat.", "{field} must be a whole number."),
    Code(
        "bad_number",
        "Kolom {field} harus angka (titik sebagai pemisah desimal).",
        "{field} must be a number (with a decimal point).",
    ),
    Code("bad_bool", "Kolom {field} harus true atau false.", "{field} must be true or false."),
    Code(
        "bad_date",
        "Kolom {field} harus tanggal yang sah dengan format TTTT-BB-HH.",
        "{field} must be a valid date written YYYY-MM-DD.",
    ),
    Code(
        "bad_format",
        "Format {field} tidak sah (RW/RT: 1-3 digit angka).",
        "{field} has an invalid format (RW/RT: 1-3 digits).",
    ),
    Code(
        "unknown_code",
        "Nilai {field} tidak ada dalam daftar kode.",
        "{field} is not one of the listed codes.",
    ),
    Code("too_long", "Isi kolom {field} terlalu panjang.", "{field} is too long."),
    Code("future_date", "Tanggal {field} tidak boleh di masa depan.", "{field} cannot be in the future."),
    Code(
        "out_of_range",
        "Nilai {field} di luar rentang yang diizinkan.",
        "{field} is outside the allowed range.",
    ),
    Code(
        "kk_invalid",
        "Nomor KK harus 16 digit angka (kk_previous: beberapa nomor dipisah dengan |).",
        "A KK number must be 16 digits (kk_previous: several numbers separated by |).",
    ),
    *(
        Code(e.code, e.message_id, e.message_en)
        for e in NIK_ERRORS.values()
        if e.code != "nik_birth_mismatch"
    ),
    Code(
        "nik_duplicate_family",
        "NIK yang sama tercatat dua kali dalam satu keluarga.",
        "The same NIK appears twice in one family.",
    ),
    Code(
        "duplicate_key",
        "Kunci baris ini muncul lebih dari sekali dalam berkas.",
        "This row's key appears more than once in the file.",
    ),
    Code(
        "village_unknown",
        "Kode desa/kelurahan tidak dikenal dalam edisi kode wilayah yang berlaku.",
        "Unknown village code in the current edition of the region codes.",
    ),
    Code(
        "out_of_scope",
        "Wilayah baris ini di luar kewenangan Anda.",
        "This row's region is outside your scope.",
    ),
    Code(
        "family_unknown",
        "Keluarga tidak ada di berkas families maupun di basis data.",
        "The family is neither in the families file nor in the database.",
    ),
    Code(
        "person_unknown",
        "Orang tidak ada di berkas persons maupun di basis data.",
        "The person is neither in the persons file nor in the database.",
    ),
    Code(
        "head_not_member",
        "Kepala keluarga ({field}) bukan anggota keluarga ini.",
        "The head of family ({field}) is not a member of this family.",
    ),
    Code(
        "head_not_kepala",
        "Kepala keluarga ({field}) tidak berhubungan 'kepala'.",
        "The head of family ({field}) does not have the relationship 'kepala'.",
    ),
    Code(
        "head_count",
        "Keluarga harus mempunyai tepat satu anggota dengan hubungan 'kepala'.",
        "A family must have exactly one member with the relationship 'kepala'.",
    ),
    Code(
        "pengurus_not_member",
        "Pengurus ({field}) bukan anggota keluarga ini.",
        "The pengurus ({field}) is not a member of this family.",
    ),
    Code(
        "head_leaves_family",
        "Orang ini kepala atau pengurus keluarganya sekarang dan tidak boleh pindah "
        "kecuali keluarga itu ikut diperbarui dalam berkas families.",
        "This person is the head or pengurus of their current family and cannot move unless that family is "
        "updated in the families file too.",
    ),
    Code("pregnant_not_female", "Hanya perempuan yang dapat berstatus hamil.", "Only women can be pregnant."),
    Code(
        "death_before_birth",
        "Tanggal kematian sebelum tanggal lahir.",
        "The date of death is before the birth date.",
    ),
    Code(
        "death_inconsistent",
        "Tanggal atau sumber kematian hanya untuk orang berstatus 'meninggal'.",
        "A date or source of death is only for a person whose life_status is 'meninggal'.",
    ),
    Code(
        "coordinates_incomplete",
        "Lintang dan bujur harus diisi keduanya atau tidak sama sekali.",
        "Latitude and longitude must both be given or both be empty.",
    ),
    Code(
        "dwelling_missing",
        "Nomor bangunan atau koordinat memerlukan dwelling_code.",
        "A building number or coordinates need a dwelling_code.",
    ),
    Code(
        "dwelling_conflict",
        "Keluarga dengan dwelling_code yang sama mencatat desa, nomor bangunan atau koordinat yang berbeda.",
        "Families with the same dwelling_code give different villages, building numbers or coordinates.",
    ),
]

CODES: dict[str, Code] = {c.code: c for c in _CODES}
