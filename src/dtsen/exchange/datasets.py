"""What each export holds: its tables, their columns (Arrow type, description, nullability) and the SQL that
selects them. One SQL text per table runs on SQLite and PostgreSQL (only `substr`, joins and comparisons).

No table here selects a name, an address or a NIK: the family code (the stable registry id) is the link key.
A program list may add one NIK column, transformed in `services._nik_column` (masked, a keyed partner hash, or
plain for a registry.bulk holder with a partner agreement): see docs/exchange.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from dtsen.programs.models import EligibilityResult
from dtsen.ranking.models import NotRankable, RankingResult
from dtsen.registry.models import Family, Person


@dataclass(frozen=True)
class Col:
    name: str
    type: pa.DataType
    description: str
    nullable: bool = False
    sql: str = ""  # the SQL expression; the name when empty

    @property
    def expression(self) -> str:
        return self.sql or self.name


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Col, ...]
    source: str  # FROM ... (with joins), WHERE filled by the service
    run_column: str
    village_column: str
    order_by: str
    split_column: str = ""  # an indexed integer column to read in parallel ranges (PostgreSQL); "" = one stream

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])

    def select(self, where: str) -> str:
        cols = ", ".join(f"{c.expression} AS {c.name}" for c in self.columns)
        order = f" ORDER BY {self.order_by}" if self.order_by else ""
        return f"SELECT {cols} FROM {self.source} WHERE {where}{order}"  # noqa: S608


DEC_PCE = pa.decimal128(14, 2)
DEC_PCT = pa.decimal128(7, 4)

_RR = RankingResult._meta.db_table
_NR = NotRankable._meta.db_table
_ER = EligibilityResult._meta.db_table
_FAM = Family._meta.db_table
_PER = Person._meta.db_table

RANKING_RESULTS = Table(
    name="results",
    description="Every ranked family of the run with its score, desil and percentile (docs/ranking-run.md).",
    columns=(
        Col("run_id", pa.int64(), "Ranking run id", sql="r.run_id"),
        Col("family_code", pa.string(), "Stable registry id of the family (link key)", sql="r.family_code"),
        Col("province_code", pa.string(), "Province code (Kemendagri)", sql="substr(r.village_code, 1, 2)"),
        Col("regency_code", pa.string(), "Kabupaten/kota code", sql="substr(r.village_code, 1, 5)"),
        Col("district_code", pa.string(), "Kecamatan code", sql="substr(r.village_code, 1, 8)"),
        Col("village_code", pa.string(), "Desa/kelurahan code as of the cut-off", sql="r.village_code"),
        Col("region_group", pa.string(), "PMT coefficients that scored the family", sql="r.region_group"),
        Col("persons", pa.int32(), "Living members as of the cut-off", sql="r.persons"),
        Col("score", pa.int64(), "Exact score: log per-capita expenditure x 10^score_scale (manifest)", sql="r.score"),
        Col("predicted_pce", DEC_PCE, "exp(score): predicted per-capita expenditure", sql="r.predicted_pce"),
        Col("percentile", DEC_PCT, "Person-weighted national percentile (0-100)", sql="r.percentile"),
        Col("desil", pa.int8(), "National desil 1-10", sql="r.desil"),
        Col("previous_desil", pa.int8(), "Desil in the previous finished run", nullable=True, sql="r.previous_desil"),
    ),
    source=f"{_RR} r",
    run_column="r.run_id",
    village_column="r.village_code",
    split_column="r.family_id",
    order_by="",  # storage order (the run writes its results in family-code order): no 10M-row sort
)  # fmt: skip

RANKING_NOT_RANKABLE = Table(
    name="not_rankable",
    description="Families the run could not rank, one row per reason (no desil: not rankable is not poor).",
    columns=(
        Col("run_id", pa.int64(), "Ranking run id", sql="n.run_id"),
        Col("family_code", pa.string(), "Stable registry id of the family", sql="n.family_code"),
        Col("regency_code", pa.string(), "Kabupaten/kota code", sql="substr(n.village_code, 1, 5)"),
        Col("village_code", pa.string(), "Desa/kelurahan code as of the cut-off", sql="n.village_code"),
        Col("reason", pa.string(), "no_condition, no_members, missing_feature, undefined_feature, out_of_range",
            sql="n.reason"),
        Col("detail", pa.string(), "The missing or implausible inputs", sql="n.detail"),
    ),
    source=f"{_NR} n",
    run_column="n.run_id",
    village_column="n.village_code",
    order_by="",
)  # fmt: skip

PROGRAM_LIST = Table(
    name="program_list",
    description="Candidates of one program in an eligibility run: outcome, reason, queue and amount per tahap.",
    columns=(
        Col("eligibility_run_id", pa.int64(), "Eligibility run id", sql="e.run_id"),
        Col("program", pa.string(), "Program code (pkh, bpnt, pbi_jk, pip, ...)", sql="e.program"),
        Col("family_code", pa.string(), "Stable registry id of the family (link key)", sql="f.family_code"),
        Col("person_code", pa.string(), "Registry id of the person (person programs) or the pengurus",
            nullable=True, sql="p.person_code"),
        Col("province_code", pa.string(), "Province code", sql="substr(e.village_code, 1, 2)"),
        Col("regency_code", pa.string(), "Kabupaten/kota code (quota unit)", sql="e.region_code"),
        Col("village_code", pa.string(), "Desa/kelurahan code", sql="e.village_code"),
        Col("desil", pa.int8(), "Desil used by the rules", sql="e.desil"),
        Col("percentile", DEC_PCT, "Percentile used for the queue", sql="e.percentile"),
        Col("outcome", pa.string(), "terpilih, daftar_tunggu, tidak_terpilih", sql="e.outcome"),
        Col("reason", pa.string(), "Why not selected (first failing check); empty when selected", sql="e.reason"),
        Col("queue_no", pa.int32(), "Order among valid candidates", nullable=True, sql="e.queue_no"),
        Col("waiting_no", pa.int32(), "Place on the waiting list", nullable=True, sql="e.waiting_no"),
        Col("amount", pa.int64(), "Rupiah per tahap", sql="e.amount"),
        Col("components", pa.string(), "PKH components (component:count,...)", sql="e.components"),
    ),
    source=(f"{_ER} e JOIN {_FAM} f ON f.id = e.family_id "
            f"LEFT JOIN {_PER} p ON p.id = COALESCE(e.person_id, f.pengurus_id)"),
    run_column="e.run_id",
    village_column="e.village_code",
    order_by="e.village_code, f.family_code, p.person_code",
)  # fmt: skip

# The NIK column a program list may carry; its SQL reads the ciphertext, transformed per batch in Python.
NIK_SOURCE = Col("nik_enc", pa.string(), "", nullable=True, sql="p.nik_enc")
NIK_DESCRIPTIONS = {
    "masked": "NIK of the person/pengurus, masked (kecamatan and last four digits)",
    "keyed": "HMAC-SHA256(partner key, NIK) hex: a pseudonymous link key only the key holders can compute",
    "plain": "NIK of the person/pengurus in clear (registry.bulk, partner agreement in the manifest)",
}

DATASETS: dict[str, tuple[Table, ...]] = {
    "ranking": (RANKING_RESULTS, RANKING_NOT_RANKABLE),
    "program": (PROGRAM_LIST,),
}

ARROW_TYPE_NAMES = {
    pa.int8(): "int8", pa.int32(): "int32", pa.int64(): "int64", pa.string(): "string",
    DEC_PCE: "decimal(14,2)", DEC_PCT: "decimal(7,4)",
}  # fmt: skip


def type_name(t: pa.DataType) -> str:
    return ARROW_TYPE_NAMES.get(t, str(t))
