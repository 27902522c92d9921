"""`dtsen demo`: the main job on one machine. Creates the SQLite database, loads the regions, generates and
registers a synthetic kabupaten (default Kulon Progo, ~150k families), creates demo logins and serves the
web app. Every step is idempotent: a second run reuses what is there."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import subprocess
import sys
import time
from binascii import unhexlify
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.oath import TOTP

from dtsen.accounts.auth_selectors import requires_2fa, two_factor_device
from dtsen.accounts.auth_services import two_factor_enrol, two_factor_new_key
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

        province = region.split(".", maxsplit=1)[0]
        self._rank()
        self._eligibility()
        from dtsen.updates.demo import demo_seed, demo_village

        village = demo_village(region) or region
        logins = self._demo_users(region, village)
        password = logins["password"]
        users = get_user_model().objects
        if village != region:
            self.step("Contoh usulan / sample proposals")
            made = demo_seed(region=region, village=village, operator=users.get(username="operator.demo"),
                             dinsos=users.get(username="dinsos.demo"), worker=users.get(username="pendamping.demo"))
            self.stdout.write(f"    {made} usulan baru di desa / new proposals in village {village}")
        elapsed = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(f"Siap dalam {elapsed:,.0f} detik / ready in {elapsed:,.0f} s"))
        self.stdout.write(
            "\n  http://" + opts["addr"] + "/\n"
            f"  Pemantau, hanya baca / viewer, read-only (provinsi {province}):  pemantau.demo / {password}\n"
            f"  Dinsos (kabupaten {region}):  dinsos.demo / {password}   2FA TOTP: {logins['dinsos.demo']}\n"
            f"  Operator desa / village operator ({village}):  operator.demo / {password}"
            f"   2FA TOTP: {logins['operator.demo']}\n"
            f"  Pendamping PKH / social worker ({village.rsplit('.', 1)[0]}):  pendamping.demo / {password}"
            f"   2FA TOTP: {logins['pendamping.demo']}\n"
            f"  Penetap / ratifier (kabupaten {region}):  kadis.demo / {password}   2FA TOTP: {logins['kadis.demo']}\n"
            f"  Admin (nasional / national):  admin.demo / {password}   2FA TOTP: {logins['admin.demo']}\n"
            "  (Staf yang dapat mengubah data wajib 2FA: masukkan kunci TOTP ke aplikasi autentikator.\n"
            "   Staff who can change data need 2FA: add the TOTP key to an authenticator app.)\n"
        )
        if opts["no_serve"]:
            return
        self._serve(opts["addr"])

    def _rank(self) -> None:
        """Rank the register (desil) unless a finished run already covers it."""
        from django.utils import timezone

        from dtsen.ranking.models import RankingRun

        if RankingRun.objects.filter(status="finished").exists():
            return
        today = timezone.localdate()
        self.step("Pemeringkatan kesejahteraan (desil) / welfare ranking")
        call_command("rank", period=f"{today.year}-Q{(today.month - 1) // 3 + 1}", cutoff=today.isoformat())

    def _eligibility(self) -> None:
        """Decide this tahap's programs (PKH, Sembako, PBI-JK, PIP, ...) unless a run already exists."""
        from django.utils import timezone

        from dtsen.accounts.services import system_actor
        from dtsen.programs.models import EligibilityRun
        from dtsen.programs.services import eligibility_run

        if EligibilityRun.objects.filter(status="finished", simulation=False).exists():
            return
        today = timezone.localdate()
        period = f"{today.year}-T{(today.month - 1) // 3 + 1}"
        self.step(f"Kelayakan program bantuan / program eligibility ({period})")
        run = eligibility_run(actor=system_actor(), period=period, as_of=today)
        for program, counts in sorted(run.counts.get("programs", {}).items()):
            self.stdout.write(f"    {program:15} {counts.get('terpilih', 0):>9,} terpilih / selected")

    def _demo_users(self, region: str, village: str) -> dict[str, str]:
        """Demo logins with a fresh password on every run (printed, never stored in clear). Staff who can write
        need two-factor authentication: their TOTP secret is enrolled here and printed for an authenticator app.
        The viewer role is read-only and needs none."""
        password = os.environ.get("DTSEN_DEMO_PASSWORD") or secrets.token_urlsafe(9)
        users = get_user_model()
        out: dict[str, str] = {"password": password}
        specs = [
            ("pemantau.demo", "Pemantau Demo", "provincial_viewer", region.split(".", maxsplit=1)[0], False),
            ("dinsos.demo", "Dinsos Demo", "dinsos_supervisor", region, False),
            ("operator.demo", "Operator Desa Demo", "operator_desa", village, False),
            ("pendamping.demo", "Pendamping Demo", "pendamping_pkh", village.rsplit(".", 1)[0], False),
            ("kadis.demo", "Kepala Dinas Demo", "ratifier", region, False),
            ("admin.demo", "Admin Demo", "", "", True),
        ]
        for username, name, role, scope, superuser in specs:
            user, _ = users.objects.get_or_create(username=username, defaults={"first_name": name})
            user.is_staff = superuser
            user.is_superuser = superuser
            user.set_password(password)
            user.save()
            if role:
                role_assign(user=user, role=role, region_code=scope, reason="Akun demo / demo account")
            if requires_2fa(user):
                device = two_factor_device(user)
                if device is None:
                    key = two_factor_new_key()
                    code = TOTP(unhexlify(key.encode()), step=30, t0=0, digits=6, drift=0).token()
                    device = two_factor_enrol(actor=user, key=key, token=f"{code:06d}")
                out[username] = base64.b32encode(device.bin_key).decode("ascii")
        return out

    def _serve(self, addr: str) -> None:
        self.step("Web app (granian)")
        env = {**os.environ, "DTSEN_INSECURE_COOKIES": "1"}  # plain http on the local machine
        host, _, port = addr.rpartition(":")
        # the production server (docs/deployment.md): granian's HTTP in Rust, Django as a WSGI app
        cmd = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--host",
            host or "127.0.0.1",
            "--port",
            port,
            "--workers",
            "2",
            "--blocking-threads",
            "4",
            "--access-log",
            "dtsen.wsgi:application",
        ]
        with contextlib.suppress(KeyboardInterrupt):
            subprocess.run(cmd, env=env, check=True)  # noqa: S603 - fixed command
