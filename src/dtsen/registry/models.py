"""The register: dwellings, families, persons, condition snapshots, exclusion flags and events.

History: nothing is overwritten or deleted. Dwelling, Family, Person and ExclusionFlag keep every version
(django-simple-history: who = history_user, why = history_change_reason, channel = history_channel, when =
history_date); condition snapshots and events are append-only rows. Removal is a status with a reason.
Writes go through `services.py`, reads through `selectors.py`.

NIK is personal data (UU 27/2022): it is stored encrypted (`nik_enc`, AES-256-GCM) with a keyed blind index
(`nik_hash`, HMAC-SHA256) for exact lookup; see `crypto.py`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dtsen.registry import choices as c


class VersionInfo(models.Model):
    """Extra columns on every historical (version) row: the channel the change came through."""

    history_channel = models.CharField(max_length=20, choices=c.Channel.choices, default=c.Channel.SYSTEM)

    class Meta:
        abstract = True


def _history() -> HistoricalRecords:
    return HistoricalRecords(
        bases=[VersionInfo], excluded_fields=["updated_at"], cascade_delete_history=False
    )


class Dwelling(models.Model):
    """A building lived in (Regsosek block I code 109); may hold several families."""

    dwelling_code = models.CharField(max_length=24, unique=True)
    village_code = models.CharField(max_length=13, db_index=True)
    building_no = models.PositiveIntegerField(null=True, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    geo_accuracy_m = models.PositiveIntegerField(null=True, blank=True)
    geotagged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = _history()

    class Meta:
        verbose_name = _("dwelling")
        verbose_name_plural = _("dwellings")

    def __str__(self) -> str:
        return self.dwelling_code


class Family(models.Model):
    """A family (keluarga) as on a Kartu Keluarga. `family_code` is the stable registry id; the KK number
    changes on splits and moves and keeps its own history (`FamilyKkNumber`)."""

    family_code = models.CharField(max_length=24, unique=True)
    kk_number = models.CharField(max_length=16, db_index=True)
    head = models.ForeignKey("Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    pengurus = models.ForeignKey("Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    village_code = models.CharField(max_length=13, db_index=True)
    rw = models.CharField(max_length=3, blank=True)
    rt = models.CharField(max_length=3, blank=True)
    address = models.CharField(max_length=200, blank=True)
    dwelling = models.ForeignKey(
        Dwelling, null=True, blank=True, on_delete=models.PROTECT, related_name="families"
    )
    family_no = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=c.RecordStatus.choices, default=c.RecordStatus.ACTIVE)
    status_reason = models.CharField(max_length=20, choices=c.RemovalReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = _history()

    class Meta:
        verbose_name = _("family")
        verbose_name_plural = _("families")

    def __str__(self) -> str:
        return self.family_code


class Person(models.Model):
    family = models.ForeignKey(Family, on_delete=models.PROTECT, related_name="members")
    person_code = models.CharField(max_length=24, unique=True)
    nik_hash = models.CharField(max_length=64, db_index=True)
    nik_enc = models.CharField(max_length=120)
    nik_consistent = models.BooleanField(
        default=True, help_text="Birth date and sex agree with the NIK (day+40 for women)."
    )
    padan_status = models.CharField(max_length=20, default="belum_dipadankan")
    name = models.CharField(max_length=120)
    sex = models.CharField(max_length=1, choices=c.Sex.choices)
    birth_place = models.CharField(max_length=60, blank=True)
    birth_date = models.DateField()
    relationship = models.CharField(max_length=12, choices=c.Relationship.choices)
    marital_status = models.CharField(max_length=12, choices=c.MaritalStatus.choices)
    education = models.CharField(max_length=15, choices=c.Education.choices)
    school_level = models.CharField(
        max_length=8, choices=c.SchoolLevel.choices, default=c.SchoolLevel.NOT_ENROLLED
    )
    sector = models.CharField(max_length=15, choices=c.Sector.choices, default=c.Sector.NONE)
    employment_type = models.CharField(
        max_length=15, choices=c.EmploymentType.choices, default=c.EmploymentType.NONE
    )
    occupation = models.CharField(max_length=60, blank=True)
    disability = models.CharField(max_length=12, choices=c.Disability.choices, default=c.Disability.NONE)
    disability_severity = models.CharField(
        max_length=10, choices=c.DisabilitySeverity.choices, default=c.DisabilitySeverity.NONE
    )
    pregnant = models.BooleanField(default=False)
    life_status = models.CharField(max_length=10, choices=c.LifeStatus.choices, default=c.LifeStatus.ALIVE)
    death_date = models.DateField(null=True, blank=True)
    death_source = models.CharField(max_length=12, choices=c.DeathSource.choices, blank=True)
    status = models.CharField(max_length=10, choices=c.RecordStatus.choices, default=c.RecordStatus.ACTIVE)
    status_reason = models.CharField(max_length=20, choices=c.RemovalReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = _history()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")

    def __str__(self) -> str:
        return self.person_code


class FamilyKkNumber(models.Model):
    """Every KK number a family has held, with the period and why it changed."""

    family = models.ForeignKey(Family, on_delete=models.PROTECT, related_name="kk_numbers")
    kk_number = models.CharField(max_length=16, db_index=True)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("KK number")
        verbose_name_plural = _("KK numbers")
        constraints = [
            models.UniqueConstraint(fields=["family", "kk_number", "valid_from"], name="uniq_family_kk")
        ]

    def __str__(self) -> str:
        return f"{self.kk_number} ({self.valid_from}–{self.valid_to or ''})"


class Condition(models.Model):
    """A socio-economic condition snapshot of a family. Append-only: a correction is a new snapshot."""

    family = models.ForeignKey(Family, on_delete=models.PROTECT, related_name="conditions")
    observed_on = models.DateField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    channel = models.CharField(max_length=20, choices=c.Channel.choices)
    officer = models.CharField(max_length=120, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    evidence = models.JSONField(default=list, blank=True)
    source_ref = models.CharField(max_length=64, blank=True)
    # Housing (Regsosek block III / PBDT)
    tenure = models.CharField(max_length=15, choices=c.HousingTenure.choices)
    floor_area_m2 = models.DecimalField(max_digits=7, decimal_places=1)
    floor_material = models.CharField(max_length=12, choices=c.FloorMaterial.choices)
    wall_material = models.CharField(max_length=16, choices=c.WallMaterial.choices)
    roof_material = models.CharField(max_length=10, choices=c.RoofMaterial.choices)
    toilet = models.CharField(max_length=10, choices=c.Toilet.choices)
    drinking_water = models.CharField(max_length=24, choices=c.DrinkingWater.choices)
    lighting = models.CharField(max_length=16, choices=c.Lighting.choices)
    power_va = models.PositiveIntegerField(null=True, blank=True, help_text="PLN installed power (VA)")
    cooking_fuel = models.CharField(max_length=14, choices=c.CookingFuel.choices)
    received_credit = models.BooleanField(default=False)
    # Assets (BDT list)
    asset_motorcycle = models.BooleanField(default=False)
    asset_car = models.BooleanField(default=False)
    asset_bicycle = models.BooleanField(default=False)
    asset_boat = models.BooleanField(default=False)
    asset_refrigerator = models.BooleanField(default=False)
    asset_ac = models.BooleanField(default=False)
    asset_water_heater = models.BooleanField(default=False)
    asset_lpg_large = models.BooleanField(default=False)
    asset_gas_stove = models.BooleanField(default=False)
    asset_gold = models.BooleanField(default=False)
    asset_computer = models.BooleanField(default=False)
    asset_tv = models.BooleanField(default=False)
    asset_flat_tv = models.BooleanField(default=False)
    asset_radio = models.BooleanField(default=False)
    asset_dvd = models.BooleanField(default=False)
    asset_satellite = models.BooleanField(default=False)
    asset_mobile_phone = models.BooleanField(default=False)
    asset_landline = models.BooleanField(default=False)
    asset_land = models.BooleanField(default=False)
    asset_other_house = models.BooleanField(default=False)
    asset_chicken = models.BooleanField(default=False)
    asset_goat = models.BooleanField(default=False)
    asset_cow = models.BooleanField(default=False)
    asset_pig = models.BooleanField(default=False)
    asset_horse = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("condition snapshot")
        verbose_name_plural = _("condition snapshots")
        indexes = [models.Index(fields=["family", "observed_on"], name="condition_family_date")]

    def __str__(self) -> str:
        return f"{self.family_id}@{self.observed_on}"


class ExclusionFlag(models.Model):
    """A person's exclusion category (Kepmensos 73/HUK/2024) with its source; appealable, so never deleted:
    an appeal ends it (`active=False` with `ended_on` and `end_reason`) in a new version."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="exclusion_flags")
    category = models.CharField(max_length=24, choices=c.ExclusionCategory.choices)
    source = models.CharField(max_length=12, choices=c.ExclusionSource.choices)
    source_ref = models.CharField(max_length=64, blank=True)
    observed_on = models.DateField()
    active = models.BooleanField(default=True)
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = _history()

    class Meta:
        verbose_name = _("exclusion flag")
        verbose_name_plural = _("exclusion flags")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "category", "source", "observed_on"], name="uniq_exclusion_flag"
            )
        ]

    def __str__(self) -> str:
        return f"{self.category} ({self.source})"


class Event(models.Model):
    """Life and membership events: birth, death, moves between families, KK splits and merges, removals."""

    kind = models.CharField(max_length=16, choices=c.EventKind.choices)
    family = models.ForeignKey(Family, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    other_family = models.ForeignKey(
        Family, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    event_date = models.DateField()
    channel = models.CharField(max_length=20, choices=c.Channel.choices)
    source = models.CharField(max_length=60, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [models.Index(fields=["family", "event_date"], name="event_family_date")]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_date}"
