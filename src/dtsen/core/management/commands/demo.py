"""`dtsen demo`: the main job on one machine. Creates the SQLite database, loads the regions, generates and
registers a synthetic kabupaten (default Kulon Progo, ~150k families), creates demo logins and serves the
web app. Every step is idempotent: a second run reuses what is there."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dtsen.accounts.services import role_assign
from dtsen.registry.models import Family

DEFAULT_REGION = "34.01"  # Kabupaten Kulon Progo, DI Yogyakarta
DEFAULT_FAMILIES = 150_000


class Command(BaseCommand):
    help = "Siapkan dan jalankan demo / set up and serve the demo (regions, synthetic kabupaten, web app)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--region", default=DEFAULT_REGION, help="kabupaten/kota code (default 34.01)")
        parser.add_argument("--families", type=int, default=DEFAULT_FAMILIES)
        parser.add_argument("--seed", type=int, default=20261128)
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="prepare only, do not start the server")

    def step(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"==> {text}"))

    def handle(self, *args: Any, **opts: Any) -> None:
        started = time.monotonic()
        region: str = opts["region"]
        families: int = opts["families"]
        if families < 1:
            raise CommandError("Jumlah keluarga harus positif / the number of families must be positive")

        self.step("Basis data / database")
        call_command("migrate", interactive=False, verbosity=0)

        self.step("Wilayah Kemendagri / Kemendagri regions")
        call_command("load_regions")

        prefix = region + "."
        present = Family.objects.filter(village_code__startswith=prefix).count()
        if present:
            self.stdout.write(f"    {present:,} keluarga sudah terdaftar / families already registered")
        else:
            out = Path(settings.DATA_DIR) / "demo" / f"{region}-{opts['seed']}"
            self.step(f"Populasi sintetis / synthetic population ({families:,} keluarga/families, {region})")
            if not (out / "manifest.json").exists():
                call_command(
                    "synth",
                    region=region,
                    families=families,
                    seed=opts["seed"],
                    out=str(out),
                    fault_duplicates=0.01,
                    fault_deceased=0.005,
                    fault_excluded=0.01,
                    fault_stale_kk=0.01,
                )
            self.step("Impor ke registri / import into the registry")
            call_command("registry_import", str(out), reason="Demo: populasi sintetis / synthetic population")

        password = self._demo_users(region)
        elapsed = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(f"Siap dalam {elapsed:,.0f} detik / ready in {elapsed:,.0f} s"))
        self.stdout.write(
            "\n  http://" + opts["addr"] + "/\n"
            f"  Login Dinsos (kabupaten {region}):  dinsos.demo / {password}\n"
            f"  Login admin (nasional / national):  admin.demo / {password}\n"
        )
        if opts["no_serve"]:
            return
        self._serve(opts["addr"])

    def _demo_users(self, region: str) -> str:
        """Two demo logins with a fresh password on every run (printed, never stored in clear)."""
        password = os.environ.get("DTSEN_DEMO_PASSWORD") or secrets.token_urlsafe(9)
        users = get_user_model()
        dinsos, _ = users.objects.get_or_create(
            username="dinsos.demo", defaults={"first_name": "Dinsos Demo"}
        )
        dinsos.set_password(password)
        dinsos.save()
        role_assign(user=dinsos, role="dinsos_supervisor", region_code=region)
        admin, _ = users.objects.get_or_create(username="admin.demo", defaults={"first_name": "Admin Demo"})
        admin.is_staff = True
        admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        return password

    def _serve(self, addr: str) -> None:
        self.step("Web app (gunicorn)")
        env = {**os.environ, "DTSEN_INSECURE_COOKIES": "1"}  # plain http on the local machine
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "dtsen.wsgi:application",
            "--bind",
            addr,
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            "-",
        ]
        with contextlib.suppress(KeyboardInterrupt):
            subprocess.run(cmd, env=env, check=True)  # noqa: S603 - fixed command
