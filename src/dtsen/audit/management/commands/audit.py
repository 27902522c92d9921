"""`dtsen audit verify` checks the hash chain; `dtsen audit search` lists records by person, actor, region
and time."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from dtsen.audit.selectors import audit_search, audit_verify


def _date(value: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Tanggal tidak valid / invalid date: {value!r} (YYYY-MM-DD)") from None
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_current_timezone())


class Command(BaseCommand):
    help = "Jejak audit / audit trail: verify | search"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        sub.add_parser("verify", help="periksa rantai hash / check the hash chain")
        s = sub.add_parser("search", help="cari / search")
        s.add_argument("--person", type=int)
        s.add_argument("--actor", default="")
        s.add_argument("--region", default="")
        s.add_argument("--action", default="")
        s.add_argument("--since", type=_date)
        s.add_argument("--until", type=_date)
        s.add_argument("--limit", type=int, default=100)

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["sub"] == "verify":
            breaks = list(audit_verify())
            if breaks:
                for b in breaks[:50]:
                    self.stderr.write(f"  #{b.seq}: {b.problem}")
                raise CommandError(
                    f"Rantai audit RUSAK di {len(breaks)} tempat / audit chain BROKEN at {len(breaks)} places"
                )
            self.stdout.write(self.style.SUCCESS("Rantai audit utuh / audit chain intact"))
            return
        rows = audit_search(
            person_id=opts["person"],
            actor_username=opts["actor"],
            region=opts["region"],
            action=opts["action"],
            since=opts["since"],
            until=opts["until"],
        )[: opts["limit"]]
        for rec in rows:
            self.stdout.write(
                json.dumps(
                    {
                        "seq": rec.seq,
                        "at": rec.at.isoformat(),
                        "actor": rec.actor_username,
                        "roles": rec.roles,
                        "region": rec.region,
                        "action": rec.action,
                        "object": f"{rec.object_type}:{rec.object_id}",
                        "reason": rec.reason,
                        "channel": rec.channel,
                        "ip": rec.ip,
                    },
                    ensure_ascii=False,
                )
            )
