# ruff: noqa: F811 - the fixtures imported from test_merge.py are parameters of the tests
"""Linkage runs feeding the review queue (issue 9, "Review and merge"): a run over a kabupaten of the registry
queues the injected duplicates with their evidence, records its engine and parameters; a decided pair does not
come back in the next run; scope of the run and of the queue."""

from __future__ import annotations

import io
import json

import pytest

from dtsen.audit.models import AuditRecord
from dtsen.core.errors import NotFound, PermissionDenied
from dtsen.linkage import selectors as sel
from dtsen.linkage import services as svc
from dtsen.linkage.engine import REVIEW_BITS
from dtsen.linkage.model import ModelParams
from dtsen.linkage.models import CandidatePair, LinkageRun, PairStatus, RunStatus
from dtsen.registry.crypto import nik_decrypt
from tests.linkage.test_merge import by_name, dinsos, dinsos2, dinsos_bantul, dups  # noqa: F401 - fixtures


def pair_of(a, b) -> set[int]:
    return {a.pk, b.pk}


def queue_sets(actor) -> list[set[int]]:
    return [{p.person_a_id, p.person_b_id} for p in sel.pair_queue(actor=actor)]


def test_run_queues_the_injected_duplicates(dups, dinsos, trained: ModelParams):
    run = svc.linkage_run(actor=dinsos, region_code="34.01", params=trained)
    assert run.status == RunStatus.DONE
    assert run.engine == "duckdb"
    assert not run.trained_here
    assert run.params_sha256 == trained.sha256
    assert ModelParams.from_json(_json(run.params)).sha256 == trained.sha256
    assert run.persons == 7  # Kulon Progo only: f1 (3) + f2 (3) + f3 (1), nothing of Bantul
    queue = queue_sets(dinsos)
    dewi = pair_of(by_name("Dewi Lestari", dups["f1"]), by_name("Dewi Lestary", dups["f2"]))
    budi = pair_of(by_name("Budi Santoso", dups["f1"]), by_name("Budi Santosa", dups["f3"]))
    assert dewi in queue
    assert budi in queue
    pairs = list(CandidatePair.objects.filter(run=run))
    assert all(p.evidence >= REVIEW_BITS and p.region_code == "34.01" and p.person_a_id < p.person_b_id
               for p in pairs)
    assert run.pairs_queued == len(pairs) == run.pairs_scored
    assert AuditRecord.objects.filter(action="linkage.run", object_id=str(run.pk)).exists()


def _json(body: dict) -> str:
    return json.dumps(body)


def test_decided_pairs_do_not_come_back(dups, dinsos, trained):
    svc.linkage_run(actor=dinsos, region_code="34.01", params=trained)
    first = {frozenset((p.person_a_id, p.person_b_id)): p for p in sel.pair_queue(actor=dinsos)}
    dewi = frozenset(pair_of(by_name("Dewi Lestari", dups["f1"]), by_name("Dewi Lestary", dups["f2"])))
    budi = frozenset(pair_of(by_name("Budi Santoso", dups["f1"]), by_name("Budi Santosa", dups["f3"])))
    svc.pair_dismiss(actor=dinsos, pair=first[dewi], reason="Anak berbeda, NIK sama karena salah input")
    second = svc.linkage_run(actor=dinsos, region_code="34.01", params=trained)
    assert second.pairs_queued == 0
    assert second.pairs_skipped == second.pairs_scored
    queue = [frozenset(s) for s in queue_sets(dinsos)]
    assert dewi not in queue
    assert queue.count(budi) == 1
    assert CandidatePair.objects.filter(status=PairStatus.DISMISSED).count() == 1


def test_run_input_decrypts_in_memory_and_stores_no_nik(dups, dinsos):
    persons = sel.linkage_persons(actor=dinsos, region_code="34.01")
    dewi = by_name("Dewi Lestari", dups["f1"])
    row = persons.table.to_pylist()[list(persons.table.column("person_code").to_pylist()).index(
        dewi.person_code)]
    assert row["nik"] == nik_decrypt(dewi.nik_enc)
    assert persons.ids[dewi.person_code] == dewi.pk
    assert LinkageRun.objects.count() == 0  # reading writes nothing


def test_run_scope(dups, dinsos, dinsos_bantul, trained):
    with pytest.raises(PermissionDenied):
        svc.linkage_run(actor=dinsos_bantul, region_code="34.01", params=trained)
    with pytest.raises(PermissionDenied):
        sel.linkage_persons(actor=dinsos, region_code="34.02")
    assert LinkageRun.objects.count() == 0


