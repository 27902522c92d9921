"""The stored first response of each write of the API, for its `Idempotency-Key` (see idempotency.py)."""

from __future__ import annotations

from django.db import models


class IdempotencyRecord(models.Model):
    """One write of one token: the key the client chose, a hash of what it sent, and the answer it got.

    A row without `status` is a write in progress (its transaction has not committed)."""

    token = models.ForeignKey("accounts.ApiToken", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    request_sha256 = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="uniq_api_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.token_id}:{self.key}"
