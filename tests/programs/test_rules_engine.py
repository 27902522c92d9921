"""Each program rule, decided by the eligibility engine (DuckDB) over hand-made inputs, with its source.

Sources are those of ../shared/docs/dtsen-domain.md (section and the URL given there); markers [V]/[P]/[U]
are the document's. Amounts are per quarterly tahap (4 a year: January, April, July, October).

The last tests build the engine's inputs from a family registered through the registry services: when the
pengurus dies, `person_record_death` hands the role to an adult member, and the next eligibility input marks
that member as pengurus.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from dtsen.programs.engine import RESULT_COLUMNS, eligibility_compute
from dtsen.programs.models import Reason
from dtsen.programs.rules import RuleSet, rules_default, with_changes
from dtsen.ranking.engine import engine_open
from dtsen.ranking.engine.base import parquet_glob
from dtsen.registry.choices import ExclusionCategory
from tests.programs.engine_inputs import family, person, write_inputs

OTHER_REGENCY = "34.02.01.2001"  # a desa in Bantul: another kabupaten, another quota


# Sekolah Rakyat is a boarding school with counted places: it selects nobody without a quota row.
SR_PLACES = [{"program": "sekolah_rakyat", "regency_code": "34.01", "quota": 50}]


def decide(tmp: Path, families: list[dict], persons: list[dict], exclusions: list[dict] | None = None,
           quotas: list[dict] | None = None, rules: RuleSet | None = None) -> list[dict[str, Any]]:
    """Run every program of `rules` (default: Kepmensos 79/HUK/2025) and return the result rows."""
    inputs = write_inputs(tmp / "in", families, persons, exclusions, quotas)
    with engine_open("duckdb") as engine:
        out = eligibility_compute(engine, inputs, rules or rules_default(), tmp / "out")
        table = engine.fetch(f"SELECT {', '.join(RESULT_COLUMNS)} FROM read_parquet('{parquet_glob(out)}') "
                             "ORDER BY program, family_id, person_id")
    return table.to_pylist()


def row(rows: list[dict], program: str, family_id: int, person_id: int | None = None) -> dict[str, Any]:
    found = [r for r in rows if r["program"] == program and r["family_id"] == family_id
             and (person_id is None or r["person_id"] == person_id)]
    assert len(found) == 1, f"{program}/{family_id}/{person_id}: {found}"
    return found[0]


def pkh_family(fid: int, members: list[dict], desil: int = 1) -> tuple[list[dict], list[dict]]:
    """A family with a 40-year-old pengurus (no component of their own) and the given members."""
    return [family(fid, desil)], [person(fid * 100, fid, 40, "L", pengurus=True), *members]


# dtsen-domain.md §2.2: PKH annual amounts per component, unchanged 2021-2025 [V]
# https://www.tempo.co/politik/mudah-cara-cek-bansos-2025-bisa-lewat-hp-1199675 ; per quarterly tahap
# 750k/750k/225k/375k/500k/600k/600k [V]
# https://bandung.viva.co.id/amp/fakta-unik/40092-ayo-cek-nomor-kk-anda-disini-pemerintah-siapkan-saldo-dana-gratis-27-juta?page=1
@pytest.mark.parametrize(("member", "component", "per_tahap"), [
    ({"age": 30, "sex": "P", "pregnant": True}, "ibu_hamil", 750_000),
    ({"age": 4}, "anak_usia_dini", 750_000),
    ({"age": 9, "school": "sd"}, "sd", 225_000),
    ({"age": 13, "school": "smp"}, "smp", 375_000),
    ({"age": 17, "school": "sma"}, "sma", 500_000),
    ({"age": 35, "disability": True}, "disabilitas_berat", 600_000),
    ({"age": 72}, "lansia", 600_000),
])
def test_pkh_amount_per_component(tmp_path, member, component, per_tahap):
    kw = dict(member)
    age = kw.pop("age")
    sex = kw.pop("sex", "L")
    fams, pers = pkh_family(1, [person(101, 1, age, sex, **kw)])
    r = row(decide(tmp_path, fams, pers), "pkh", 1)
    assert (r["outcome"], r["reason"]) == ("terpilih", None)
    assert r["amount"] == per_tahap
    assert r["components"] == f"{component}:1"


# dtsen-domain.md §2.2: "Ibu hamil: at most 2 pregnancies" [V]
# https://m.tribunnews.com/amp/nasional/2022/02/27/bansos-pkh-tahap-i-cair-februari-2022-cek-status-penerimanya-via-cekbansoskemensosgoid?page=2
# A man marked pregnant is a data error, not a component.
def test_pkh_pregnancy_cap_is_two(tmp_path):
    fams, pers = pkh_family(1, [person(101, 1, 25, "P", pregnant=True), person(102, 1, 28, "P", pregnant=True),
                                person(103, 1, 31, "P", pregnant=True), person(104, 1, 33, "L", pregnant=True)])
    r = row(decide(tmp_path, fams, pers), "pkh", 1)
    assert r["components"] == "ibu_hamil:2"
    assert r["amount"] == 2 * 3_000_000 // 4


# dtsen-domain.md §2.2: "Anak usia dini 0-6: at most 2 children" [V] (tribunnews, above)
def test_pkh_early_childhood_cap_is_two(tmp_path):
    fams, pers = pkh_family(1, [person(101, 1, 0), person(102, 1, 3), person(103, 1, 5), person(104, 1, 6)])
    r = row(decide(tmp_path, fams, pers), "pkh", 1)
    assert r["components"] == "anak_usia_dini:2"
    assert r["amount"] == 1_500_000


# dtsen-domain.md §2.2: "Lansia: age >= 70, at most 1 per family" [V] (tribunnews, above); the cap is
# configurable because ayobogor counts 2 lansia [P]
def test_pkh_elderly_from_70_cap_is_one(tmp_path):
    fams, pers = pkh_family(1, [person(101, 1, 69), person(102, 1, 70), person(103, 1, 81)])
    r = row(decide(tmp_path, fams, pers), "pkh", 1)
    assert r["components"] == "lansia:1"
    assert r["amount"] == 600_000
    only_69 = decide(tmp_path / "b", *pkh_family(2, [person(201, 2, 69)]))
    assert (row(only_69, "pkh", 2)["outcome"], row(only_69, "pkh", 2)["reason"]) == \
        ("tidak_terpilih", Reason.NO_COMPONENT)


# dtsen-domain.md §2.2: "Disabilitas berat: at most 1 per family" [V] (tribunnews, above)
def test_pkh_severe_disability_cap_is_one(tmp_path):
    fams, pers = pkh_family(1, [person(101, 1, 20, disability=True), person(102, 1, 45, disability=True)])
    r = row(decide(tmp_path, fams, pers), "pkh", 1)
    assert r["components"] == "disabilitas_berat:1"
    assert r["amount"] == 600_000


# dtsen-domain.md §2.2: school components for "children 6-21 who have not completed 12 years of compulsory
# education" [V] (tribunnews, above): no cap per level (only the 4-component limit applies)
def test_pkh_school_components_uncapped_and_6_to_21(tmp_path):
    fams, pers = pkh_family(1, [person(101, 1, 8, school="sd"), person(102, 1, 10, school="sd"),
                                person(103, 1, 11, school="sd"), person(104, 1, 22, school="sma")])
    r = row(decide(tmp_path, fams, pers), "pkh", 1)
    assert r["components"] == "sd:3"
    assert r["amount"] == 3 * 900_000 // 4
    fams, pers = pkh_family(2, [person(201, 2, 13, school="smp"), person(202, 2, 14, school="smp"),
                                person(203, 2, 16, school="sma"), person(204, 2, 18, school="sma")])
    r = row(decide(tmp_path / "b", fams, pers), "pkh", 2)
    assert r["components"] == "smp:2,sma:2"
    assert r["amount"] == (2 * 1_500_000 + 2 * 2_000_000) // 4


# dtsen-domain.md §2.2 and §F: "at most 4 components are counted per KK" [P]
# https://www.ayobogor.com/umum/3114056370/berapa-jumlah-komponen-maksimal-yang-dihitung-di-pencairan-pkh-berikut-penjelasannya
# "Apply the per-component caps, then the max 4 components rule; per-tahap amount = annual / 4" (§F): the
# engine counts the largest amounts first, so the family receives the most the rule allows.
def test_pkh_four_component_limit_counts_largest_first(tmp_path):
    fams, pers = pkh_family(1, [
        person(101, 1, 30, "P", pregnant=True),  # 3,000,000
        person(102, 1, 2), person(103, 1, 4), person(104, 1, 5),  # 3,000,000 x2 (cap 2)
        person(105, 1, 74),  # 2,400,000
        person(106, 1, 16, school="sma"), person(107, 1, 9, school="sd"),  # 2,000,000, 900,000: not counted
    ])
    r = row(decide(tmp_path, fams, pers), "pkh", 1)
    assert r["components"] == "ibu_hamil:1,anak_usia_dini:2,lansia:1"
    assert r["amount"] == (3 * 3_000_000 + 2_400_000) // 4 == 2_850_000
    # the limit is data: a rule edition with 5 components counts the SMA pupil too
    five = with_changes(rules_default(), {"pkh": {"amount": {
        **_pkh_amount(), "max_components": 5}}})
    r5 = row(decide(tmp_path / "b", fams, pers, rules=five), "pkh", 1)
    assert r5["amount"] == (3 * 3_000_000 + 2_400_000 + 2_000_000) // 4


def _pkh_amount() -> dict[str, Any]:
    import json

    raw = json.loads(rules_default().text)
    return next(p["amount"] for p in raw["programs"] if p["code"] == "pkh")


# dtsen-domain.md §2.5: "Graduasi alamiah: no eligible component remains" [V]
# https://penasultra.id/diancam-tak-dapat-bantuan-koorkab-pkh-muna-minta-kpm-tidak-takut/2 : a desil-1 family
# without any component is not selected for PKH (tidak_ada_komponen) but still receives Sembako.
def test_pkh_no_component_left(tmp_path):
    fams, pers = pkh_family(1, [person(101, 1, 23, school="tidak_sekolah"), person(102, 1, 7, school="paud")])
    rows = decide(tmp_path, fams, pers)
    assert (row(rows, "pkh", 1)["outcome"], row(rows, "pkh", 1)["reason"]) == ("tidak_terpilih", "tidak_ada_komponen")
    assert row(rows, "pkh", 1)["amount"] == 0
    assert row(rows, "sembako", 1)["outcome"] == "terpilih"


# dtsen-domain.md §2.1 desil per program [P] Kepmensos 79/HUK/2025 via
# https://sidanegara.desa.id/artikel/2025/7/7/dtsen-itu-apaapa-cuma-ganti-nama : PKH desil 1-4, Sembako/BPNT 1-5,
# PBI-JK 1-5; Sekolah Rakyat desil 1-2 [V] https://dutakabar.com/?p=33152 ; PIP pupils 6-21 with the desil
# cut-off not published [U] (https://antaranews.com/berita/3745074/kemendikbudristek-alokasikan-rp1349-triliun-bagi-1859-juta-siswa-pip):
# PIP as configured in the edition. BLT Desa as configured (Permendes PDTT 6/2020 [P]).
def test_desil_range_per_program(tmp_path):
    rules = rules_default()
    fams, pers = [], []
    for d in range(1, 11):
        fams.append(family(d, d))
        pers += [person(d * 100, d, 40, pengurus=True), person(d * 100 + 1, d, 10, school="sd")]
    rows = decide(tmp_path, fams, pers, quotas=SR_PLACES)
    documented = {"pkh": (1, 4), "sembako": (1, 5), "pbi_jk": (1, 5), "sekolah_rakyat": (1, 2)}
    for code, (lo, hi) in documented.items():
        assert (rules.program(code).desil_min, rules.program(code).desil_max) == (lo, hi)
    for program in rules.programs:
        desils = {r["desil"] for r in rows if r["program"] == program.code}
        assert desils == set(range(program.desil_min, program.desil_max + 1)), program.code
    # and within its range a valid family is selected (PIP: desil 1-2 pupils go to Sekolah Rakyat instead)
    for code, (lo, hi) in documented.items():
        assert {r["desil"] for r in rows if r["program"] == code and r["outcome"] == "terpilih"} == \
            set(range(lo, hi + 1)), code
    pip = rules.program("pip")
    assert {r["desil"] for r in rows if r["program"] == "pip" and r["outcome"] == "terpilih"} == \
        set(range(max(3, pip.desil_min), pip.desil_max + 1))


# dtsen-domain.md §2.1/§F: "Desil thresholds per program from dated config": a changed edition (PKH desil 1-3)
# moves the boundary without code changes (the Sep 2025 plan to widen Sekolah Rakyat is the same kind of change)
def test_desil_range_is_data(tmp_path):
    fams = [family(d, d) for d in (3, 4)]
    pers = [person(d * 100, d, 40, pengurus=True) for d in (3, 4)] + [person(d * 100 + 1, d, 3) for d in (3, 4)]
    narrowed = with_changes(rules_default(), {"pkh": {"desil_max": 3}})
    rows = decide(tmp_path, fams, pers, rules=narrowed)
    assert {r["family_id"] for r in rows if r["program"] == "pkh"} == {3}


# dtsen-domain.md §2.4: Kepmensos 73/HUK/2024 "tidak layak" categories (ASN/TNI/Polri and their families,
# pensioners, certified teachers, APBN/APBD income, ...) [V]
# http://redaksi.waspada.co.id/v2024/15-kriteria-masyarakat-ini-tidak-berhak-dapat-bansos-dari-pemerintah ;
# a flag such as "keluarga ASN/TNI/Polri" deactivates even PBI for desil-2 people [V]
# https://terasjabar.id/kemensos-bimbing-operator-data-dinsos-se-indonesia-cara-reaktivasi-pbi/2 :
# one flagged member keeps the whole family out of every program, family and person programs alike.
@pytest.mark.parametrize("category", ExclusionCategory.values)
def test_exclusion_category_keeps_family_out_of_every_program(tmp_path, category):
    fams = [family(1, 1), family(2, 1)]
    pers = []
    for fid in (1, 2):
        pers += [person(fid * 100, fid, 38, "P", pengurus=True, pregnant=True), person(fid * 100 + 1, fid, 42),
                 person(fid * 100 + 2, fid, 10, school="sd"), person(fid * 100 + 3, fid, 19, school="sma")]
    rows = decide(tmp_path, fams, pers, exclusions=[{"person_id": 101, "family_id": 1, "category": category}])
    flagged = [r for r in rows if r["family_id"] == 1]
    assert {r["program"] for r in flagged} == {p.code for p in rules_default().programs}
    assert all((r["outcome"], r["reason"], r["amount"]) == ("tidak_terpilih", Reason.EXCLUDED, 0) for r in flagged)
    control = [r for r in rows if r["family_id"] == 2 and r["program"] in ("pkh", "sembako", "pbi_jk")]
    assert control
    assert all(r["outcome"] == "terpilih" for r in control)


# dtsen-domain.md §2.4 and §F: the exclusion list belongs to the edition (the list "is not fully retrieved [U]"):
# an edition that names only some categories excludes only those.
def test_exclusion_categories_are_data(tmp_path):
    import json

    raw = json.loads(rules_default().text)
    raw["exclusion_categories"] = [ExclusionCategory.ASN]
    from dtsen.programs.rules import rules_parse

    rules = rules_parse(json.dumps(raw))
    fams = [family(1, 1), family(2, 1)]
    pers = [person(100, 1, 40, pengurus=True), person(101, 1, 3), person(200, 2, 40, pengurus=True),
            person(201, 2, 3)]
    flags = [{"person_id": 100, "family_id": 1, "category": ExclusionCategory.ASN},
             {"person_id": 200, "family_id": 2, "category": ExclusionCategory.CERTIFIED_TEACHER}]
    rows = decide(tmp_path, fams, pers, exclusions=flags, rules=rules)
    assert row(rows, "pkh", 1)["reason"] == Reason.EXCLUDED
    assert row(rows, "pkh", 2)["outcome"] == "terpilih"


# dtsen-domain.md §2.4: "PKH and Sembako are routinely held together by the same KPM" [V]
# https://wmhg.org/ekonomi/bisnis/9-599-keluarga-jadi-sasaran-bansos-pkh-dan-sembako-di-tangsel-sudah-tersalur-96-persen
# overlap is modelled as program-pair rules [P]. BLT Dana Desa is for poor families outside PKH and BPNT/Sembako
# (Permendes PDTT 6/2020 [P], as cited in the edition's sources): a family-level pair.
def test_overlap_blt_desa_vs_pkh_and_sembako_family_level(tmp_path):
    fams = [family(1, 1), family(2, 5, village=OTHER_REGENCY), family(3, 4), family(4, 4)]
    pers = [person(100, 1, 40, pengurus=True), person(101, 1, 3),  # PKH + Sembako
            person(200, 2, 40, pengurus=True),  # desil 5 in Bantul (no quota): Sembako only
            person(300, 3, 40, pengurus=True),  # desil 4, no PKH component, Sembako quota full
            person(400, 4, 40, pengurus=True)]  # desil 4, Sembako selected before family 3 (percentile)
    fams[3]["percentile"] = 30.0
    quotas = [{"program": "sembako", "regency_code": "34.01", "quota": 2}]
    rows = decide(tmp_path, fams, pers, quotas=quotas)
    assert row(rows, "pkh", 1)["outcome"] == row(rows, "sembako", 1)["outcome"] == "terpilih"
    assert row(rows, "pkh", 1)["amount"] > 0
    assert row(rows, "sembako", 1)["amount"] == 600_000
    assert (row(rows, "blt_desa", 1)["outcome"], row(rows, "blt_desa", 1)["reason"]) == \
        ("tidak_terpilih", Reason.OVERLAP)
    assert row(rows, "sembako", 4)["outcome"] == "terpilih"
    assert row(rows, "blt_desa", 4)["reason"] == Reason.OVERLAP
    # family 3 waits for Sembako (quota full): the pair forbids only a selected program, so BLT Desa reaches it
    assert (row(rows, "sembako", 3)["outcome"], row(rows, "sembako", 3)["reason"]) == ("daftar_tunggu", "kuota_penuh")
    assert (row(rows, "blt_desa", 3)["outcome"], row(rows, "blt_desa", 3)["amount"]) == ("terpilih", 900_000)
    # desil 5 family 2: Sembako is selected, so no BLT Desa either
    assert row(rows, "blt_desa", 2)["reason"] == Reason.OVERLAP
    # no family holds BLT Desa together with PKH or Sembako
    selected = {(r["program"], r["family_id"]) for r in rows if r["outcome"] == "terpilih"}
    for fid in range(1, 5):
        assert not (("blt_desa", fid) in selected and {("pkh", fid), ("sembako", fid)} & selected)


# Sekolah Rakyat is a Kemensos boarding school for desil 1-2 [V] https://dutakabar.com/?p=33152 ; PIP pays pupils'
# schooling costs [V] (antaranews, above). The edition forbids the pair per person [P] (the boarding school
# pays the schooling): the pupil in Sekolah Rakyat gets no PIP; a sibling outside its age band still does.
def test_overlap_sekolah_rakyat_vs_pip_person_level(tmp_path):
    fams = [family(1, 1), family(2, 3)]
    pers = [person(100, 1, 40, pengurus=True), person(101, 1, 10, school="sd"), person(102, 1, 19, school="sma"),
            person(200, 2, 40, pengurus=True), person(201, 2, 13, school="smp")]
    rows = decide(tmp_path, fams, pers, quotas=SR_PLACES)
    assert row(rows, "sekolah_rakyat", 1, 101)["outcome"] == "terpilih"
    assert (row(rows, "pip", 1, 101)["outcome"], row(rows, "pip", 1, 101)["reason"]) == \
        ("tidak_terpilih", Reason.OVERLAP)
    assert (row(rows, "pip", 1, 102)["outcome"], row(rows, "pip", 1, 102)["amount"]) == ("terpilih", 1_800_000 // 4)
    assert not [r for r in rows if r["program"] == "sekolah_rakyat" and r["person_id"] == 102]  # 19 > 18
    assert (row(rows, "pip", 2, 201)["outcome"], row(rows, "pip", 2, 201)["amount"]) == ("terpilih", 750_000 // 4)
    assert not [r for r in rows if r["program"] == "sekolah_rakyat" and r["family_id"] == 2]  # desil 3
    # the person-level pair does not block the family's family programs
    assert row(rows, "pkh", 1)["outcome"] == "terpilih"


# dtsen-domain.md §2.4: "Meninggal dunia, unless the pengurus is replaced by another member of the same KK" [V]
# (Kepmensos 73/HUK/2024, waspada above); "the family continues only if another member of the same KK is
# registered as the new pengurus (as heir)" [V]
# https://radartasik.disway.id/amp/640354/pusing-bansos-bpnt-dan-pkh-tak-cair-lagi-ini-cara-daftarnya/64 ;
# §F: "Death handling: replace the pengurus within the same KK; otherwise the family is deactivated".
def test_deceased_pengurus_replaceable_by_adult(tmp_path):
    fams = [family(1, 1), family(2, 1), family(3, 1)]
    pers = [person(100, 1, 45, "P", pengurus=True, alive=False), person(101, 1, 17), person(102, 1, 4),
            person(200, 2, 45, "P", pengurus=True, alive=False), person(201, 2, 16), person(202, 2, 4),
            person(300, 3, 80, pengurus=True, alive=False), person(301, 3, 78, alive=False)]
    rows = decide(tmp_path, fams, pers)
    # an adult (17+, the edition's pengurus_min_age) can take over: still eligible
    assert rules_default().pengurus_min_age == 17
    assert row(rows, "pkh", 1)["outcome"] == row(rows, "sembako", 1)["outcome"] == "terpilih"
    # only minors left: no one can take over
    for program in ("pkh", "sembako", "blt_desa"):
        assert (row(rows, program, 2)["outcome"], row(rows, program, 2)["reason"]) == \
            ("tidak_terpilih", Reason.NO_PENGURUS)
        # nobody left alive
        assert row(rows, program, 3)["reason"] == Reason.DECEASED
    # a deceased person is never a candidate of a person program
    assert not [r for r in rows if r["person_id"] in (100, 200, 300, 301)]


# dtsen-domain.md §2.4: "Validation before every distribution period (since 2021): a KPM who is tidak padan
# Capil (duplicate NIK, different name, different family composition, population mutation) drops out for that
# period" [V] https://lapor.jogjaprov.go.id/daftar-aduan/detail/2208220001 ; §6.1/§6.2 NIK and KK numbers
@pytest.mark.parametrize(("fam_kw", "pengurus_kw", "reason"), [
    ({"dup_family": True}, {}, Reason.DUPLICATE_FAMILY),
    ({}, {"dup_nik": True}, Reason.DUPLICATE_PERSON),
    ({}, {"nik_ok": False}, Reason.NIK_INVALID),
    ({}, {"matched": False}, Reason.NOT_MATCHED),
    ({"active": False}, {}, Reason.FAMILY_INACTIVE),
])
def test_validation_of_family_programs(tmp_path, fam_kw, pengurus_kw, reason):
    fams = [family(1, 1, **fam_kw)]
    pers = [person(100, 1, 40, "P", pengurus=True, **pengurus_kw), person(101, 1, 3)]
    rows = decide(tmp_path, fams, pers)
    for program in ("pkh", "sembako", "blt_desa"):
        r = row(rows, program, 1)
        assert (r["outcome"], r["reason"], r["amount"], r["queue_no"]) == ("tidak_terpilih", reason, 0, None)


# Same source (lapor.jogjaprov): person programs check each person's own NIK; the family-wide checks (KK
# registered twice, inactive family) keep every member out.
def test_validation_of_person_programs(tmp_path):
    fams = [family(1, 1), family(2, 1, dup_family=True)]
    pers = [person(100, 1, 40, pengurus=True), person(101, 1, 12, dup_nik=True), person(102, 1, 11, nik_ok=False),
            person(103, 1, 9, matched=False), person(104, 1, 8),
            person(200, 2, 40, pengurus=True)]
    rows = decide(tmp_path, fams, pers)
    assert row(rows, "pbi_jk", 1, 101)["reason"] == Reason.DUPLICATE_PERSON
    assert row(rows, "pbi_jk", 1, 102)["reason"] == Reason.NIK_INVALID
    assert row(rows, "pbi_jk", 1, 103)["reason"] == Reason.NOT_MATCHED
    assert row(rows, "pbi_jk", 1, 104)["outcome"] == row(rows, "pbi_jk", 1, 100)["outcome"] == "terpilih"
    assert row(rows, "pbi_jk", 2, 200)["reason"] == Reason.DUPLICATE_FAMILY
    # a member's duplicate NIK keeps the family out of family programs; a non-pengurus' bad NIK does not
    assert row(rows, "pkh", 1)["reason"] == Reason.DUPLICATE_PERSON


# The reasons are checked in the documented order (models.Reason); the first failing check is kept.
def test_first_failing_check_is_the_reason(tmp_path):
    fams = [family(1, 1, dup_family=True)]
    pers = [person(100, 1, 40, pengurus=True, nik_ok=False, matched=False)]
    rows = decide(tmp_path, fams, pers, exclusions=[{"person_id": 100, "family_id": 1, "category": "asn"}])
    assert row(rows, "sembako", 1)["reason"] == Reason.EXCLUDED


# dtsen-domain.md §2.4: "being in the registry does not guarantee aid; aid depends on program quotas per
# region, and newly registered households wait for vacancies" [V]
# https://www.ayobogor.com/umum/3112272846/nama-anda-terdaftar-di-data-dtks-tapi-belum-pernah-dapat-bansos-jangan-khawatir-segera-lakukan-hal-ini?page=2
# quotas per kabupaten/kota, filled in desil then percentile order (the poorest first), the rest numbered on a
# waiting list; invalid candidates take no place in the queue.
def test_quota_and_waiting_list_per_kabupaten(tmp_path):
    fams = [family(1, 2, percentile=12.0), family(2, 1, percentile=8.0), family(3, 1, percentile=3.0),
            family(4, 3, percentile=21.0), family(5, 1, percentile=1.0, dup_family=True),
            family(6, 2, percentile=15.0, village=OTHER_REGENCY), family(7, 1, percentile=9.0, village=OTHER_REGENCY),
            family(8, 4, percentile=33.0, village="34.03.01.2001")]
    pers = [person(fid * 100, fid, 40, pengurus=True) for fid in range(1, 9)]
    quotas = [{"program": "sembako", "regency_code": "34.01", "quota": 2},
              {"program": "sembako", "regency_code": "34.02", "quota": 0}]
    rows = decide(tmp_path, fams, pers, quotas=quotas)
    sembako = {r["family_id"]: r for r in rows if r["program"] == "sembako"}
    got = {fid: (r["outcome"], r["queue_no"], r["waiting_no"]) for fid, r in sembako.items()}
    assert got == {
        3: ("terpilih", 1, None), 2: ("terpilih", 2, None),  # desil 1, by percentile
        1: ("daftar_tunggu", 3, 1), 4: ("daftar_tunggu", 4, 2),  # desil 2 then desil 3 wait, numbered
        5: ("tidak_terpilih", None, None),  # KK registered twice: no place in the queue
        7: ("daftar_tunggu", 1, 1), 6: ("daftar_tunggu", 2, 2),  # Bantul: quota 0, its own numbering
        8: ("terpilih", 1, None),  # no quota set for that kabupaten: no limit
    }
    assert all(sembako[f]["reason"] == Reason.QUOTA and sembako[f]["amount"] == 0 for f in (1, 4, 6, 7))
    # person programs are numbered per person in the same order
    pquota = [{"program": "pbi_jk", "regency_code": "34.01", "quota": 1}]
    prow = decide(tmp_path / "p", fams[:3], [*pers[:3], person(301, 3, 10)], quotas=pquota)
    pbi = sorted((r["queue_no"], r["person_id"], r["outcome"]) for r in prow if r["program"] == "pbi_jk")
    assert pbi == [(1, 300, "terpilih"), (2, 301, "daftar_tunggu"), (3, 200, "daftar_tunggu"),
                   (4, 100, "daftar_tunggu")]


# Issue 6 ("Every family that is not selected carries its reason") over a mix of all the cases above.
def test_every_not_selected_row_has_a_reason(tmp_path):
    fams = [family(fid, (fid % 10) + 1, dup_family=fid % 17 == 0, active=fid % 23 != 0,
                   village=OTHER_REGENCY if fid % 3 == 0 else "34.01.01.2001") for fid in range(1, 80)]
    pers = []
    for fid in range(1, 80):
        base = fid * 100
        pers += [person(base, fid, 30 + fid % 50, "P", pengurus=True, alive=fid % 11 != 0, nik_ok=fid % 13 != 0,
                        pregnant=fid % 4 == 0),
                 person(base + 1, fid, fid % 19, school=("sd", "smp", "sma", "tidak")[fid % 4], dup_nik=fid % 29 == 0),
                 person(base + 2, fid, 60 + fid % 20, disability=fid % 7 == 0, matched=fid % 31 != 0)]
    flags = [{"person_id": fid * 100 + 2, "family_id": fid, "category": "tni"} for fid in range(5, 80, 19)]
    quotas = [{"program": p, "regency_code": "34.01", "quota": 5} for p in ("pkh", "sembako", "pbi_jk", "pip")]
    rows = decide(tmp_path, fams, pers, exclusions=flags, quotas=quotas)
    assert {r["reason"] for r in rows} - {None} <= set(Reason.values)
    for r in rows:
        if r["outcome"] == "terpilih":
            assert r["reason"] is None
            assert r["queue_no"] is not None
            assert r["waiting_no"] is None
        elif r["outcome"] == "daftar_tunggu":
            assert r["reason"] == Reason.QUOTA
            assert r["waiting_no"] >= 1
            assert r["amount"] == 0
        else:
            assert r["outcome"] == "tidak_terpilih"
            assert r["reason"]
            assert r["amount"] == 0
            assert r["queue_no"] is None
    assert {r["outcome"] for r in rows} == {"terpilih", "daftar_tunggu", "tidak_terpilih"}
    assert not [r for r in rows if r["outcome"] == "terpilih" and r["family_id"] in {f["family_id"] for f in flags}]


# ------------------------------------------------------------------ replacement at the registry level

pytest_db = pytest.mark.django_db


def _ranking_run_for(families: list[Any], desil: int) -> Any:
    """A finished ranking run that puts the given families in `desil` (the eligibility input needs only that)."""
    from dtsen.ranking.models import RankingResult, RankingRun

    run = RankingRun.objects.create(period="2026-Q1", cutoff=timezone.localdate(), frozen_at=timezone.now(),
                                    engine="duckdb", model_id="uji", model_sha256="0" * 64, model_artefact={},
                                    status="finished", finished_at=timezone.now())
    for i, fam in enumerate(families):
        RankingResult.objects.create(run=run, family=fam, family_code=fam.family_code, village_code=fam.village_code,
                                     region_group="uji", persons=3, score=1000 + i, predicted_pce=Decimal("500000"),
                                     percentile=Decimal("5.0") + i, desil=desil)
    return run


def _build_inputs(tmp: Path, ranking_run: Any) -> dict[str, Path]:
    from dtsen.programs.inputs import inputs_build
    from dtsen.ranking.engine.duck import duckdb_connect

    con = duckdb_connect(temp_directory=tmp / "duck.tmp")
    try:
        paths, _sha = inputs_build(con=con, out_dir=tmp / "inputs", as_of=timezone.localdate(),
                                   frozen_at=timezone.now(), ranking_run=ranking_run, period="2026-T1")
    finally:
        con.close()
    return paths


# dtsen-domain.md §2.4 (radartasik, above): the desa registers another member of the same KK as pengurus. In
# the registry, `person_record_death` of the pengurus hands the role to the eldest adult member; the next
# eligibility input marks that member as pengurus and the family stays eligible.
@pytest_db
def test_registry_death_of_pengurus_hands_over_and_family_stays_eligible(tmp_path):
    from dtsen.accounts.services import system_actor
    from dtsen.registry import choices as c
    from dtsen.registry.models import Person
    from dtsen.registry.services import family_register, person_record_death
    from tests.registry.factories import VILLAGE_A, household

    actor = system_actor()
    head, members = household(41)
    fam = family_register(actor=actor, channel=c.Channel.REGSOSEK, reason="Pendataan uji", kk_number="3401012001260041",
                          village_code=VILLAGE_A, head=head, members=members)
    wife = Person.objects.get(family=fam, relationship=c.Relationship.SPOUSE)
    husband = Person.objects.get(family=fam, relationship=c.Relationship.HEAD)
    assert fam.pengurus_id == wife.pk
    person_record_death(actor=actor, person=wife, death_date=timezone.localdate() - dt.timedelta(days=3),
                        source=c.DeathSource.DUKCAPIL, channel=c.Channel.ADMIN_MATCH, reason="Akta kematian")
    fam.refresh_from_db()
    assert fam.pengurus_id == husband.pk

    paths = _build_inputs(tmp_path, _ranking_run_for([fam], desil=2))
    persons = {r["person_id"]: r for r in pq.read_table(paths["persons"]).to_pylist()}
    assert persons[husband.pk]["is_pengurus"]
    assert persons[husband.pk]["alive"]
    assert not persons[wife.pk]["is_pengurus"]
    assert not persons[wife.pk]["alive"]
    with engine_open("duckdb") as engine:
        out = eligibility_compute(engine, paths, rules_default(), tmp_path / "out")
        rows = engine.fetch(f"SELECT program, family_id, outcome, reason, components FROM "
                            f"read_parquet('{parquet_glob(out)}') WHERE family_id = {fam.pk}").to_pylist()
    pkh = next(r for r in rows if r["program"] == "pkh")
    assert (pkh["outcome"], pkh["components"]) == ("terpilih", "smp:1")  # the SMP daughter


# Same rule, the other branch: the pengurus dies and no adult is left: no one is handed the role, and the next
# input has no living pengurus and no adult, so the family programs give pengurus_tidak_ada.
@pytest_db
def test_registry_death_without_adult_leaves_no_pengurus(tmp_path):
    from dtsen.accounts.services import system_actor
    from dtsen.registry import choices as c
    from dtsen.registry.models import Person
    from dtsen.registry.services import family_register, person_record_death
    from tests.registry.factories import VILLAGE_A
    from tests.registry.factories import person as pdata

    actor = system_actor()
    mother = pdata("34.01.01", dt.date(1985, 3, 3), "P", 51, "Sri Wahyuni", c.Relationship.HEAD)
    child = pdata("34.01.01", dt.date(2014, 6, 6), "L", 52, "Agus", c.Relationship.CHILD,
                  school_level=c.SchoolLevel.SD)
    fam = family_register(actor=actor, channel=c.Channel.REGSOSEK, reason="Pendataan uji", kk_number="3401012001260051",
                          village_code=VILLAGE_A, head=mother, members=[child])
    head = Person.objects.get(family=fam, relationship=c.Relationship.HEAD)
    person_record_death(actor=actor, person=head, death_date=timezone.localdate() - dt.timedelta(days=1),
                        source=c.DeathSource.FIELD, channel=c.Channel.GROUND_CHECK, reason="Kunjungan lapangan")
    fam.refresh_from_db()
    assert fam.pengurus_id == head.pk  # nobody could take over
    paths = _build_inputs(tmp_path, _ranking_run_for([fam], desil=1))
    with engine_open("duckdb") as engine:
        out = eligibility_compute(engine, paths, rules_default(), tmp_path / "out")
        rows = engine.fetch(f"SELECT program, outcome, reason FROM read_parquet('{parquet_glob(out)}') "
                            f"WHERE family_id = {fam.pk} AND person_id IS NULL").to_pylist()
    assert rows
    assert all((r["outcome"], r["reason"]) == ("tidak_terpilih", Reason.NO_PENGURUS) for r in rows)


# Sekolah Rakyat places are counted per kabupaten/kota (rules: requires_quota): without a quota row its valid
# pupils wait (numbered) and so keep their PIP; with places the first in desil order take them.
def test_sekolah_rakyat_without_places_selects_nobody_and_leaves_pip(tmp_path):
    fams = [family(1, 1), family(2, 2)]
    pers = [person(100, 1, 40, pengurus=True), person(101, 1, 10, school="sd"),
            person(200, 2, 40, pengurus=True), person(201, 2, 14, school="smp")]
    rows = decide(tmp_path, fams, pers)
    assert [(r["outcome"], r["reason"], r["waiting_no"]) for r in rows if r["program"] == "sekolah_rakyat"] == \
        [("daftar_tunggu", "kuota_penuh", 1), ("daftar_tunggu", "kuota_penuh", 2)]
    assert {row(rows, "pip", f, p)["outcome"] for f, p in ((1, 101), (2, 201))} == {"terpilih"}
    one_place = [{"program": "sekolah_rakyat", "regency_code": "34.01", "quota": 1}]
    rows = decide(tmp_path / "one", fams, pers, quotas=one_place)
    assert row(rows, "sekolah_rakyat", 1, 101)["outcome"] == "terpilih"
    assert row(rows, "pip", 1, 101)["reason"] == "tumpang_tindih"
    assert row(rows, "pip", 2, 201)["outcome"] == "terpilih"


# Kepmensos 73/HUK/2024 excludes ASN/TNI/Polri and their families (dtsen-domain.md §2.4): a flag on a member who
# has since died no longer excludes the family.
def test_flag_on_a_deceased_member_does_not_exclude(tmp_path):
    fams = [family(1, 1)]
    pers = [person(100, 1, 40, pengurus=True), person(101, 1, 75, alive=False), person(102, 1, 3)]
    rows = decide(tmp_path, fams, pers, exclusions=[{"person_id": 101, "family_id": 1, "category": "pensiunan"}])
    assert row(rows, "pkh", 1)["outcome"] == "terpilih"
