"""Fixtures of the dashboard tests: two kabupaten of DI Yogyakarta with everything a dashboard counts.

Kulon Progo (34.01): 5 families in Jangkaran (Temon, VILLAGE_A) "T0".."T4", 3 in Karangwuni (Wates,
VILLAGE_B) "W0".."W2"; Bantul (34.02): 4 families in Poncosari (Srandakan) "B0".."B3". Each family is the
household of tests/registry/factories (head, wife, a daughter; NIKs that parse, encrypted and blind-indexed as
the registry stores them), written with bulk inserts plus one history version per row as the importer does
(the services would take ten times longer and are not what is under test); runs, results, queue items and
visits are written directly, with the dates chosen relative to TODAY so that ages and deadlines are fixed.

Every Bantul row is chosen so that a leak of Bantul into a Kulon Progo dashboard changes a number. The
expected numbers are worked out by hand in the docstring of each test module (tests/dashboards/expected.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from dtsen.accounts.models import CitizenAccount, CitizenStatus, MatchResult, Role
from dtsen.accounts.services import role_assign, system_actor
from dtsen.programs.models import (
    Decree,
    Disbursement,
    EligibilityResult,
    EligibilityRun,
    Membership,
    MembershipStatus,
    Outcome,
    RunStatus,
)
from dtsen.programs.rules import shipped_text
from dtsen.ranking.models import NotRankable, RankingResult, RankingRun
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_encrypt, nik_hash
from dtsen.registry.models import Family, Person
from dtsen.updates.models import (
    Submission,
    SubmissionKind,
    SubmissionStatus,
    Usulan,
    UsulanKind,
    UsulanStatus,
    Visit,
    VisitStatus,
)
from tests.registry.factories import VILLAGE_A, VILLAGE_B, household

VILLAGE_BANTUL = "34.02.01.2001"  # Poncosari, Srandakan, Bantul
TODAY = dt.date(2026, 11, 28)
PASSWORD = "kata-sandi-staf-2025"


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """Argon2 costs a second per user on this machine; the dashboard tests are not about passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def at(day: dt.date) -> dt.datetime:
    """Noon in Jakarta of `day` (no date shift between UTC and local time)."""
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, 12, 0))


def ago(days: int) -> dt.datetime:
    return at(TODAY - dt.timedelta(days=days))


def families(village: str, serials: list[int]) -> list[Family]:
    """Households of three in `village`, KK numbers like the registry's (village digits + year + serial)."""
    digits = village.replace(".", "")[:10]
    rows = [Family(family_code=f"F{digits}{serial:06d}", kk_number=f"{digits}26{serial:04d}", village_code=village)
            for serial in serials]
    bulk_create_with_history(rows, Family, default_date=ago(400),
                             custom_historical_attrs={"history_channel": c.Channel.REGSOSEK})
    made = list(Family.objects.filter(family_code__in=[f.family_code for f in rows]).order_by("family_code"))
    persons = []
    for fam, serial in zip(made, serials, strict=True):
        head, others = household(serial, kec=village.rsplit(".", 1)[0])
        for i, p in enumerate([head, *others]):
            persons.append(Person(
                family=fam, person_code=f"{fam.family_code}-{i + 1}", nik_hash=nik_hash(p.nik),
                nik_enc=nik_encrypt(p.nik), name=p.name, sex=p.sex, birth_date=p.birth_date,
                relationship=p.relationship, marital_status=p.marital_status, education=p.education,
                school_level=p.school_level, sector=p.sector, employment_type=p.employment_type))
    bulk_create_with_history(persons, Person, default_date=ago(400),
                             custom_historical_attrs={"history_channel": c.Channel.REGSOSEK})
    return made


def user_with(username: str, role: str, region: str) -> Any:
    user = get_user_model().objects.create_user(username, password=PASSWORD, first_name=username.title())
    role_assign(user=user, role=role, region_code=region, reason="uji / test")
    return user


def _ranking(period: str, finished: dt.datetime, previous: RankingRun | None = None) -> RankingRun:
    return RankingRun.objects.create(period=period, cutoff=finished.date(), frozen_at=finished, engine="duckdb",
                                     model_id="uji", model_sha256="0" * 64, model_artefact={}, status="finished",
                                     finished_at=finished, previous_run=previous)


def _result(run: RankingRun, family: Family, desil: int, previous: int | None = None) -> None:
    RankingResult.objects.create(run=run, family=family, family_code=family.family_code,
                                 village_code=family.village_code, region_group="uji", persons=3,
                                 score=1000 + family.pk, predicted_pce=Decimal("550000"),
                                 percentile=Decimal(desil * 10 - 5), desil=desil, previous_desil=previous)


def _usulan(village: str, status: str, changed: dt.datetime, n: int) -> Usulan:
    u = Usulan.objects.create(reference=f"USL-202611-{village[-4:]}{n:02d}", kind=UsulanKind.CORRECTION,
                              status=status, village_code=village, created_by=system_actor(),
                              status_changed_at=changed)
    Usulan.objects.filter(pk=u.pk).update(created_at=changed)
    return u


