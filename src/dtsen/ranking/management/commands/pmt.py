"""`dtsen pmt fit | evaluate | explain`: fit, evaluate and explain proxy-means-test models.

    dtsen pmt fit --survey FILE [--spec SPEC] --out MODEL [--kind linear|boosting] [--folds 5] [--seed 0]
                  [--shrinkage X] [--format text|json]
    dtsen pmt evaluate [--model MODEL] --survey FILE [--format text|json] [--report-dir DIR]
                  [--coverages 0.1,0.2,0.3,0.4]
    dtsen pmt explain [--model MODEL] --survey FILE --row N [--lang id|en] [--top 8]

Without --spec / --model the shipped default spec (alatas45) / default model is used.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dtsen.ranking import pmt
from dtsen.ranking.pmt.artefact import KIND_BOOSTING, KIND_LINEAR
from dtsen.ranking.pmt.evaluate import DEFAULT_COVERAGES, Evaluation
from dtsen.ranking.pmt.explain import signed
from dtsen.ranking.pmt.report import write_report

KIND_CHOICES = {"linear": KIND_LINEAR, "boosting": KIND_BOOSTING}


class Command(BaseCommand):
    help = (
        "Model PMT: fit, evaluasi, penjelasan. / PMT models: fit, evaluate, explain. "
        "Subcommands: fit, evaluate, explain."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, title="subcommands")

        fit = sub.add_parser("fit", help="Latih model / fit a model (with grouped cross-validation)")
        fit.add_argument("--survey", required=True, help="CSV/Parquet: per-capita consumption and indicators")
        fit.add_argument("--spec", help="feature spec JSON (default: shipped alatas45.json)")
        fit.add_argument("--out", required=True, help="where to write the model artefact (JSON)")
        fit.add_argument("--kind", choices=sorted(KIND_CHOICES), default="linear")
        fit.add_argument("--folds", type=int, default=5, help="outer grouped CV folds (default 5)")
        fit.add_argument(
            "--inner-folds", type=int, default=3, help="inner grouped CV folds for tuning (default 3)"
        )
        fit.add_argument("--seed", type=int, default=0)
        fit.add_argument(
            "--shrinkage",
            type=float,
            help="fix the regional shrinkage (pseudo-households; 'inf' = pooled slopes)",
        )
        fit.add_argument("--format", choices=("text", "json"), default="text")

        evaluate = sub.add_parser("evaluate", help="Evaluasi model / evaluate a model on a survey")
        evaluate.add_argument("--model", help="model artefact JSON (default: the shipped default model)")
        evaluate.add_argument(
            "--survey", required=True, help="CSV/Parquet with the columns of the training extract"
        )
        evaluate.add_argument("--format", choices=("text", "json"), default="text")
        evaluate.add_argument("--report-dir", help="write a Markdown report with PNG plots here")
        evaluate.add_argument("--coverages", default=",".join(f"{c:g}" for c in DEFAULT_COVERAGES))

        explain = sub.add_parser(
            "explain", help="Mengapa desil ini / why this desil: contributions of one row"
        )
        explain.add_argument("--model", help="model artefact JSON (default: the shipped default model)")
        explain.add_argument("--survey", required=True)
        explain.add_argument("--row", type=int, required=True, help="0-based row number in the survey file")
        explain.add_argument("--lang", choices=("id", "en"), default="id")
        explain.add_argument("--top", type=int, default=8)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "fit":
                self._fit(options)
            elif action == "evaluate":
                self._evaluate(options)
            else:
                self._explain(options)
        except pmt.PmtError as exc:
            raise CommandError(f"{exc.message_id}\n{exc.message_en}") from exc

    # -- fit ----------------------------------------------------------------------------------------

    def _fit(self, options: dict[str, Any]) -> None:
        spec = pmt.load_spec(options["spec"] or pmt.default_spec_path())
        survey = pmt.survey_read(options["survey"])
        if options["folds"] < 2 or options["inner_folds"] < 2:
            raise CommandError("Jumlah lipatan minimal 2.\nThe number of folds must be at least 2.")
        config = pmt.FitConfig(
            kind=KIND_CHOICES[options["kind"]],
            folds=options["folds"],
            inner_folds=options["inner_folds"],
            seed=options["seed"],
            shrinkage=options["shrinkage"],
        )
        model = pmt.pmt_fit(survey=survey, spec=spec, config=config)
        path = model.save(options["out"])
        cv = model.metrics["cv"]
        if options["format"] == "json":
            self.stdout.write(
                json.dumps({"model": str(path), "model_id": model.model_id, "cv": cv}, allow_nan=False)
            )
            return
        self.stdout.write(f"Model disimpan ke / model saved to: {path}")
        self.stdout.write(f"ID model / model id: {model.model_id}")
        self.stdout.write(
            f"Validasi silang berkelompok / grouped cross-validation: {config.folds} lipatan/folds "
            f"menurut/by '{spec.group_column}', seed {config.seed} (di luar sampel / out of sample)"
        )
        self._write_metrics(cv)

    # -- evaluate -----------------------------------------------------------------------------------

    def _evaluate(self, options: dict[str, Any]) -> None:
        model = pmt.load_model(options["model"]) if options["model"] else pmt.load_default_model()
        coverages = _parse_coverages(options["coverages"])
        survey = pmt.survey_read(options["survey"])
        result = pmt.model_evaluate(model, survey.frame, coverages)
        report_path = None
        if options["report_dir"]:
            report_path = write_report(
                options["report_dir"],
                evaluation=result.evaluation,
                model=model,
                actual_log=result.actual_log,
                predicted_log=result.predicted_log,
                survey_name=survey.name,
                survey_sha256=survey.sha256,
            )
        in_sample = model.training.get("sha256") == survey.sha256
        if options["format"] == "json":
            payload = {
                "model_id": model.model_id,
                "survey_sha256": survey.sha256,
                "survey_is_training_data": in_sample,
                **result.evaluation.to_dict(),
            }
            self.stdout.write(json.dumps(payload, allow_nan=False))
            if report_path is not None:
                self.stderr.write(f"Laporan / report: {report_path}")
            return
        self.stdout.write(f"Model: {model.model_id}")
        self.stdout.write(f"Survei / survey: {survey.name} (n = {result.evaluation.n})")
        if in_sample:
            self.stdout.write(
                "Peringatan: survei ini adalah data latih model, angka berikut dalam-sampel (optimistis).\n"
                "Warning: this survey is the model's training data; the figures below are in-sample "
                "(optimistic). Out-of-sample figures: `metrics.cv` in the model file."
            )
        self._write_metrics(_as_dict(result.evaluation))
        if report_path is not None:
            self.stdout.write(f"Laporan ditulis ke / report written to: {report_path}")

    # -- explain ------------------------------------------------------------------------------------

    def _explain(self, options: dict[str, Any]) -> None:
        model = pmt.load_model(options["model"]) if options["model"] else pmt.load_default_model()
        survey = pmt.survey_read(options["survey"])
        row = options["row"]
        if not 0 <= row < len(survey.frame):
            raise CommandError(
                f"Baris {row} tidak ada (berkas berisi {len(survey.frame)} baris).\n"
                f"Row {row} does not exist (the file has {len(survey.frame)} rows)."
            )
        raw = survey.frame.iloc[row].to_dict()
        explanation = pmt.explain_family(model, raw).grouped(model.spec)
        lang = options["lang"]
        score = float(explanation.score)
        unit = model.spec.target_unit_id if lang == "id" else model.spec.target_unit_en
        self.stdout.write(
            f"Skor / score (log konsumsi per kapita / log per-capita consumption): {score:.4f} "
            f"(≈ {math.exp(score):,.0f} {unit})"
        )
        self.stdout.write(
            f"Keluarga rata-rata / average family: {float(explanation.baseline):.4f}; "
            f"selisih / difference {signed(explanation.total(), 4)}; "
            f"kelompok wilayah / region group: {explanation.region_group}"
        )
        for line in explanation.lines(lang, n=options["top"]):
            self.stdout.write(f"  {line}")

    # -- output -------------------------------------------------------------------------------------

    def _write_metrics(self, metrics: dict[str, Any]) -> None:
        self.stdout.write(
            f"R² (log konsumsi / log consumption): {metrics['r2']:.3f}   Spearman: {metrics['spearman']:.3f}"
        )
        self.stdout.write(
            "cakupan/coverage  tingkat kesalahan/error rate  inklusi/inclusion  eksklusi/exclusion  "
            "IER    EER"
        )
        for entry in metrics["coverage"].values():
            self.stdout.write(
                f"{entry['coverage']:>16.0%}  {_f(entry['error_rate']):>28}  "
                f"{_f(entry['inclusion_error']):>17}  "
                f"{_f(entry['exclusion_error']):>18}  {_f(entry['ier']):>5}  {_f(entry['eer']):>5}"
            )


def _as_dict(evaluation: Evaluation) -> dict[str, Any]:
    return evaluation.to_dict()


def _f(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _parse_coverages(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise CommandError(
            f"Cakupan tidak sah: {text!r} (contoh: 0.1,0.2,0.3).\n"
            f"Invalid coverages: {text!r} (e.g. 0.1,0.2,0.3)."
        ) from exc
    if not values or not all(0 < v < 1 for v in values):
        raise CommandError(
            "Setiap cakupan harus di antara 0 dan 1.\nEvery coverage must lie between 0 and 1."
        )
    return values
