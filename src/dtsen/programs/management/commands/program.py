"""`dtsen program`: eligibility runs, policy simulations, quotas and rule editions.

    dtsen program run --period 2026-T1 [--as-of YYYY-MM-DD] [--engine duckdb|spark] [--ranking-run ID]
                      [--work-dir DIR] [--format text|json]
    dtsen program simulate --set pkh.desil_max=3 [--set pkh.amount.components.sd.annual=1200000 ...]
                      [--period 2026-T1] [--as-of YYYY-MM-DD] [--engine duckdb|spark] [--ranking-run ID]
                      [--truth ground_truth.parquet] [--changes-out DIR] [--keep-run] [--format text|json]
    dtsen program quota --period 2026-T1 --program pkh --region 34.01 --quota 12000 --reason TEXT
    dtsen program rules [--show] [--as-of YYYY-MM-DD] [--format text|json]
    dtsen program rules --add FILE.json --valid-from YYYY-MM-DD --reason TEXT

`run` decides every program for a period over the register as of a date (default today) and the latest
finished ranking run, and stores the run. `simulate` compares the rules in force with the same rules
changed by `--set program.field[.sub...]=value` (value JSON, else text; a list of components is indexed by
their code) on the same inputs, without publishing anything: selected units, cost per tahap per program and
kabupaten/kota, who gains and who loses by desil, and, with `--truth` (a synthetic population's
ground_truth.parquet), coverage of the poorest 10/20/40 %. `quota` sets a region's quota; `rules` lists the
editions, shows the one in force or adds a dated one. Everything runs as the system actor (national). A
refused operation prints its message in Indonesian and English and exits with status 1.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from dtsen.accounts.services import system_actor
from dtsen.core.errors import ApplicationError
from dtsen.programs import services as svc
from dtsen.programs.models import RuleEdition
from dtsen.programs.rules import DEFAULT_EDITION, rules_default
from dtsen.programs.simulation import ANY, CASH, POOREST, changes_parse, policy_simulate
from dtsen.ranking.engine import ENGINES
from dtsen.ranking.models import RankingRun

REGION_ROWS = 30


def _error(exc: ApplicationError) -> CommandError:
    return CommandError(f"{exc.message_id}\n{exc.message_en}")


def _date(value: str | None, name: str) -> dt.date:
    if not value:
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{name} '{value}' bukan tanggal yang sah; gunakan TTTT-BB-HH.\n"
            f"{name} '{value}' is not a date; use YYYY-MM-DD."
        ) from None


def current_period(day: dt.date) -> str:
    return f"{day.year}-T{(day.month - 1) // 3 + 1}"


def _ranking(value: int | None) -> RankingRun | None:
    if value is None:
        return None
    run = RankingRun.objects.filter(pk=value).first()
    if run is None:
        raise CommandError(f"Pemeringkatan #{value} tidak ditemukan.\nRanking run #{value} not found.")
    return run


def _rp(amount: int) -> str:
    return f"Rp{amount:,}".replace(",", ".")


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


class Command(BaseCommand):
    help = (
        "Kelayakan program, simulasi kebijakan, kuota dan edisi aturan. / "
        "Program eligibility, policy simulation, quotas and rule editions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{run,simulate,quota,rules}")
        run = sub.add_parser("run", help="proses kelayakan satu periode / eligibility run of a period")
        run.add_argument("--period", required=True, help="periode / period YYYY-Tn, e.g. 2026-T1")
        run.add_argument("--as-of", help="data per tanggal / register as of YYYY-MM-DD (default: today)")
        run.add_argument("--engine", choices=ENGINES, default="duckdb")
        run.add_argument("--ranking-run", type=int, help="pemeringkatan / ranking run id (default: the latest)")
        run.add_argument("--work-dir", help="direktori kerja / working directory (default: DATA_DIR/work)")
        run.add_argument("--format", choices=("text", "json"), default="text")

        sim = sub.add_parser("simulate", help="simulasi kebijakan / policy simulation (nothing is published)")
        sim.add_argument("--set", dest="sets", action="append", required=True, metavar="PROGRAM.FIELD=VALUE",
                         help="perubahan / change, e.g. pkh.desil_max=3 (repeatable)")
        sim.add_argument("--period", help="periode / period YYYY-Tn (default: the current tahap)")
        sim.add_argument("--as-of", help="data per tanggal / register as of YYYY-MM-DD (default: today)")
        sim.add_argument("--engine", choices=ENGINES, default="duckdb")
        sim.add_argument("--ranking-run", type=int, help="pemeringkatan / ranking run id (default: the latest)")
        sim.add_argument("--truth", help="ground_truth.parquet of a synthetic population: coverage of the poorest")
        sim.add_argument("--changes-out", help="tulis daftar yang masuk/keluar / write the gainers and losers "
                                               "(Parquet) to this directory")
        sim.add_argument("--keep-run", action="store_true",
                         help="simpan juga sebagai proses simulasi / also store a simulation run")
        sim.add_argument("--work-dir", help="direktori kerja / working directory (default: DATA_DIR/work)")
        sim.add_argument("--format", choices=("text", "json"), default="text")

        quota = sub.add_parser("quota", help="kuota wilayah / a region's quota")
        quota.add_argument("--period", required=True)
        quota.add_argument("--program", required=True)
        quota.add_argument("--region", required=True, help="kabupaten/kota, e.g. 34.01")
        quota.add_argument("--quota", type=int, required=True)
        quota.add_argument("--reason", required=True, help="alasan / reason")

        rules = sub.add_parser("rules", help="edisi aturan / rule editions (list, show, add)")
        rules.add_argument("--show", action="store_true", help="tampilkan aturan yang berlaku / show the rules")
        rules.add_argument("--as-of", help="berlaku pada / in force on YYYY-MM-DD (default: today)")
        rules.add_argument("--add", metavar="FILE", help="tambah edisi (JSON) / add an edition from a JSON file")
        rules.add_argument("--valid-from", help="berlaku mulai / valid from YYYY-MM-DD (with --add)")
        rules.add_argument("--reason", default="", help="alasan / reason (with --add)")
        rules.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            getattr(self, f"do_{action}")(options)
        except ApplicationError as exc:
            raise _error(exc) from exc

    def _bar(self, options: dict[str, Any], desc: str) -> tqdm:
        return tqdm(total=1, desc=desc, unit="proses/run",
                    disable=options.get("format") == "json" or options["verbosity"] == 0)  # fmt: skip

    # ------------------------------------------------------------------------------------------- run

    def do_run(self, options: dict[str, Any]) -> None:
        as_of = _date(options["as_of"], "--as-of")
        bar = self._bar(options, f"kelayakan / eligibility {options['period']}")
        try:
            run = svc.eligibility_run(actor=system_actor(), period=options["period"], as_of=as_of,
                                      ranking_run=_ranking(options["ranking_run"]), engine=options["engine"],
                                      work_dir=options["work_dir"])
            bar.update(1)
        finally:
            bar.close()
        if options["format"] == "json":
            self.stdout.write(json.dumps({
                "run": run.pk, "period": run.period, "as_of": run.as_of.isoformat(), "ranking_run": run.ranking_run_id,
                "edition": run.edition, "rules_sha256": run.rules_sha256, "input_sha256": run.input_sha256,
                "engine": run.engine_version, "counts": run.counts,
            }))  # fmt: skip
            return
        self.stdout.write(self.style.SUCCESS(
            f"Kelayakan #{run.pk} {run.period} selesai / eligibility run #{run.pk} {run.period} finished "
            f"({run.engine_version}; aturan / rules {run.edition}; pemeringkatan / ranking #{run.ranking_run_id})"
        ))  # fmt: skip
        self.stdout.write(f"{'program':<16} {'terpilih/selected':>18} {'tunggu/waiting':>15} "
                          f"{'tidak/not':>10} {'per tahap':>22}")
        for program, counts in run.counts.get("programs", {}).items():
            self.stdout.write(f"{program:<16} {counts.get('terpilih', 0):>18,} {counts.get('daftar_tunggu', 0):>15,} "
                              f"{counts.get('tidak_terpilih', 0):>10,} {_rp(counts.get('amount', 0)):>22}")
        self.stdout.write(f"Waktu / timings (s): {run.counts.get('timings')}")

    # -------------------------------------------------------------------------------------- simulate

    def do_simulate(self, options: dict[str, Any]) -> None:
        as_of = _date(options["as_of"], "--as-of")
        period = options["period"] or current_period(as_of)
        truth = options["truth"]
        if truth and not Path(truth).is_file():
            raise CommandError(f"Berkas '{truth}' tidak ditemukan.\nFile '{truth}' not found.")
        changes = changes_parse(options["sets"], svc.rules_in_force(as_of))
        bar = self._bar(options, "simulasi / simulation")
        try:
            report = policy_simulate(actor=system_actor(), changes=changes, period=period, as_of=as_of,
                                     ranking_run=_ranking(options["ranking_run"]), engine=options["engine"],
                                     keep_run=options["keep_run"], truth_path=truth,
                                     changes_out=options["changes_out"], work_dir=options["work_dir"])
            bar.update(1)
        finally:
            bar.close()
        if options["format"] == "json":
            self.stdout.write(json.dumps(report))
            return
        self._simulation_text(report)

    def _simulation_text(self, report: dict[str, Any]) -> None:
        ctx = report["context"]
        w = self.stdout.write
        w(self.style.SUCCESS(
            f"Simulasi / simulation {ctx['period']} (data per / as of {ctx['as_of']}, pemeringkatan / ranking "
            f"#{ctx['ranking_run']}): {report['base']['edition']} -> {report['changed']['edition']}"
        ))  # fmt: skip
        w(f"Perubahan / changes: {json.dumps(ctx['changes'], ensure_ascii=False)}")
        w("Tidak ada yang diterbitkan / nothing is published."
          + (f" Proses simulasi / simulation run #{ctx['simulation_run']}." if ctx["simulation_run"] else ""))
        w(f"{'program':<16} {'terpilih kini/now':>18} {'simulasi/sim':>13} {'masuk/gain':>11} {'keluar/lose':>12} "
          f"{'per tahap kini/now':>22} {'simulasi/sim':>22}")
        for p in report["programs"]:
            w(f"{p['program']:<16} {p['base']['selected']:>18,} {p['changed']['selected']:>13,} {p['gained']:>11,} "
              f"{p['lost']:>12,} {_rp(p['base']['amount']):>22} {_rp(p['changed']['amount']):>22}")
        fam = report["families"]
        w(f"Keluarga penerima bantuan tunai / families receiving cash: {fam['base']:,} -> {fam['changed']:,} "
          f"(masuk/gain {fam['gained']:,}, keluar/lose {fam['lost']:,})")
        moved = [d for d in report["desil"] if d["gained"] or d["lost"] or d["amount_changed"]]
        if moved:
            w("Per desil (program, desil: masuk/gain, keluar/lose, nilai berubah/amount changed):")
            for d in moved:
                w(f"  {d['program']:<16} desil {d['desil']:>2}: +{d['gained']:,} -{d['lost']:,} "
                  f"~{d['amount_changed']:,} ({_rp(d['amount_delta'])})")
        diff = [r for r in report["regions"]
                if r["base_amount"] != r["changed_amount"] or r["base_selected"] != r["changed_selected"]]
        if diff:
            w("Biaya per tahap per kabupaten/kota / cost per tahap per regency (berubah / changed):")
            for r in diff[:REGION_ROWS]:
                w(f"  {r['program']:<16} {r['regency_code']:<6} {_rp(r['base_amount']):>22} -> "
                  f"{_rp(r['changed_amount']):>22} ({r['base_selected']:,} -> {r['changed_selected']:,})")
            if len(diff) > REGION_ROWS:
                w(f"  ... {len(diff) - REGION_ROWS} lagi / more (--format json)")
        cov = report["coverage"]
        if cov:
            w(f"Cakupan orang termiskin (konsumsi sebenarnya) / coverage of the poorest persons (true consumption), "
              f"{cov['persons']:,} jiwa/persons:")
            w(f"  {'program':<16} {'':<8} " + " ".join(f"{str(p) + '%':>7}" for p in POOREST) + f" {'bocor/leak':>11}")
            for code in [*(p["program"] for p in report["programs"]), CASH, ANY]:
                for side in ("base", "changed"):
                    row = cov[side][code]
                    label = {CASH: "tunai/cash", ANY: "semua/any"}.get(code, code)
                    w(f"  {label:<16} {'kini/now' if side == 'base' else 'simulasi':<8} "
                      + " ".join(f"{_pct(row['coverage'][str(p)]):>7}" for p in POOREST)
                      + f" {_pct(row['leakage']):>11}")
        if report["changes_path"]:
            w(f"Daftar masuk/keluar / gainers and losers: {report['changes_path']}")
        w(f"Waktu / timings (s): {report['timings']}")

    # ----------------------------------------------------------------------------------------- quota

    def do_quota(self, options: dict[str, Any]) -> None:
        row = svc.quota_set(actor=system_actor(), period=options["period"], program=options["program"],
                            region_code=options["region"], quota=options["quota"], reason=options["reason"])
        self.stdout.write(self.style.SUCCESS(
            f"Kuota / quota {row.period} {row.program} {row.region_code} = {row.quota:,}"
        ))

    # ----------------------------------------------------------------------------------------- rules

    def do_rules(self, options: dict[str, Any]) -> None:
        if options["add"]:
            if not options["valid_from"]:
                raise CommandError("--valid-from wajib dengan --add.\n--valid-from is required with --add.")
            path = Path(options["add"])
            if not path.is_file():
                raise CommandError(f"Berkas '{path}' tidak ditemukan.\nFile '{path}' not found.")
            row = svc.rule_edition_add(actor=system_actor(), text=path.read_text(encoding="utf-8"),
                                       valid_from=_date(options["valid_from"], "--valid-from"),
                                       reason=options["reason"])
            self.stdout.write(self.style.SUCCESS(
                f"Edisi aturan / rule edition {row.code} berlaku mulai / valid from {row.valid_from} "
                f"(sha256 {row.sha256[:16]})"
            ))
            return
        day = _date(options["as_of"], "--as-of")
        rules = svc.rules_in_force(day)
        if options["show"]:
            if options["format"] == "json":
                self.stdout.write(rules.text)
                return
            self.stdout.write(f"Aturan berlaku per / rules in force on {day}: {rules.edition} ({rules.legal_basis})")
            self.stdout.write(f"{'program':<16} {'unit':<7} {'desil':<6} {'prioritas':>9}  nilai / amount")
            for p in rules.by_priority():
                self.stdout.write(f"{p.code:<16} {p.unit:<7} {p.desil_min}-{p.desil_max:<4} {p.priority:>9}  "
                                  f"{self._amount_text(p)}")
            for o in rules.overlap:
                self.stdout.write(f"tidak bersamaan / not together ({o.level}): {o.a} + {o.b}")
            self.stdout.write(f"pengecualian / exclusions: {', '.join(rules.exclusion_categories)}")
            return
        shipped = rules_default()
        editions: list[dict[str, Any]] = [{"code": DEFAULT_EDITION, "valid_from": shipped.valid_from,
                                           "stored": False, "sha256": shipped.sha256}]
        editions += [{"code": r.code, "valid_from": r.valid_from.isoformat(), "stored": True, "sha256": r.sha256}
                     for r in RuleEdition.objects.order_by("valid_from", "pk")]
        if options["format"] == "json":
            self.stdout.write(json.dumps({"in_force": rules.edition, "as_of": day.isoformat(), "editions": editions}))
            return
        for e in editions:
            mark = "*" if e["code"] == rules.edition else " "
            origin = "tersimpan / stored" if e["stored"] else "bawaan / shipped"
            self.stdout.write(f"{mark} {e['code']:<40} {e['valid_from']:<10}  {origin}  {e['sha256'][:16]}")
        self.stdout.write(f"* berlaku per / in force on {day}")

    @staticmethod
    def _amount_text(p: Any) -> str:
        if p.amount_kind == "components":
            comps = ", ".join(f"{c.code} {_rp(c.annual)}/th" + (f" (maks {c.cap})" if c.cap else "")
                              for c in p.components)
            return f"komponen / components, maks {p.max_components}: {comps}"
        if p.amount_kind == "monthly":
            return f"{_rp(p.monthly)}/bulan/month"
        if p.amount_kind == "by_level":
            return ", ".join(f"{k} {_rp(v)}/th" for k, v in sorted(p.by_level.items()))
        return "natura / in kind"