def _citizen() -> CitizenAccount:
    user = get_user_model().objects.create_user("warga-uji01", password=PASSWORD)
    return CitizenAccount.objects.create(user=user, nik_hash="0" * 64, nik_enc="x", kk_number="3401012601000001",
                                         name_on_ktp="Siti Aminah", email="siti@example.id", phone="081234567890",
                                         status=CitizenStatus.ACTIVE, status_changed_at=ago(90),
                                         match_result=MatchResult.PADAN, region_code=VILLAGE_A, consent_at=ago(90))


def _submission(citizen: CitizenAccount, village: str, status: str, changed: dt.datetime, n: int) -> None:
    Submission.objects.create(reference=f"USG-202611-{village[-4:]}{n:02d}", kind=SubmissionKind.USUL_PROGRAM,
                              status=status, citizen=citizen, village_code=village, program="pkh",
                              status_changed_at=changed)


def _visit(worker: Any, dinsos: Any, village: str, status: str, assigned: dt.date, due: dt.date,
           visited: dt.date | None = None) -> None:
    Visit.objects.create(village_code=village, status=status, assigned_to=worker, assigned_by=dinsos,
                         assigned_at=at(assigned), due_on=due, visited_on=visited)


@pytest.fixture
def world(db) -> dict[str, Any]:
    t = families(VILLAGE_A, [1, 2, 3, 4, 5])
    w = families(VILLAGE_B, [11, 12, 13])
    b = families(VILLAGE_BANTUL, [21, 22, 23, 24])

    # Ranking: the previous run R1, the latest run R2 (with previous_desil), T4 not rankable in R2.
    r1 = _ranking("2026-Q2", ago(150))
    for fam, desil in [(t[0], 1), (t[1], 2), (t[2], 2), (t[3], 5), (w[0], 1), (w[1], 3),
                       (b[0], 1), (b[1], 1), (b[2], 1), (b[3], 2)]:
        _result(r1, fam, desil)
    r2 = _ranking("2026-Q3", ago(60), previous=r1)
    for fam, desil, prev in [(t[0], 1, 1), (t[1], 1, 2), (t[2], 4, 2), (t[3], 5, 5), (w[0], 2, 1), (w[1], 3, 3),
                             (w[2], 7, None), (b[0], 1, 1), (b[1], 1, 1), (b[2], 1, 1), (b[3], 1, 2)]:
        _result(r2, fam, desil, prev)
    for reason in ("no_condition", "missing_feature"):
        NotRankable.objects.create(run=r2, family=t[4], family_code=t[4].family_code, village_code=VILLAGE_A,
                                   reason=reason)
    RankingRun.objects.create(period="2026-Q4", cutoff=TODAY, frozen_at=ago(1), engine="duckdb", model_id="uji",
                              model_sha256="0" * 64, model_artefact={}, status="failed")  # never counted

    # Programs: an eligibility run with the shipped rules, a PKH decree for Kulon Progo, memberships.
    admin = system_actor()
    run = EligibilityRun.objects.create(period="2026-T3", as_of=TODAY, ranking_run=r2, edition="kepmensos-79-huk-2025",
                                        rules_text=shipped_text(), rules_sha256="0" * 64, status=RunStatus.FINISHED,
                                        created_by=admin, finished_at=ago(50))
    EligibilityRun.objects.create(period="2026-T4", as_of=TODAY, ranking_run=r2, edition="uji", rules_text="{}",
                                  rules_sha256="0" * 64, status=RunStatus.FINISHED, simulation=True,
                                  created_by=admin, finished_at=ago(5))  # a simulation: never counted

    def elig(fam: Family, program: str, outcome: str, amount: int = 0, reason: str = "") -> EligibilityResult:
        return EligibilityResult.objects.create(run=run, program=program, family=fam, region_code=fam.village_code[:5],
                                                village_code=fam.village_code, desil=1, percentile=Decimal("5"),
                                                outcome=outcome, reason=reason, amount=amount)

    pkh_t0 = elig(t[0], "pkh", Outcome.SELECTED, 750_000)
    elig(t[1], "pkh", Outcome.SELECTED, 1_350_000)
    elig(t[2], "pkh", Outcome.WAITING)
    elig(t[3], "pkh", Outcome.NOT_SELECTED, reason="bukan_sasaran")
    elig(t[0], "sembako", Outcome.SELECTED, 600_000)
    elig(w[0], "sembako", Outcome.SELECTED, 600_000)
    pkh_b0 = elig(b[0], "pkh", Outcome.SELECTED, 900_000)
    for region, result in (("34.01", pkh_t0), ("34.02", pkh_b0)):
        decree = Decree.objects.create(run=run, program="pkh", region_code=region, decree_number=f"SK-{region}",
                                       decree_date=TODAY, ratified_by=admin, beneficiaries=1,
                                       total_amount=result.amount)
        Disbursement.objects.create(decree=decree, result=result, family=result.family,
                                    village_code=result.village_code, tahap="2026-T3", amount=result.amount,
                                    status_changed_at=ago(40))
    for fam, program, status in [(t[0], "pkh", MembershipStatus.ACTIVE), (t[1], "pkh", MembershipStatus.ACTIVE),
                                 (w[0], "pkh", MembershipStatus.DEACTIVATED), (b[0], "pkh", MembershipStatus.ACTIVE),
                                 (b[1], "sembako", MembershipStatus.ACTIVE)]:
        Membership.objects.create(family=fam, program=program, status=status, since=dt.date(2025, 1, 15))

    # Queues: usulan, citizen submissions, visits.
    _usulan(VILLAGE_A, UsulanStatus.DINSOS_CHECK, ago(40), 1)  # deadline 17 Nov: overdue
    _usulan(VILLAGE_B, UsulanStatus.DINSOS_CHECK, ago(2), 2)  # deadline 17 Dec
    _usulan(VILLAGE_A, UsulanStatus.DRAFT, ago(1), 3)  # deadline 14 Dec
    _usulan(VILLAGE_A, UsulanStatus.APPLIED, ago(30), 4)  # final: not in a queue
    _usulan(VILLAGE_BANTUL, UsulanStatus.DINSOS_CHECK, ago(100), 5)
    citizen = _citizen()
    _submission(citizen, VILLAGE_A, SubmissionStatus.SUBMITTED, ago(58), 1)  # > 30 days: overdue
    _submission(citizen, VILLAGE_B, SubmissionStatus.FIELD_CHECK, ago(8), 2)
    _submission(citizen, VILLAGE_A, SubmissionStatus.ACCEPTED, ago(20), 3)
    _submission(citizen, VILLAGE_BANTUL, SubmissionStatus.SUBMITTED, ago(70), 4)
    dinsos = user_with("dinsos.kp", Role.DINSOS_VERIFIER, "34.01")
    temon = user_with("pendamping.temon", Role.PENDAMPING_PKH, "34.01.01")
    wates = user_with("pendamping.wates", Role.PENDAMPING_PKH, "34.01.02")
    srandakan = user_with("pendamping.srandakan", Role.PENDAMPING_PKH, "34.02.01")
    dinsos_bantul = user_with("dinsos.bantul", Role.DINSOS_VERIFIER, "34.02")
    d = TODAY
    _visit(temon, dinsos, VILLAGE_A, VisitStatus.ASSIGNED, d - dt.timedelta(27), d - dt.timedelta(18))  # overdue
    _visit(temon, dinsos, VILLAGE_A, VisitStatus.DONE, d - dt.timedelta(20), d - dt.timedelta(13),
           d - dt.timedelta(8))  # done late
    _visit(wates, dinsos, VILLAGE_B, VisitStatus.ASSIGNED, d - dt.timedelta(3), d + dt.timedelta(7))
    _visit(wates, dinsos, VILLAGE_B, VisitStatus.CANCELLED, d - dt.timedelta(10), d - dt.timedelta(1))
    _visit(srandakan, dinsos_bantul, VILLAGE_BANTUL, VisitStatus.ASSIGNED, d - dt.timedelta(30), d - dt.timedelta(20))

    # Data quality: the registry's own flags.
    Person.objects.filter(family__village_code__startswith="34.").update(padan_status="padan")
    head = {f.pk: Person.objects.get(family=f, relationship=c.Relationship.HEAD) for f in t + w + b}
    Person.objects.filter(pk=head[t[0].pk].pk).update(nik_consistent=False)
    Person.objects.filter(pk=head[t[1].pk].pk).update(padan_status="tidak_padan")
    Person.objects.filter(family=t[2]).update(padan_status="belum_dipadankan")
    Person.objects.filter(pk=head[b[0].pk].pk).update(padan_status="tidak_padan", nik_consistent=False)
    Family.objects.filter(pk=w[1].pk).update(kk_number=b[0].kk_number)  # the same KK in two kabupaten
    Person.objects.filter(pk=head[w[2].pk].pk).update(nik_hash=head[t[0].pk].nik_hash)  # one NIK, two families
    Person.objects.filter(family=t[3], relationship=c.Relationship.CHILD).update(
        status=c.RecordStatus.REMOVED, status_reason=c.RemovalReason.DUPLICATE)

    return {
        "t": t, "w": w, "b": b, "r1": r1, "r2": r2, "run": run, "dinsos": dinsos, "dinsos_bantul": dinsos_bantul,
        "temon": temon, "wates": wates, "srandakan": srandakan, "citizen": citizen,
    }


@pytest.fixture
def viewer(db) -> Any:
    """A provincial viewer of DI Yogyakarta."""
    return user_with("pemantau.diy", Role.PROVINCIAL_VIEWER, "34")


@pytest.fixture
def pusdatin(db) -> Any:
    return user_with("pusdatin.pusat", Role.PUSDATIN, "")


@pytest.fixture
def operator_a(db) -> Any:
    return user_with("operator.jangkaran", Role.OPERATOR_DESA, VILLAGE_A)
