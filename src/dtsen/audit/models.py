"""The audit trail: append-only, tamper-evident records of every write and every staff read of personal data.

Each record is chained to the previous one: hash = SHA-256(previous hash || canonical JSON of the record).
Changing, inserting or deleting any row breaks the chain from that row on (`dtsen audit verify`). The single
`AuditHead` row serialises appends (its row lock) so the chain has no forks. On PostgreSQL one append is one
statement (the head's UPDATE computes the new hash with sha256() and feeds the INSERT), so the lock is held for
one round trip instead of four; elsewhere SELECT ... FOR UPDATE, then the INSERT and the head's UPDATE.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS = "0" * 64


class AuditRecord(models.Model):
    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150, blank=True)
    roles = models.CharField(max_length=200, blank=True)
    region = models.CharField(max_length=200, blank=True, db_index=True)
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    persons = models.TextField(blank=True, help_text="Ids of the persons concerned, as ',12,34,'")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    channel = models.CharField(max_length=20, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditHead(models.Model):
    """One row: the last sequence number and hash of the chain."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS)
    prev_hash = models.CharField(
        max_length=64, default=GENESIS, help_text="The hash before the last append (PostgreSQL's one-statement append)."
    )

    def __str__(self) -> str:
        return f"head #{self.seq}"
