"""Linkage runs, the review queue of candidate duplicate pairs, remembered decisions and reversible merges.

A run (`LinkageRun`) scores the persons of one region with trained parameters (kept in the run, with their
sha256) and stores every pair with at least `review_bits` of evidence as a `CandidatePair`, unless the two
persons already have a `PairDecision` (merged or dismissed: the decision is remembered by the unordered pair
of person ids, so a dismissed pair never comes back) or are already pending in the queue. A merge deactivates
the absorbed record through the registry's own services and keeps in `Merge` what is needed to undo it.
See docs/linkage.md, "Review and merge".
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    RUNNING = "berjalan", _("Running")
    DONE = "selesai", _("Done")
    FAILED = "gagal", _("Failed")


class PairStatus(models.TextChoices):
    PENDING = "menunggu", _("Pending review")
    MERGED = "digabung", _("Merged")
    DISMISSED = "ditolak", _("Not a duplicate")


class MergeAction(models.TextChoices):
    PERSON = "person_remove", _("Person record deactivated")
    FAMILY = "family_remove", _("Single-member family deactivated")


class LinkageRun(models.Model):
    """One deduplication run over the persons of a region."""

    region_code = models.CharField(max_length=13, db_index=True)
    engine = models.CharField(max_length=10)
    model_name = models.CharField(max_length=40)
    params = models.JSONField()
    params_sha256 = models.CharField(max_length=64)
    trained_here = models.BooleanField(default=False, help_text="The parameters were trained by this run.")
    review_bits = models.FloatField()
    match_bits = models.FloatField()
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    persons = models.PositiveIntegerField(default=0)
    pairs_scored = models.PositiveIntegerField(default=0, help_text="Pairs at or above the review threshold.")
    pairs_queued = models.PositiveIntegerField(default=0)
    pairs_skipped = models.PositiveIntegerField(default=0, help_text="Already decided or already pending.")
    clusters = models.PositiveIntegerField(default=0, help_text="Clusters of more than one person.")
    info = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("linkage run")
        verbose_name_plural = _("linkage runs")

    def __str__(self) -> str:
        return f"{self.region_code} {self.engine} {self.started_at:%Y-%m-%d %H:%M}"


class CandidatePair(models.Model):
    """A likely duplicate for review: `person_a` has the smaller id; `region_code` is the kabupaten of
    `person_a`, the queue it appears in."""

    run = models.ForeignKey(LinkageRun, on_delete=models.PROTECT, related_name="pairs")
    person_a = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    person_b = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    evidence = models.FloatField(help_text="Evidence for a match in bits (match weight minus the prior).")
    match_probability = models.FloatField()
    region_code = models.CharField(max_length=13, db_index=True)
    status = models.CharField(max_length=10, choices=PairStatus.choices, default=PairStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("candidate duplicate pair")
        verbose_name_plural = _("candidate duplicate pairs")
        indexes = [models.Index(fields=["region_code", "status", "-evidence"], name="pair_queue")]
        constraints = [
            models.CheckConstraint(condition=Q(person_a__lt=F("person_b")), name="pair_ordered"),
            models.UniqueConstraint(
                fields=["person_a", "person_b"], condition=Q(status="menunggu"), name="uniq_pending_pair"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_a_id}~{self.person_b_id} ({self.evidence:.1f} bits, {self.status})"


class PairDecision(models.Model):
    """The remembered decision on an unordered pair of persons (`person_low` < `person_high`)."""

    person_low = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    person_high = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=PairStatus.choices)
    pair = models.ForeignKey(CandidatePair, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField()
    reason = models.CharField(max_length=300)

    class Meta:
        verbose_name = _("pair decision")
        verbose_name_plural = _("pair decisions")
        constraints = [
            models.UniqueConstraint(fields=["person_low", "person_high"], name="uniq_pair_decision"),
            models.CheckConstraint(condition=Q(person_low__lt=F("person_high")), name="decision_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.person_low_id}~{self.person_high_id}: {self.decision}"


class Merge(models.Model):
    """A merge of a pair: `absorbed` was deactivated (or its single-member family was) in favour of `kept`.
    `snapshot` holds the status fields before the merge, enough to restore them exactly on undo."""

    pair = models.OneToOneField(CandidatePair, on_delete=models.PROTECT, related_name="merge")
    kept = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    absorbed = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=14, choices=MergeAction.choices)
    snapshot = models.JSONField()
    reason = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    undo_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")

    def __str__(self) -> str:
        return f"{self.absorbed_id} -> {self.kept_id}{' (undone)' if self.undone_at else ''}"
