"""The check at the door wired into the workflows: usulan drafts (dtsen.updates.services), a citizen's usul
(dtsen.updates.submissions) and `registry_import --door-check`, with the trained parameters of the latest
linkage run (the session's model of tests/linkage/conftest.py stored as a LinkageRun)."""

# ruff: noqa: F811 - the fixtures imported from tests.updates.conftest are parameters of the tests
from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from dtsen.audit.models import AuditRecord
from dtsen.core.errors import Conflict
from dtsen.linkage import door
from dtsen.linkage.model import ModelParams
from dtsen.linkage.models import LinkageRun, RunStatus
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_mask
from dtsen.registry.models import Person
from dtsen.updates import services as svc
from dtsen.updates import submissions as subs
from dtsen.updates.models import Submission, Transition, Usulan, UsulanKind
from dtsen.updates.visits import visit_submit
from tests.registry.bulk.conftest import population, write_files
from tests.updates.conftest import (  # noqa: F401 - fixtures
    VILLAGE_A,
    _citizen_settings,
    active,
    awaiting,
    dinsos,
    family_a,
    family_b,
    jpeg,
    member,
    nik_of,
    operator_a,
    verifier,
    worker,
)

NEWBORN_NIK = "3401015507240003"  # Temon, a girl born 15-07-2024: in no registry


def store_run(params: ModelParams, *, status: str = RunStatus.DONE) -> LinkageRun:
    now = timezone.now()
    return LinkageRun.objects.create(
        region_code="34.01", engine="duckdb", model_name=params.model, params=json.loads(params.as_json()),
        params_sha256=params.sha256, review_bits=20.0, match_bits=25.0, status=status, started_at=now,
        finished_at=now if status == RunStatus.DONE else None,
    )


@pytest.fixture
def run(db: Any, trained: ModelParams, settings: Any) -> LinkageRun:
    settings.LINKAGE_PARAMS_FILE = ""
    return store_run(trained)


@pytest.fixture
def no_model(db: Any, settings: Any) -> None:
    settings.LINKAGE_PARAMS_FILE = ""
    assert not LinkageRun.objects.exists()


def typo(nik: str) -> str:
    """The NIK with its last digit mistyped (still a valid NIK)."""
    return nik[:15] + str((int(nik[15]) + 1) % 10)


def joko(family_b: Any) -> Person:
    return member(family_b, c.Relationship.HEAD)  # Joko Susilo, Wates (34.01.02), born 1975-01-03


def added_member(nik: str, name: str, sex: str, born: str) -> dict[str, Any]:
    return {"nik": nik, "name": name, "sex": sex, "birth_date": born, "relationship": c.Relationship.OTHER,
            "marital_status": c.MaritalStatus.SINGLE, "education": c.Education.SMA, "occupation": ""}


def correction(operator: Any, family: Any, members: list[dict[str, Any]]) -> Usulan:
    return svc.usulan_create(actor=operator, kind=UsulanKind.CORRECTION, village_code=family.village_code,
                             family=family, payload={"members_add": members, "note": "uji"})


# ----- the parameters ----------------------------------------------------------------------------------------


def test_scorer_comes_from_the_latest_finished_run(db, trained: ModelParams, settings, tmp_path: Path):
    settings.LINKAGE_PARAMS_FILE = ""
    with pytest.raises(Conflict) as err:
        door.current_scorer()
    assert err.value.code == "linkage_model_missing"
    store_run(trained, status=RunStatus.FAILED)
    with pytest.raises(Conflict):
        door.current_scorer()  # a failed run is no model
    first = store_run(trained)
    scorer, source = door.current_model()
    assert (source.kind, source.ref, source.version) == ("run", str(first.pk), trained.sha256)
    assert door.current_scorer() is scorer  # cached per process for (run, sha256)
    second = store_run(trained)
    assert door.current_model()[1].ref == str(second.pk)
    # the setting, when given, overrides the runs
    path = tmp_path / "params.json"
    path.write_text(trained.as_json())
    settings.LINKAGE_PARAMS_FILE = str(path)
    assert door.params_source().kind == "file"
    # parameters that do not hash to the stored sha256 are refused
    settings.LINKAGE_PARAMS_FILE = ""
    LinkageRun.objects.filter(pk=second.pk).update(params_sha256="0" * 64)
    with pytest.raises(Conflict):
        door.current_scorer()


