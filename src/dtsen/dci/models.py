"""Partner systems of the DCI Social Registry API, their signing keys, the message ids seen (replay
protection) and the asynchronous transactions with their delivery to the partner's callback."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class QueryType(models.TextChoices):
    """`search_criteria.query_type` of the standard."""

    IDTYPE_VALUE = "idtype-value", _("Identifier (NIK, KK number)")
    EXPRESSION = "expression", _("Expression")
    PREDICATE = "predicate", _("Predicate list")


class Partner(models.Model):
    """A registered system (a ministry's program system, a regional SPMIS...) allowed to search the registry.

    It acts as `user`: that user's role assignments give the regions and permissions of every search (a
    system client whose roles read the registry, e.g. provincial_viewer of 34 or pusdatin nationally), so a
    partner sees exactly what that user would see on the pages."""

    sender_id = models.CharField(max_length=100, unique=True, help_text="header.sender_id of its messages")
    name = models.CharField(max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dci_partners")
    callback_url = models.URLField(
        max_length=300, blank=True, help_text="Base URL: results go to <base>/registry/on-search"
    )
    query_types = models.JSONField(default=list, help_text="Allowed query types (QueryType values)")
    may_see_nik = models.BooleanField(
        default=False, help_text="Full NIK and KK numbers in results; otherwise masked (340101******0012)"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("DCI partner")
        verbose_name_plural = _("DCI partners")

    def __str__(self) -> str:
        return f"dci:{self.sender_id}"


class PartnerKey(models.Model):
    """A public key of a partner (several at a time during a rotation), named by `key_id` in kidId."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="keys")
    key_id = models.CharField(max_length=64)
    algorithm = models.CharField(max_length=12, help_text="ed25519 or rsa-sha256")
    public_key_pem = models.TextField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("DCI partner key")
        verbose_name_plural = _("DCI partner keys")
        constraints = [models.UniqueConstraint(fields=["partner", "key_id"], name="uniq_dci_partner_key")]

    def __str__(self) -> str:
        return f"{self.partner_id}:{self.key_id}"


class SeenMessage(models.Model):
    """A message id a partner has used: a second message with it is refused (rjct.message_id.duplicate).
    Kept until its signature expires (a message cannot be replayed after that anyway), then purged."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=100)
    received_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("DCI message id seen")
        verbose_name_plural = _("DCI message ids seen")
        constraints = [
            models.UniqueConstraint(fields=["partner", "message_id"], name="uniq_dci_seen_message")
        ]

    def __str__(self) -> str:
        return f"{self.partner_id}:{self.message_id}"


class TxnKind(models.TextChoices):
    SEARCH = "search", _("Search")
    TXN_STATUS = "txn-status", _("Transaction status")


class TxnStatus(models.TextChoices):
    """The standard's request status (MsgCallbackHeader.status)."""

    RECEIVED = "rcvd", _("Received")
    PENDING = "pdng", _("Pending")
    SUCCESS = "succ", _("Success")
    REJECTED = "rjct", _("Rejected")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for delivery")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Given up")


class Transaction(models.Model):
    """An asynchronous request (`/registry/search`, `/registry/txn/status`): acknowledged at once, answered
    later by a POST to the partner's callback (`dtsen dci deliver`). The request is kept encrypted (it may
    hold a NIK) until delivered; `items` keeps, per reference_id, only the status and the number of records
    (what txn/status reports), never the records."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(max_length=12, choices=TxnKind.choices, default=TxnKind.SEARCH)
    transaction_id = models.CharField(max_length=99, blank=True, help_text="The partner's")
    correlation_id = models.CharField(max_length=99, unique=True, help_text="Ours")
    message_id = models.CharField(max_length=100)
    request_enc = models.TextField(blank=True, help_text="The message, AES-GCM; emptied once delivered")
    status = models.CharField(max_length=4, choices=TxnStatus.choices, default=TxnStatus.PENDING)
    items = models.JSONField(default=list, blank=True)
    delivery_status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("DCI transaction")
        verbose_name_plural = _("DCI transactions")
        indexes = [models.Index(fields=["partner", "transaction_id"], name="dci_txn_partner_txnid")]

    def __str__(self) -> str:
        return f"{self.partner_id}:{self.kind}:{self.correlation_id}:{self.status}"
