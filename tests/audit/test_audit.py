"""The audit trail: every write service leaves a record; the hash chain detects changed and deleted rows."""

import datetime as dt
import inspect

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from dtsen.audit.context import audit_context
from dtsen.audit.models import AuditRecord
from dtsen.audit.selectors import audit_search, audit_verify
from dtsen.registry import choices as c
from dtsen.registry import selectors as sel
from dtsen.registry import services as registry_services
from tests.registry.factories import VILLAGE_A, condition, household, person

pytestmark = pytest.mark.django_db


def _register(actor):
    head, members = household()
    return registry_services.family_register(
        actor=actor,
        channel="web",
        reason="daftar",
        kk_number="3401011203150001",
        village_code=VILLAGE_A,
        head=head,
        members=members,
        registered_on=dt.date(2015, 1, 1),
    )


def _scenarios(actor):
    """One call per public write service of the registry, each returning the expected action name."""
    svc = registry_services
    fam = _register(actor)
    head, wife, child = sel.family_members(actor=actor, family=fam)
    yield "family_register"
    svc.family_update_address(actor=actor, family=fam, channel="web", reason="alamat", rt="009")
    yield "family_update_address"
    svc.family_change_kk(
        actor=actor,
        family=fam,
        kk_number="3401010101260001",
        valid_from=dt.date(2026, 1, 1),
        channel="web",
        reason="kk",
    )
    yield "family_change_kk"
    svc.family_set_pengurus(actor=actor, family=fam, person=head, channel="web", reason="pengurus")
    yield "family_set_pengurus"
    baby = svc.person_add(
        actor=actor,
        family=fam,
        channel="web",
        reason="lahir",
        data=person("34.01.01", dt.date(2026, 1, 5), "L", 1, "Bayi", c.Relationship.CHILD),
    )
    yield "person_add"
    svc.person_update(actor=actor, person=child, channel="web", reason="sekolah", school_level="sma")
    yield "person_update"
    svc.condition_record(
        actor=actor, family=fam, channel="ground_check", data=condition(observed_on=dt.date(2026, 2, 1))
    )
    yield "condition_record"
    flag = svc.exclusion_flag_add(
        actor=actor,
        person=head,
        category="asn",
        source="bkn",
        observed_on=dt.date(2026, 1, 1),
        channel="admin_match",
        reason="BKN",
    )
    yield "exclusion_flag_add"
    svc.exclusion_flag_end(
        actor=actor, flag=flag, ended_on=dt.date(2026, 2, 1), channel="web", reason="banding"
    )
    yield "exclusion_flag_end"
    other_head, other_members = household(serial0=7)
    other = svc.family_register(
        actor=actor,
        channel="web",
        reason="daftar",
        kk_number="3401011203150007",
        village_code=VILLAGE_A,
        head=other_head,
        members=other_members[:1],
    )
    svc.person_move(
        actor=actor,
        person=baby,
        to_family=other,
        event_date=dt.date(2026, 3, 1),
        channel="web",
        reason="ikut kerabat",
    )
    yield "person_move"
    svc.person_remove(actor=actor, person=baby, removal_reason="kesalahan_data", channel="web",
                      reason="bukan anggota KK ini")
    yield "person_remove"
    svc.family_split(
        actor=actor,
        family=fam,
        new_head=wife,
        members=[child],
        kk_number="3401015502260001",
        event_date=dt.date(2026, 4, 1),
        channel="web",
        reason="pecah",
    )
    yield "family_split"
    svc.person_record_death(
        actor=actor,
        person=head,
        death_date=dt.date(2026, 5, 1),
        source="dukcapil",
        channel="admin_match",
        reason="meninggal",
    )
    yield "person_record_death"
    svc.family_remove(
        actor=actor, family=fam, removal_reason="meninggal", channel="web", reason="tidak ada anggota"
    )
    yield "family_remove"


def test_every_registry_write_service_is_audited(admin_actor):
    public = {
        name
        for name, fn in inspect.getmembers(registry_services, inspect.isfunction)
        if fn.__module__ == registry_services.__name__ and not name.startswith("_")
        and name not in {"snapshot", "person_data_check", "condition_check"}  # build or check, write nothing
    }
    seen = set()
    with audit_context(ip="10.1.2.3", channel="web"):
        for expected in _scenarios(admin_actor):
            rec = AuditRecord.objects.order_by("-seq").filter(action=expected).first()
            assert rec is not None, expected
            assert rec.actor_username == "pusat"
            assert rec.ip == "10.1.2.3"
            seen.add(expected)
    assert public == seen, f"services without an audit scenario: {public - seen}"
    assert list(audit_verify()) == []


