"""`dtsen dci`: the DCI Social Registry API.

    dtsen dci partner add --sender-id pip.kemendikdasmen.go.id --name "PIP" --user pip-client \
        --key-id k1 --public-key pip-k1.pem [--callback-url https://pip.example/dci] \
        [--query-type idtype-value --query-type expression] [--nik]
    dtsen dci partner list
    dtsen dci partner deactivate <sender_id> --reason "..."
    dtsen dci partner key-add <sender_id> --key-id k2 --public-key pip-k2.pem
    dtsen dci partner key-revoke <sender_id> --key-id k1
    dtsen dci deliver [--loop] [--interval 5]      results of async requests to the partners' callbacks
    dtsen dci key                                   our registry id, key id and public key (give it to partners)
    dtsen dci keygen <private.pem>                  a new Ed25519 key pair (prints the public key)
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dtsen.accounts.auth_selectors import user_by_username
from dtsen.accounts.services import system_actor
from dtsen.core.errors import ApplicationError
from dtsen.dci import services
from dtsen.dci.models import QueryType
from dtsen.dci.selectors import partner_get, partner_list
from dtsen.dci.signing import private_pem, public_pem, registry_identity


class Command(BaseCommand):
    help = "DCI Social Registry API: partner add|list|deactivate|key-add|key-revoke, deliver, key, keygen"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        partner = sub.add_parser("partner", help="partner systems").add_subparsers(dest="op", required=True)
        add = partner.add_parser("add")
        add.add_argument("--sender-id", required=True)
        add.add_argument("--name", required=True)
        add.add_argument("--user", required=True, help="username whose roles give the partner's regions")
        add.add_argument("--key-id", required=True)
        add.add_argument("--public-key", required=True, type=Path, help="PEM file (Ed25519 or RSA)")
        add.add_argument("--callback-url", default="")
        add.add_argument("--query-type", action="append", dest="query_types", choices=QueryType.values)
        add.add_argument("--nik", action="store_true", help="may see full NIK and KK numbers")
        partner.add_parser("list")
        deactivate = partner.add_parser("deactivate")
        deactivate.add_argument("sender_id")
        deactivate.add_argument("--reason", required=True)
        key_add = partner.add_parser("key-add")
        key_add.add_argument("sender_id")
        key_add.add_argument("--key-id", required=True)
        key_add.add_argument("--public-key", required=True, type=Path)
        key_revoke = partner.add_parser("key-revoke")
        key_revoke.add_argument("sender_id")
        key_revoke.add_argument("--key-id", required=True)
        deliver = sub.add_parser("deliver", help="deliver due async results to the callbacks")
        deliver.add_argument("--loop", action="store_true", help="keep delivering until interrupted")
        deliver.add_argument("--interval", type=float, default=5.0)
        sub.add_parser("key", help="our registry id and public key")
        keygen = sub.add_parser("keygen", help="write a new Ed25519 private key, print its public key")
        keygen.add_argument("path", type=Path)

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            name = opts["sub"] if opts["sub"] != "partner" else f"partner_{opts['op'].replace('-', '_')}"
            getattr(self, f"_{name}")(opts)
        except ApplicationError as exc:
            raise CommandError(f"{exc.message_id} / {exc.message_en}") from None

    def _partner(self, sender_id: str) -> Any:
        partner = partner_get(sender_id=sender_id)
        if partner is None:
            raise CommandError(f"Mitra tidak ditemukan / partner not found: {sender_id}")
        return partner

    def _partner_add(self, opts: dict[str, Any]) -> None:
        user = user_by_username(opts["user"])
        if user is None:
            raise CommandError(f"Pengguna tidak ditemukan / user not found: {opts['user']}")
        partner = services.partner_register(
            actor=system_actor(), sender_id=opts["sender_id"], name=opts["name"], user=user,
            callback_url=opts["callback_url"], query_types=opts["query_types"], may_see_nik=opts["nik"],
            key_id=opts["key_id"], public_key_pem=opts["public_key"].read_text(),
        )  # fmt: skip
        self.stdout.write(self.style.SUCCESS(f"Mitra terdaftar / partner registered: {partner.sender_id}"))

    def _partner_list(self, opts: dict[str, Any]) -> None:
        for p in partner_list():
            keys = [{"key_id": k.key_id, "algorithm": k.algorithm, "active": k.active} for k in p.keys.all()]
            self.stdout.write(json.dumps({
                "sender_id": p.sender_id, "name": p.name, "user": p.user.get_username(), "active": p.active,
                "callback_url": p.callback_url, "query_types": p.query_types, "may_see_nik": p.may_see_nik,
                "keys": keys,
            }, ensure_ascii=False))  # fmt: skip

    def _partner_deactivate(self, opts: dict[str, Any]) -> None:
        services.partner_deactivate(actor=system_actor(), partner=self._partner(opts["sender_id"]),
                                    reason=opts["reason"])  # fmt: skip
        self.stdout.write(self.style.SUCCESS(f"Mitra dinonaktifkan / partner deactivated: {opts['sender_id']}"))

    def _partner_key_add(self, opts: dict[str, Any]) -> None:
        services.partner_key_add(actor=system_actor(), partner=self._partner(opts["sender_id"]),
                                 key_id=opts["key_id"], public_key_pem=opts["public_key"].read_text())  # fmt: skip
        self.stdout.write(self.style.SUCCESS(f"Kunci ditambahkan / key added: {opts['key_id']}"))

    def _partner_key_revoke(self, opts: dict[str, Any]) -> None:
        services.partner_key_revoke(actor=system_actor(), partner=self._partner(opts["sender_id"]),
                                    key_id=opts["key_id"])  # fmt: skip
        self.stdout.write(self.style.SUCCESS(f"Kunci dicabut / key revoked: {opts['key_id']}"))

    def _deliver(self, opts: dict[str, Any]) -> None:
        while True:
            delivered, failed = services.transactions_deliver_due()
            if delivered or failed or not opts["loop"]:
                self.stdout.write(f"terkirim / delivered: {delivered}, gagal / failed attempts: {failed}")
            if not opts["loop"]:
                return
            time.sleep(opts["interval"])

    def _key(self, opts: dict[str, Any]) -> None:
        me = registry_identity()
        self.stdout.write(f"registry_id: {me.registry_id}\nkey_id: {me.key_id}\n{public_pem(me.private_key)}")

    def _keygen(self, opts: dict[str, Any]) -> None:
        path: Path = opts["path"]
        if path.exists():
            raise CommandError(f"Berkas sudah ada / file exists: {path}")
        key = ed25519.Ed25519PrivateKey.generate()
        path.write_bytes(private_pem(key))
        path.chmod(0o600)
        self.stdout.write(public_pem(key))
