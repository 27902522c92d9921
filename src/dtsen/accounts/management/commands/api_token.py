"""`dtsen api_token issue|revoke|list`: API tokens of system clients. The clear token is printed once, at
issue; only its hash is kept. Issue and revoke are audited (the actor is the system account: the server's
shell)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from dtsen.accounts.auth_selectors import api_token_get, api_token_list, user_by_username
from dtsen.accounts.auth_services import TOKEN_MAX_DAYS, api_token_issue, api_token_revoke
from dtsen.accounts.services import system_actor
from dtsen.core.errors import ApplicationError


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Tanggal tidak valid / invalid date: {value!r} (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Token API klien sistem / API tokens of system clients: issue | revoke | list"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        issue = sub.add_parser("issue", help="terbitkan / issue (the token is shown once)")
        issue.add_argument("--user", required=True, help="username of the client account")
        issue.add_argument("--name", required=True, help="what the client is, e.g. 'SIKS-NG Kulon Progo'")
        issue.add_argument(
            "--scope",
            action="append",
            required=True,
            dest="scopes",
            help="a permission of the matrix, e.g. registry.view (repeat for more)",
        )
        until = issue.add_mutually_exclusive_group(required=True)
        until.add_argument("--days", type=int, help=f"valid for this many days (at most {TOKEN_MAX_DAYS})")
        until.add_argument("--expires", type=_date, help="valid until the end of this day (YYYY-MM-DD)")
        revoke = sub.add_parser("revoke", help="cabut / revoke")
        revoke.add_argument("prefix", help="the token's prefix (shown by `list`)")
        revoke.add_argument("--reason", required=True)
        listing = sub.add_parser("list", help="daftar / list")
        listing.add_argument("--user", default="")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"_{opts['sub']}")(opts)
        except ApplicationError as exc:
            raise CommandError(f"{exc.message_id} / {exc.message_en}") from None

    def _issue(self, opts: dict[str, Any]) -> None:
        user = user_by_username(opts["user"])
        if user is None:
            raise CommandError(f"Pengguna tidak ditemukan / user not found: {opts['user']}")
        if opts["days"] is not None:
            expires_at = timezone.now() + dt.timedelta(days=opts["days"])
        else:
            end = dt.datetime.combine(opts["expires"], dt.time.max)
            expires_at = timezone.make_aware(end)
        issued = api_token_issue(
            actor=system_actor(), user=user, name=opts["name"], scopes=opts["scopes"], expires_at=expires_at
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Token {issued.token.prefix} untuk / for {user.get_username()}, "
                f"berlaku sampai / valid until {timezone.localtime(issued.token.expires_at):%Y-%m-%d %H:%M}"
            )
        )
        self.stdout.write(
            "Simpan sekarang, tidak akan ditampilkan lagi / store it now, it is not shown again:"
        )
        self.stdout.write(issued.secret)

    def _revoke(self, opts: dict[str, Any]) -> None:
        token = api_token_revoke(
            actor=system_actor(), token=api_token_get(prefix=opts["prefix"]), reason=opts["reason"]
        )
        self.stdout.write(self.style.SUCCESS(f"Token {token.prefix} dicabut / revoked"))

    def _list(self, opts: dict[str, Any]) -> None:
        user_id = None
        if opts["user"]:
            user = user_by_username(opts["user"])
            if user is None:
                raise CommandError(f"Pengguna tidak ditemukan / user not found: {opts['user']}")
            user_id = user.pk
        now = timezone.now()
        for token in api_token_list(user_id=user_id):
            state = "revoked" if token.revoked_at else "expired" if token.expires_at <= now else "active"
            self.stdout.write(
                json.dumps(
                    {
                        "prefix": token.prefix,
                        "name": token.name,
                        "user": token.user.get_username(),
                        "scopes": token.scopes,
                        "state": state,
                        "expires_at": token.expires_at.isoformat(),
                        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
                    },
                    ensure_ascii=False,
                )
            )
