"""Registry services: registration, corrections as versions, as-of reconstruction, events, scope."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from dtsen.core.errors import NotFound, PermissionDenied, ValidationFailed
from dtsen.registry import choices as c
from dtsen.registry import selectors as sel
from dtsen.registry import services as svc
from dtsen.registry.models import Event, Family, FamilyKkNumber, Person
from tests.registry.factories import VILLAGE_A, VILLAGE_B, condition, household, person

pytestmark = pytest.mark.django_db


def register(actor, village=VILLAGE_A, serial=1, kk="3401011203150001"):
    head, members = household(serial, kec=village[:8])
    return svc.family_register(
        actor=actor,
        channel=c.Channel.WEB,
        reason="Pendaftaran baru",
        kk_number=kk,
        village_code=village,
        head=head,
        members=members,
        rw="002",
        rt="005",
        condition=condition(),
        registered_on=dt.date(2015, 3, 12),
    )


def test_register_creates_family_members_condition_and_versions(admin_actor):
    family = register(admin_actor)
    members = sel.family_members(actor=admin_actor, family=family)
    assert [m.relationship for m in members] == ["kepala", "pasangan", "anak"]
    assert family.head == members[0]
    assert family.pengurus == members[1]  # the wife receives aid by default
    assert sel.family_latest_condition(actor=admin_actor, family=family).floor_material == "tanah"
    assert family.history.count() == 2  # created, then head/pengurus set
    first = family.history.earliest()
    assert first.history_user == admin_actor
    assert first.history_channel == "web"
    assert first.history_change_reason == "Pendaftaran baru"
    assert FamilyKkNumber.objects.filter(family=family).count() == 1
    assert Event.objects.filter(family=family, kind="daftar").exists()


def test_nik_is_never_stored_in_clear(admin_actor):
    family = register(admin_actor)
    head = family.head
    clear = sel.person_nik(actor=admin_actor, person=head)
    assert len(clear) == 16
    with connection.cursor() as cur:
        for table in ("registry_person", "registry_historicalperson"):
            cur.execute(f"SELECT * FROM {table}")
            for row in cur.fetchall():
                assert all(clear not in str(value) for value in row)
    assert sel.person_find_by_nik(actor=admin_actor, nik=clear) == [head]


def test_correction_is_a_new_version_and_as_of_returns_the_past(admin_actor):
    family = register(admin_actor)
    before = timezone.now()
    svc.family_update_address(
        actor=admin_actor,
        family=family,
        channel=c.Channel.MUSDES,
        reason="Koreksi alamat hasil musdes",
        rt="007",
        address="Dusun Kalibondol",
    )
    wife = sel.family_members(actor=admin_actor, family=family)[1]
    svc.person_update(
        actor=admin_actor,
        person=wife,
        channel=c.Channel.GROUND_CHECK,
        reason="Ijazah SMA",
        education=c.Education.SMA,
    )
    versions = sel.family_versions(actor=admin_actor, family=family)
    changed = [v for v in versions if v.kind == "~" and v.subject == "family" and v.channel == "musdes"]
    assert len(changed) == 1
    assert ("rt", "005", "007") in changed[0].changes
    assert changed[0].actor == "pusat"
    assert changed[0].reason == "Koreksi alamat hasil musdes"
    person_change = [v for v in versions if v.subject.startswith("person:") and v.kind == "~"]
    assert person_change[0].changes == [("education", "smp", "sma")]
    assert person_change[0].channel == "ground_check"
    past = sel.family_as_of(actor=admin_actor, family_id=family.pk, when=before)
    assert past.family.rt == "005"
    assert [m.education for m in past.members if m.relationship == "pasangan"] == ["smp"]
    now = sel.family_as_of(actor=admin_actor, family_id=family.pk, when=timezone.now())
    assert now.family.rt == "007"


def test_unchanged_update_writes_no_version(admin_actor):
    family = register(admin_actor)
    n = family.history.count()
    svc.family_update_address(actor=admin_actor, family=family, channel=c.Channel.WEB, reason="x", rt="005")
    assert family.history.count() == n


def test_reason_is_required(admin_actor):
    family = register(admin_actor)
    with pytest.raises(ValidationFailed) as exc:
        svc.family_update_address(
            actor=admin_actor, family=family, channel=c.Channel.WEB, reason=" ", rt="009"
        )
    assert exc.value.extra["field"] == "reason"


def test_kk_change_keeps_history_and_old_number_finds_family(admin_actor):
    family = register(admin_actor)
    svc.family_change_kk(
        actor=admin_actor,
        family=family,
        kk_number="3401010101260009",
        valid_from=dt.date(2026, 1, 1),
        channel=c.Channel.ADMIN_MATCH,
        reason="KK baru Dukcapil",
    )
    numbers = sel.family_kk_history(actor=admin_actor, family=family)
    assert [k.kk_number for k in numbers] == ["3401011203150001", "3401010101260009"]
    assert numbers[0].valid_to == dt.date(2026, 1, 1)
    assert sel.family_list(actor=admin_actor, query="3401011203150001") == [family]
    with pytest.raises(ValidationFailed):  # a start date before the current KK's is refused
        svc.family_change_kk(
            actor=admin_actor,
            family=family,
            kk_number="3401010101260010",
            valid_from=dt.date(2025, 12, 31),
            channel=c.Channel.WEB,
            reason="x",
        )


def test_split_moves_members_to_a_new_family_with_events(admin_actor):
    family = register(admin_actor)
    head, wife, child = sel.family_members(actor=admin_actor, family=family)
    new = svc.family_split(
        actor=admin_actor,
        family=family,
        new_head=wife,
        members=[child],
        kk_number="3401015502260001",
        event_date=dt.date(2026, 2, 1),
        channel=c.Channel.WEB,
        reason="Pecah KK",
    )
    assert {p.pk for p in sel.family_members(actor=admin_actor, family=new)} == {wife.pk, child.pk}
    assert [p.pk for p in sel.family_members(actor=admin_actor, family=family)] == [head.pk]
    family.refresh_from_db()
    assert family.pengurus_id == head.pk  # the pengurus left, the head takes over
    assert Event.objects.filter(kind="pecah_kk", other_family=family).count() == 2
    # the old family as of before the split still had its three members
    before_split = Person.history.filter(id=wife.pk).latest().history_date - dt.timedelta(microseconds=1)
    state = sel.family_as_of(actor=admin_actor, family_id=family.pk, when=before_split)
    assert {m.pk for m in state.members} == {head.pk, wife.pk, child.pk}


def test_death_of_pengurus_hands_over_to_an_adult_member(admin_actor):
    family = register(admin_actor)
    wife = family.pengurus
    svc.person_record_death(
        actor=admin_actor,
        person=wife,
        death_date=dt.date(2026, 6, 1),
        source=c.DeathSource.DUKCAPIL,
        channel=c.Channel.ADMIN_MATCH,
        reason="Data kematian",
    )
    family.refresh_from_db()
    wife.refresh_from_db()
    assert wife.life_status == "meninggal"
    assert family.pengurus_id == family.head_id
    assert Event.objects.filter(kind="meninggal", person=wife).exists()
    assert Event.objects.filter(kind="ganti_pengurus", family=family).exists()


def test_remove_is_a_status_not_a_delete(admin_actor):
    family = register(admin_actor)
    svc.family_remove(
        actor=admin_actor,
        family=family,
        removal_reason=c.RemovalReason.MOVED,
        channel=c.Channel.WEB,
        reason="Pindah ke luar kabupaten",
    )
    assert Family.objects.filter(pk=family.pk, status="nonaktif", status_reason="pindah").exists()
    assert sel.family_list(actor=admin_actor) == []
    assert sel.family_list(actor=admin_actor, status="nonaktif") == [Family.objects.get(pk=family.pk)]


def test_operator_cannot_read_or_change_another_village(operator_a, operator_b, admin_actor):
    family_b = register(admin_actor, village=VILLAGE_B)
    with pytest.raises(NotFound):
        sel.family_get(actor=operator_a, family_id=family_b.pk)
    assert sel.family_list(actor=operator_a) == []
    assert sel.family_get(actor=operator_b, family_id=family_b.pk) == family_b
    with pytest.raises(PermissionDenied):
        svc.family_update_address(
            actor=operator_a, family=family_b, channel=c.Channel.WEB, reason="x", rt="001"
        )
    head_b = family_b.head
    assert (
        sel.person_find_by_nik(actor=operator_a, nik=sel.person_nik(actor=admin_actor, person=head_b)) == []
    )


def test_operator_can_register_only_in_own_village(operator_a):
    register(operator_a, village=VILLAGE_A)
    with pytest.raises(PermissionDenied):
        register(operator_a, village=VILLAGE_B, serial=2, kk="3401021203150002")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kk": "34010112031500"}, "kk_number"),
        ({"village": "34.01.01.9999"}, "village_code"),
    ],
)
def test_bad_input_is_refused_with_field(admin_actor, change, field):
    with pytest.raises(ValidationFailed) as exc:
        register(
            admin_actor, village=change.get("village", VILLAGE_A), kk=change.get("kk", "3401011203150001")
        )
    assert exc.value.extra["field"] == field
    assert Family.objects.count() == 0


def test_bad_nik_refused_and_nothing_written(admin_actor):
    head, members = household()
    members[0].nik = "3401011708850000"
    with pytest.raises(ValidationFailed) as exc:
        svc.family_register(
            actor=admin_actor,
            channel="web",
            reason="r",
            kk_number="3401011203150001",
            village_code=VILLAGE_A,
            head=head,
            members=members,
        )
    assert exc.value.code == "nik_serial_zero"
    assert Family.objects.count() == 0
    assert Person.objects.count() == 0


def test_nik_inconsistent_with_birth_date_is_flagged(admin_actor):
    head, members = household()
    members[1] = person("34.01.01", dt.date(2012, 7, 1), "P", 5, "Dewi", c.Relationship.CHILD)
    members[1].birth_date = dt.date(2012, 1, 7)  # day and month swapped on entry
    family = svc.family_register(
        actor=admin_actor,
        channel="web",
        reason="r",
        kk_number="3401011203150001",
        village_code=VILLAGE_A,
        head=head,
        members=members,
    )
    flags = {m.name: m.nik_consistent for m in sel.family_members(actor=admin_actor, family=family)}
    assert flags["DEWI"] is False
    assert flags["BUDI SANTOSO"] is True
