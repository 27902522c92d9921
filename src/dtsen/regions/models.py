"""Kemendagri administrative regions (wilayah) per edition of the code table, and changes between editions.

Region data are public reference data, loaded from files shipped with dtsen (`regions_load`), never
edited by hand. Other apps refer to a region by its code string (e.g. a family's village code),
not by a foreign key, so that a record keeps the code it was registered with across editions.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from dtsen.regions import changes, codes


class RegionLevel(models.IntegerChoices):
    PROVINCE = 1, _("Province")
    REGENCY = 2, _("Regency/city")
    DISTRICT = 3, _("District")
    VILLAGE = 4, _("Village")


class RegionKind(models.TextChoices):
    # Legal terms with no faithful English word keep their Indonesian names.
    PROVINSI = codes.KIND_PROVINSI, _("Provinsi")
    KABUPATEN = codes.KIND_KABUPATEN, _("Kabupaten")
    KOTA = codes.KIND_KOTA, _("Kota")
    KECAMATAN = codes.KIND_KECAMATAN, _("Kecamatan")
    KELURAHAN = codes.KIND_KELURAHAN, _("Kelurahan")
    DESA = codes.KIND_DESA, _("Desa")
    DESA_ADAT = codes.KIND_DESA_ADAT, _("Desa adat")


class RegionChangeKind(models.TextChoices):
    ADDED = changes.ADDED, _("Added")
    REMOVED = changes.REMOVED, _("Removed")
    RENAMED = changes.RENAMED, _("Renamed")
    RECODED = changes.RECODED, _("Recoded")


class Edition(models.Model):
    """One edition of the code table, as set by a Kepmendagri."""

    code = models.CharField(_("code"), max_length=4, unique=True, help_text=_('For example "2025".'))
    regulation = models.CharField(_("regulation"), max_length=200)
    valid_from = models.DateField(_("valid from"))
    is_current = models.BooleanField(_("current"), default=False)
    source = models.CharField(_("data source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("edition")
        verbose_name_plural = _("editions")
        ordering = ["valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"], condition=Q(is_current=True), name="edition_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.regulation})"


class Region(models.Model):
    """A province, kab/kota, kecamatan or village in one edition."""

    edition = models.ForeignKey(
        Edition, on_delete=models.PROTECT, related_name="regions", verbose_name=_("edition")
    )
    code = models.CharField(_("code"), max_length=codes.CODE_MAX_LENGTH)
    name = models.CharField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), choices=RegionLevel.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=RegionKind.choices)
    parent_code = models.CharField(_("parent code"), max_length=codes.CODE_MAX_LENGTH, blank=True)
    population_male = models.PositiveIntegerField(_("male population"), null=True, blank=True)
    population_female = models.PositiveIntegerField(_("female population"), null=True, blank=True)
    population_total = models.PositiveIntegerField(_("population"), null=True, blank=True)
    area_km2 = models.DecimalField(_("area (km²)"), max_digits=12, decimal_places=3, null=True, blank=True)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        constraints = [
            models.UniqueConstraint(fields=["edition", "code"], name="region_edition_code_uniq"),
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=4), name="region_level_range"),
        ]
        indexes = [
            models.Index(fields=["edition", "parent_code"], name="region_edition_parent_idx"),
            models.Index(fields=["edition", "level"], name="region_edition_level_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RegionChange(models.Model):
    """One difference between two editions (see `dtsen.regions.changes` for how it is computed)."""

    from_edition = models.ForeignKey(
        Edition, on_delete=models.PROTECT, related_name="changes_from", verbose_name=_("from edition")
    )
    to_edition = models.ForeignKey(
        Edition, on_delete=models.PROTECT, related_name="changes_to", verbose_name=_("to edition")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=RegionChangeKind.choices)
    level = models.PositiveSmallIntegerField(_("level"), choices=RegionLevel.choices)
    old_code = models.CharField(_("old code"), max_length=codes.CODE_MAX_LENGTH, blank=True)
    new_code = models.CharField(_("new code"), max_length=codes.CODE_MAX_LENGTH, blank=True)
    old_name = models.CharField(_("old name"), max_length=100, blank=True)
    new_name = models.CharField(_("new name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("region change")
        verbose_name_plural = _("region changes")
        constraints = [
            models.UniqueConstraint(
                fields=["from_edition", "to_edition", "kind", "old_code", "new_code"],
                name="region_change_uniq",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=changes.ADDED, old_code="")
                    | Q(kind=changes.REMOVED, new_code="")
                    | (Q(kind__in=[changes.RENAMED, changes.RECODED]) & ~Q(old_code="") & ~Q(new_code=""))
                ),
                name="region_change_codes_fit_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["from_edition", "to_edition", "old_code"], name="region_change_old_idx"),
            models.Index(fields=["from_edition", "to_edition", "new_code"], name="region_change_new_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.old_code or '-'} → {self.new_code or '-'}"