def test_queue_scope(dups, dinsos, dinsos_bantul, trained):
    svc.linkage_run(actor=dinsos, region_code="34.01", params=trained)
    svc.linkage_run(actor=dinsos_bantul, region_code="34.02", params=trained)
    kp, bt = sel.pair_queue(actor=dinsos), sel.pair_queue(actor=dinsos_bantul)
    assert kp
    assert bt
    assert {p.region_code for p in kp} == {"34.01"}
    assert {p.region_code for p in bt} == {"34.02"}
    with pytest.raises(NotFound):
        sel.pair_get(actor=dinsos_bantul, pair_id=kp[0].pk)
    with pytest.raises(NotFound):
        sel.pair_view(actor=dinsos, pair_id=bt[0].pk)


def test_pair_view_compares_and_masks(dups, dinsos, trained):
    svc.linkage_run(actor=dinsos, region_code="34.01", params=trained)
    dewi, dewi2 = by_name("Dewi Lestari", dups["f1"]), by_name("Dewi Lestary", dups["f2"])
    pair = next(p for p in sel.pair_queue(actor=dinsos) if {p.person_a_id, p.person_b_id} == {dewi.pk, dewi2.pk})
    view = sel.pair_view(actor=dinsos, pair_id=pair.pk)
    levels = {lv.key: lv.strength for lv in view.levels}
    assert levels["nik"] == "exact"
    assert levels["birth_date"] == "exact"
    assert levels["residence"] == "close"
    assert levels["name"] in {"close", "exact"}
    nik = nik_decrypt(dewi.nik_enc)
    assert view.a.nik_masked != nik
    assert view.a.nik_masked.endswith(nik[12:])
    assert "*" in view.a.nik_masked
    assert AuditRecord.objects.filter(action="candidatepair.view", object_id=str(pair.pk)).exists()


def test_cli_run_with_params_file(dups, trained, tmp_path):
    from django.core.management import call_command

    params = tmp_path / "params.json"
    params.write_text(trained.as_json(), encoding="utf-8")
    out = io.StringIO()
    call_command("linkage", "run", "--region", "34.01", "--params", str(params), "--format", "json", stdout=out)
    summary = json.loads(out.getvalue())
    run = LinkageRun.objects.get(pk=summary["run"])
    assert summary["params_sha256"] == trained.sha256 == run.params_sha256
    assert summary["engine"] == "duckdb"
    assert summary["pairs_queued"] >= 2
    assert summary["persons"] == 7
    text = io.StringIO()
    call_command("linkage", "run", "--region", "34.01", "--params", str(params), stdout=text)
    assert "queued: 0" in text.getvalue()


def test_cli_refuses_bad_arguments(db, tmp_path):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError):
        call_command("linkage", "run", "--region", "34.01", "--train-only")
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": "other"}', encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("linkage", "run", "--region", "34.01", "--params", str(bad))
    with pytest.raises(CommandError):
        call_command("linkage", "run", "--region", "99.99", "--params", str(bad).replace("bad", "none"))
    assert LinkageRun.objects.count() == 0


def test_run_without_params_on_a_tiny_region_is_recorded_as_failed(dups, dinsos):
    """Training without labels needs pairs for every training rule; seven persons do not have them. The run is
    recorded as failed (with its error, no pair) and the error is raised as an application error."""
    with pytest.raises(svc.LinkageFailed):
        svc.linkage_run(actor=dinsos, region_code="34.01")
    run = LinkageRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert run.trained_here
    assert "no record pairs" in run.error
    assert not CandidatePair.objects.exists()
    assert AuditRecord.objects.filter(action="linkage.run", object_id=str(run.pk)).exists()


def test_failed_run_is_recorded(dups, dinsos, trained, monkeypatch):
    from dtsen.linkage import engine

    def boom(*args, **kwargs):
        raise engine.PairCapExceeded("Terlalu banyak pasangan.", "Too many candidate pairs.")

    monkeypatch.setattr(engine, "predict", boom)
    with pytest.raises(engine.PairCapExceeded):
        svc.linkage_run(actor=dinsos, region_code="34.01", params=trained)
    run = LinkageRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert "PairCapExceeded" in run.error
    assert run.params_sha256 == trained.sha256
    assert not CandidatePair.objects.exists()