# ----- usulan drafts ------------------------------------------------------------------------------------------


def test_usulan_adding_a_registered_person_is_flagged(run, operator_a, family_a, family_b, client):
    registered = joko(family_b)
    usulan = correction(operator_a, family_a, [
        added_member(typo(nik_of(registered)), "Joko Susilo", "L", "1975-01-03"),  # NIK digit error
        added_member(NEWBORN_NIK, "Ayu Wulandari", "P", "2024-07-15"),  # genuinely new
    ])
    check = usulan.payload["door_check"]
    assert check["checked"] is True
    assert check["model"] == {"source": "run", "ref": str(run.pk), "version": run.params_sha256}
    assert check["flagged"] == 1
    dup, new = check["members"]
    assert (dup["list"], dup["index"], new["index"]) == ("members_add", 0, 1)
    assert new["likely_duplicates"] == []
    (hit,) = dup["likely_duplicates"]
    assert hit["person_code"] == registered.person_code
    assert hit["nik_masked"] == nik_mask(nik_of(registered))
    assert nik_of(registered) not in json.dumps(check)
    assert hit["name_masked"] != registered.name
    assert hit["evidence"] >= 20
    assert hit["in_scope"] is True  # Wates is in Kulon Progo, the reviewing kabupaten
    assert "same birth date" in hit["reasons_en"]
    assert "tanggal lahir sama" in hit["reasons"]
    assert AuditRecord.objects.filter(action="person.door_check", actor_id=operator_a.pk).exists()
    first = Transition.objects.get(workflow="usulan", object_id=usulan.pk, from_status="")
    assert first.evidence == {"door_check": "checked", "door_flagged": 1}
    # the usulan page shows the warning with the masked NIK, the masked name, the evidence and the reasons
    client.force_login(operator_a)
    page = client.get(f"/usulan/{usulan.pk}/", HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert 'data-door-flagged="1"' in page
    assert f'data-door-hit="{hit["nik_masked"]}"' in page
    assert hit["name_masked"] in page
    assert "tanggal lahir sama" in page
    assert registered.person_code in page  # in the reviewer's kabupaten: the registry id is shown


def test_editing_the_draft_checks_again(run, operator_a, family_a, family_b):
    usulan = correction(operator_a, family_a, [added_member(NEWBORN_NIK, "Ayu Wulandari", "P", "2024-07-15")])
    assert usulan.payload["door_check"]["flagged"] == 0
    registered = joko(family_b)
    edited = svc.usulan_edit(actor=operator_a, usulan=usulan, reason="anggota ditambah", payload={
        "members_add": [added_member(NEWBORN_NIK, "Ayu Wulandari", "P", "2024-07-15"),
                        added_member(typo(nik_of(registered)), "Joko Susilo", "L", "1975-01-03")]})
    assert edited.payload["door_check"]["flagged"] == 1
    after = AuditRecord.objects.filter(action="usulan_edit").latest("pk").after
    assert after["payload"]["door_check"]["flagged"] == 1  # part of the audited after-state


def test_new_family_of_new_persons_is_not_flagged(run, operator_a, family_a, family_b):
    usulan = svc.usulan_create(actor=operator_a, kind=UsulanKind.NEW_FAMILY, village_code=VILLAGE_A, payload={
        "kk_number": "3401012001260077", "rw": "2", "rt": "3", "address": "Dusun Baru",
        "members": [{**added_member("3401011203900005", "Slamet Riyadi", "L", "1990-03-12"),
                     "relationship": c.Relationship.HEAD}]})
    check = usulan.payload["door_check"]
    assert check["checked"] is True
    assert check["flagged"] == 0
    assert check["members"][0]["list"] == "members"


def test_without_a_trained_model_the_usulan_is_created_with_a_note(no_model, operator_a, family_a, family_b,
                                                                   client):
    usulan = correction(operator_a, family_a, [
        added_member(typo(nik_of(joko(family_b))), "Joko Susilo", "L", "1975-01-03")])
    assert Usulan.objects.filter(pk=usulan.pk).exists()
    check = usulan.payload["door_check"]
    assert check["checked"] is False
    assert check["code"] == "model_missing"
    assert check["note_en"] == "Duplicate check not run: the linkage model is not trained yet."
    assert check["note"].startswith("Pemeriksaan ganda tidak dijalankan")
    assert check["members"][0]["likely_duplicates"] == []
    client.force_login(operator_a)
    page = client.get(f"/usulan/{usulan.pk}/").content.decode()
    assert "data-door-not-run" in page
    assert check["note"] in page
    with translation.override("en"):
        client.cookies["django_language"] = "en"
        page = client.get(f"/usulan/{usulan.pk}/").content.decode()
    assert check["note_en"] in page


def test_usulan_without_new_persons_carries_no_check(run, operator_a, family_a):
    usulan = svc.usulan_create(actor=operator_a, kind=UsulanKind.PROGRAM, village_code=VILLAGE_A,
                               family=family_a, payload={"program": "pkh"})
    assert "door_check" not in usulan.payload


# ----- a citizen's usul ---------------------------------------------------------------------------------------


def test_citizen_usul_is_flagged_for_dinsos_and_not_shown_to_the_citizen(run, active, family_b, dinsos, client):
    registered = joko(family_b)
    item = subs.usul_registration(actor=active.user, proposed_who="keluarga_lain", nik=typo(nik_of(registered)),
                                  name="JOKO SUSILO", kk_number="3401012001260091", village_code=VILLAGE_A,
                                  rw="1", rt="2", address="Dusun Sidorejo", documents=[("house_front", jpeg())])
    assert item.status == "diajukan"
    check = Submission.objects.get(pk=item.pk).payload["door_check"]
    assert check["checked"] is True
    assert check["flagged"] == 1
    (hit,) = check["members"][0]["likely_duplicates"]
    assert hit["person_code"] == registered.person_code  # birth date and sex came from the NIK
    audit = AuditRecord.objects.filter(action="person.door_check").latest("pk")
    assert audit.actor_id == active.user.pk  # audited with the citizen as the one who caused it
    # the citizen sees nothing of it
    client.force_login(active.user)
    own = client.get(reverse("submissions:detail", args=[item.reference])).content.decode()
    assert own.count(item.reference) >= 1
    for secret in (hit["nik_masked"], hit["name_masked"], registered.person_code, "data-door"):
        assert secret not in own
    listing = client.get(reverse("submissions:list")).content.decode()
    assert hit["nik_masked"] not in listing
    assert "data-door" not in listing
    # Dinsos does
    client.force_login(dinsos)
    page = client.get(reverse("submissions:dinsos_detail", args=[item.pk])).content.decode()
    assert 'data-door-flagged="1"' in page
    assert hit["nik_masked"] in page
    assert hit["name_masked"] in page


def test_accepted_usul_becomes_an_usulan_checked_again(run, active, family_b, dinsos, worker):
    registered = joko(family_b)
    item = subs.usul_registration(actor=active.user, proposed_who="keluarga_lain", nik=typo(nik_of(registered)),
                                  name="JOKO SUSILO", kk_number="3401012001260091", village_code=VILLAGE_A,
                                  documents=[("house_front", jpeg())])
    visit = subs.submission_order_visit(actor=dinsos, submission=item, worker=worker,
                                        due_on=timezone.localdate())
    visit_submit(actor=worker, visit=visit, outcome="ditemukan", visited_on=timezone.localdate(),
                 interview={"notes": "uji"}, condition=None, photos=[("house_front", jpeg())])
    subs.submission_verify(actor=dinsos, submission=item)
    subs.submission_accept(actor=dinsos, submission=item, note="Terbukti")
    usulan = Usulan.objects.get(submission=item)
    check = usulan.payload["door_check"]
    assert check["flagged"] == 1
    assert check["members"][0]["likely_duplicates"][0]["person_code"] == registered.person_code
    assert AuditRecord.objects.filter(action="person.door_check", actor_id=dinsos.pk).exists()


def test_citizen_usul_without_a_model_is_kept_with_the_note(no_model, active, family_b):
    item = subs.usul_registration(actor=active.user, proposed_who="keluarga_lain",
                                  nik=typo(nik_of(joko(family_b))), name="JOKO SUSILO",
                                  kk_number="3401012001260091", village_code=VILLAGE_A,
                                  documents=[("house_front", jpeg())])
    assert item.status == "diajukan"
    assert item.payload["door_check"]["code"] == "model_missing"


# ----- registry_import --door-check ---------------------------------------------------------------------------


def test_import_door_check_writes_the_report(run, tmp_path: Path):
    registered = population(4, seed=3, prefix="R")
    call_command("registry_import", str(write_files(registered, tmp_path / "first")), "--no-progress",
                 verbosity=0)
    target = next(p for p in registered["persons"] if p["relationship"] == c.Relationship.HEAD)
    incoming = population(2, seed=4, prefix="N")
    family = incoming["families"][0]
    duplicate = next(p for p in incoming["persons"] if p["person_code"] == family["head_person_code"])
    duplicate.update(nik=typo(target["nik"]), name=target["name"], sex=target["sex"],
                     birth_date=target["birth_date"])
    family["village_code"] = next(f["village_code"] for f in registered["families"]
                                  if f["family_code"] == target["family_code"])
    folder = write_files(incoming, tmp_path / "second")
    report = tmp_path / "out" / "door.csv"
    out = StringIO()
    call_command("registry_import", str(folder), "--no-progress", "--door-check", "--door-report", str(report),
                 stdout=out)
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert [r["matched_person_code"] for r in rows] == [target["person_code"]]
    row = rows[0]
    assert row["person_code"] == duplicate["person_code"]
    assert row["row"] == str(2 + incoming["persons"].index(duplicate))  # CSV: the header is row 1
    assert row["nik_masked"] == nik_mask(duplicate["nik"])
    assert duplicate["nik"] not in report.read_text()
    assert float(row["evidence"]) >= 20
    assert "same birth date" in row["reasons_en"]
    text = out.getvalue()
    new_persons = len(incoming["persons"])
    assert f"{new_persons} new persons checked, 1 rows likely duplicates" in text
    # the import was not blocked
    assert Person.objects.filter(person_code=duplicate["person_code"]).exists()


def test_import_door_check_without_a_model_imports_and_says_so(no_model, tmp_path: Path):
    folder = write_files(population(2, seed=5, prefix="M"), tmp_path / "in")
    out = StringIO()
    call_command("registry_import", str(folder), "--no-progress", "--door-check", stdout=out)
    assert "Duplicate check not run: the linkage model is not trained yet." in out.getvalue()
    assert not (folder / "door-check.csv").exists()
    assert Person.objects.filter(person_code__startswith="PM").exists()


def test_import_door_check_default_report_is_next_to_the_input(run, tmp_path: Path):
    folder = write_files(population(2, seed=6, prefix="D"), tmp_path / "in")
    call_command("registry_import", str(folder), "--no-progress", "--door-check", verbosity=0)
    lines = (folder / "door-check.csv").read_text().splitlines()
    assert lines[0].startswith("file,row,person_code")
    # a second import of the same directory is not confused by the report (it is not a table file)
    call_command("registry_import", str(folder), "--no-progress", verbosity=0)

