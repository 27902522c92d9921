"""Ranking runs: the national welfare ranking (desil) of one period, frozen and immutable once finished.

A run records what it ranked and how (period, cut-off, the instant the registry was frozen at, the engine
and its version, the PMT model's id, sha256 and full artefact, the sha256 of its input snapshot), the
cut-points of every desil and, per family, the integer-scaled score, the predicted per-capita expenditure,
the person-weighted national percentile, the desil and the desil of the previous run. A family that could
not be ranked is listed in `NotRankable` with its reason, never given a desil. `RankingDiff` counts, per
kabupaten/kota, the families that crossed each desil boundary since the previous run.

Nothing here is ever updated once the run is finished: `services.py` refuses it (status machine
running -> finished | failed); there is no business logic in `save()`. See docs/ranking-run.md.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed")


class EngineName(models.TextChoices):
    DUCKDB = "duckdb", _("DuckDB (embedded)")
    SPARK = "spark", _("Apache Spark")


class RankMethod(models.TextChoices):
    WINDOW = "window", _("One global window")
    TWO_LEVEL = "two_level", _("Two-level (bucket counts, prefix sums, rank within bucket)")


class NotRankableReason(models.TextChoices):
    NO_CONDITION = "no_condition", _("No condition snapshot as of the cut-off")
    NO_MEMBERS = "no_members", _("No living member as of the cut-off")
    MISSING_FEATURE = "missing_feature", _("A required model input is missing")
    UNDEFINED_FEATURE = "undefined_feature", _("A model feature is undefined (e.g. division by zero)")
    OUT_OF_RANGE = "out_of_range", _("A model feature is outside the plausible range")


class RankingRun(models.Model):
    period = models.CharField(max_length=7, db_index=True, help_text="YYYY-Qn, e.g. 2026-Q1")
    cutoff = models.DateField(help_text="Registry as of the end of this day (Asia/Jakarta)")
    frozen_at = models.DateTimeField(
        help_text="Upper bound of the changes included: end of the cut-off day, or the run's start if earlier"
    )
    engine = models.CharField(max_length=10, choices=EngineName.choices)
    engine_version = models.CharField(max_length=40, blank=True)
    method = models.CharField(max_length=10, choices=RankMethod.choices, default=RankMethod.WINDOW)
    model_id = models.CharField(max_length=160)
    model_sha256 = models.CharField(max_length=64)
    model_artefact = models.JSONField(help_text="The full PMT model artefact used (for explanations later)")
    score_scale = models.PositiveSmallIntegerField(
        default=12, help_text="Scores are integers: log per-capita expenditure x 10^score_scale"
    )
    input_sha256 = models.CharField(max_length=64, blank=True, help_text="sha256 of the frozen snapshot")
    cut_points = models.JSONField(default=list, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    diff_summary = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    previous_run = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("ranking run")
        verbose_name_plural = _("ranking runs")
        indexes = [models.Index(fields=["status", "finished_at"], name="ranking_run_status_finished")]

    def __str__(self) -> str:
        return f"{self.period} #{self.pk} ({self.status})"

    def score_decimal(self, score: int) -> Decimal:
        return Decimal(score).scaleb(-self.score_scale)


class RankingResult(models.Model):
    """One ranked family of a run. `score` is exact: log per-capita expenditure x 10^run.score_scale."""

    run = models.ForeignKey(RankingRun, on_delete=models.PROTECT, related_name="results", db_index=False)
    family = models.ForeignKey("registry.Family", on_delete=models.PROTECT, related_name="+")
    family_code = models.CharField(max_length=24)
    village_code = models.CharField(max_length=13, help_text="As of the cut-off")
    region_group = models.CharField(max_length=20, help_text="Which model coefficients scored it")
    persons = models.PositiveIntegerField()
    score = models.BigIntegerField()
    predicted_pce = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="exp(score), in the model's target unit"
    )
    percentile = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        help_text="Person-weighted national percentile (0-100) of its midpoint",
    )
    desil = models.PositiveSmallIntegerField()
    previous_desil = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("ranking result")
        verbose_name_plural = _("ranking results")
        constraints = [models.UniqueConstraint(fields=["run", "family"], name="uniq_ranking_result")]

    def __str__(self) -> str:
        return f"{self.family_code}: desil {self.desil}"


class NotRankable(models.Model):
    """A family the run could not rank, with the reason (one row per reason). It gets no desil."""

    run = models.ForeignKey(RankingRun, on_delete=models.PROTECT, related_name="not_rankable", db_index=False)
    family = models.ForeignKey("registry.Family", on_delete=models.PROTECT, related_name="+")
    family_code = models.CharField(max_length=24)
    village_code = models.CharField(max_length=13)
    reason = models.CharField(max_length=20, choices=NotRankableReason.choices)
    detail = models.CharField(max_length=300, blank=True, help_text="e.g. the missing inputs")

    class Meta:
        verbose_name = _("family not rankable")
        verbose_name_plural = _("families not rankable")
        constraints = [models.UniqueConstraint(fields=["run", "family", "reason"], name="uniq_not_rankable")]
        indexes = [models.Index(fields=["run", "village_code"], name="not_rankable_run_village")]

    def __str__(self) -> str:
        return f"{self.family_code}: {self.reason}"


class RankingDiff(models.Model):
    """Per kabupaten/kota: families that crossed each desil boundary since the previous run.

    `up[k-1]` counts families whose previous desil was <= k and current desil > k (boundary k between desil
    k and k+1, k = 1..9); `down[k-1]` the reverse. `entered`: ranked now, not in the previous run;
    `left`: ranked in the previous run, not now (removed or not rankable)."""

    run = models.ForeignKey(RankingRun, on_delete=models.PROTECT, related_name="diffs")
    region_code = models.CharField(max_length=13)
    ranked = models.PositiveIntegerField(default=0)
    same = models.PositiveIntegerField(default=0)
    up = models.JSONField(default=list)
    down = models.JSONField(default=list)
    entered = models.PositiveIntegerField(default=0)
    left = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("ranking difference")
        verbose_name_plural = _("ranking differences")
        constraints = [models.UniqueConstraint(fields=["run", "region_code"], name="uniq_ranking_diff")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.region_code}"