def test_audit_records_before_and_after_without_clear_nik(admin_actor):
    fam = _register(admin_actor)
    head = fam.head
    nik = sel.person_nik(actor=admin_actor, person=head)
    registry_services.person_update(
        actor=admin_actor, person=head, channel="web", reason="nama", name="Budi Santosa"
    )
    rec = AuditRecord.objects.filter(action="person_update").get()
    assert rec.before["name"] == "BUDI SANTOSO"
    assert rec.after["name"] == "BUDI SANTOSA"
    assert rec.reason == "nama"
    assert f",{head.pk}," in rec.persons
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM audit_auditrecord")
        assert all(nik not in str(row) for row in cur.fetchall())
    assert [r.action for r in audit_search(person_id=head.pk)][:1] == ["person_update"]
    assert audit_search(actor_username="nobody").count() == 0


def test_failed_write_leaves_no_audit_record(admin_actor):
    fam = _register(admin_actor)
    n = AuditRecord.objects.count()
    with pytest.raises(Exception):  # noqa: B017
        registry_services.family_change_kk(
            actor=admin_actor,
            family=fam,
            kk_number="12",
            valid_from=dt.date(2026, 1, 1),
            channel="web",
            reason="x",
        )
    assert AuditRecord.objects.count() == n


def test_verify_detects_a_changed_row(admin_actor):
    _register(admin_actor)
    call_command("audit", "verify")
    rec = AuditRecord.objects.filter(action="family_register").get()
    AuditRecord.objects.filter(pk=rec.pk).update(reason="diubah diam-diam")
    problems = list(audit_verify())
    assert [(p.seq, p.problem) for p in problems] == [(rec.seq, "content")]
    with pytest.raises(CommandError, match="RUSAK"):
        call_command("audit", "verify")


def test_verify_detects_a_deleted_row(admin_actor):
    start = AuditRecord.objects.count()  # the session's region load may have left one
    fam = _register(admin_actor)
    for rt in ("001", "002"):
        registry_services.family_update_address(
            actor=admin_actor, family=fam, channel="web", reason="x", rt=rt
        )
    assert AuditRecord.objects.count() == start + 3
    middle = AuditRecord.objects.order_by("seq")[start + 1]
    AuditRecord.objects.filter(pk=middle.pk).delete()
    problems = {p.problem for p in audit_verify()}
    assert "missing" in problems
    assert "prev_hash" in problems


def test_verify_detects_a_deleted_last_row(admin_actor):
    _register(admin_actor)
    AuditRecord.objects.order_by("-seq").first().delete()
    assert {p.problem for p in audit_verify()} == {"head"}


def test_every_accounts_service_is_audited(admin_actor):
    from django.contrib.auth import get_user_model

    from dtsen.accounts import services as acc

    public = {
        n
        for n, f in inspect.getmembers(acc, inspect.isfunction)
        if f.__module__ == acc.__name__ and not n.startswith("_")
    }
    user = get_user_model().objects.create_user("baru")
    a = acc.role_assign(user=user, role="tksk", region_code="34.01.01", actor=admin_actor, reason="SK TKSK")
    acc.role_revoke(assignment=a, actor=admin_actor, reason="selesai tugas")
    acc.system_actor()
    actions = set(AuditRecord.objects.values_list("action", flat=True))
    assert public <= actions, public - actions
    rec = AuditRecord.objects.get(action="role_revoke")
    assert rec.before["active"] is True
    assert rec.after["active"] is False
    assert rec.actor_username == "pusat"


