"""`dtsen two_factor reset USERNAME --reason ...`: remove a user's authenticator device (lost phone) from the
server's shell, e.g. for the last superuser. Audited, with the system account as the actor."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dtsen.accounts.auth_selectors import user_by_username
from dtsen.accounts.auth_services import two_factor_reset
from dtsen.accounts.services import system_actor
from dtsen.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Autentikasi dua faktor / two-factor authentication: reset"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        reset = sub.add_parser("reset", help="atur ulang / reset (the user enrols again at the next login)")
        reset.add_argument("username")
        reset.add_argument("--reason", required=True)

    def handle(self, *args: Any, **opts: Any) -> None:
        user = user_by_username(opts["username"])
        if user is None:
            raise CommandError(f"Pengguna tidak ditemukan / user not found: {opts['username']}")
        try:
            count = two_factor_reset(actor=system_actor(), user=user, reason=opts["reason"])
        except ApplicationError as exc:
            raise CommandError(f"{exc.message_id} / {exc.message_en}") from None
        self.stdout.write(
            self.style.SUCCESS(f"{count} perangkat dihapus / devices removed for {user.get_username()}")
        )