def test_auditor_page_searches_by_person_and_is_closed_to_others(client, admin_actor):
    from django.contrib.auth import get_user_model

    from dtsen.accounts.services import role_assign

    fam = _register(admin_actor)
    head = fam.head
    registry_services.person_update(actor=admin_actor, person=head, channel="web", reason="ejaan nama", name="Budi S")
    auditor = get_user_model().objects.create_user("auditor.bpk")
    role_assign(user=auditor, role="auditor", region_code="")
    operator = get_user_model().objects.create_user("op")
    role_assign(user=operator, role="operator_desa", region_code=VILLAGE_A)

    client.force_login(operator)
    assert client.get("/audit/").status_code == 403

    client.force_login(auditor)
    page = client.get("/audit/", {"person": head.pk})
    body = page.content.decode()
    assert page.status_code == 200
    assert "person_update" in body
    assert "ejaan nama" in body
    assert "family_update_address" not in body
    assert client.get("/audit/", {"actor": "pusat", "action": "family_register"}).content.decode().count(
        "family_register"
    ) >= 1
    bad = client.get("/audit/", {"since": "kemarin"})
    assert bad.status_code == 400
    assert "tidak valid" in bad.content.decode()


def test_appends_chain_and_verify_on_every_database(admin_actor):
    """Appends (on PostgreSQL: the one-statement UPDATE ... INSERT with the hash computed by the database) chain
    exactly as `record_hash` computes in Python, with non-ASCII text, nested values and a public read between."""
    from dtsen.audit.models import AuditHead
    from dtsen.audit.services import audit_public, audit_record, record_hash

    first = audit_record(actor=admin_actor, action="test.one", object_type="t", object_id=1,
                         before={"nama": "Siti Ñurhayati — 'kutip' \"ganda\"", "n": [1, 2.5, None]},
                         after={"z": {"b": 1, "a": "é"}}, person_ids=[3, 1])  # fmt: skip
    second = audit_public(action="test.public", object_type="t", object_id="x", after={"seq": 0, "q": "%s"})
    third = audit_record(actor=None, action="test.three")
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    for rec in (first, second, third):
        stored = AuditRecord.objects.get(pk=rec.pk)
        assert stored.hash == rec.hash
        fields = {k: getattr(stored, k) for k in ("seq", "at", "actor_id", "actor_username", "roles", "region",
                                                  "action", "object_type", "object_id", "persons", "before",
                                                  "after", "reason", "channel", "ip")}  # fmt: skip
        assert record_hash(stored.prev_hash, fields) == stored.hash
    head = AuditHead.objects.get(pk=1)
    assert (head.seq, head.hash, head.prev_hash) == (third.seq, third.hash, second.hash)
    assert list(audit_verify()) == []


@pytest.mark.django_db(transaction=True)
def test_public_read_outside_a_transaction_is_one_relaxed_statement(monkeypatch):
    """On PostgreSQL, `audit_public` outside a transaction is one statement that sets synchronous_commit off for
    its own transaction only (the session keeps its setting); the record is committed and chained. A failing
    append leaves the head where it was and the connection usable."""
    if connection.vendor != "postgresql":
        pytest.skip("the relaxed one-statement append is PostgreSQL's; SQLite uses the plain transaction")
    from django.db import DatabaseError

    from dtsen.audit import services
    from dtsen.audit.models import AuditHead

    statements: list[str] = []
    fetch = services.fetch_prepared

    def spy(sql, params):
        statements.append(sql)
        return fetch(sql, params)

    monkeypatch.setattr(services, "fetch_prepared", spy)
    first = services.audit_record(actor=None, action="test.first")
    statements.clear()
    second = services.audit_public(action="test.public", object_type="t", object_id="x", after={"n": 1})
    assert statements == [services._PG_APPEND_RELAXED]
    assert "set_config('synchronous_commit', 'off', true)" in statements[0]
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"  # local to the append's transaction
    assert second.prev_hash == first.hash
    assert AuditRecord.objects.get(pk=second.pk).hash == second.hash
    assert list(audit_verify()) == []

    append_params = services._append_params

    def broken(fields):
        params = append_params(fields)
        params[1 + services._RECORD_COLUMNS.index("after")] = "{not json"  # cast to jsonb: fails
        return params

    monkeypatch.setattr(services, "_append_params", broken)
    with pytest.raises(DatabaseError):
        services.audit_public(action="test.broken", object_type="t", object_id="x", after={"n": 2})
    assert AuditHead.objects.get(pk=1).seq == second.seq
    assert not AuditRecord.objects.filter(action="test.broken").exists()
    monkeypatch.setattr(services, "_append_params", append_params)
    third = services.audit_public(action="test.after", object_type="t", object_id="x", after={"n": 3})
    assert third.prev_hash == second.hash
