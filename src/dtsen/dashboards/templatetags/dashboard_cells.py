"""Formatting of a dashboard table cell by its column kind (tables.Column.kind), in the active language."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.formats import number_format

from dtsen.dashboards.tables import csv_value

register = template.Library()


@register.filter
def cell(value: Any, kind: str) -> str:
    """The shown text: thousands separators, a share as a percentage, an empty cell as a dash."""
    if value is None:
        return "–"
    if kind == "pct":
        return number_format(value * 100, 1, use_l10n=True) + " %"
    if kind == "days":
        return number_format(value, 1, use_l10n=True)
    if kind in ("int", "rupiah") and isinstance(value, int):
        text = number_format(value, 0, use_l10n=True, force_grouping=True)
        return "Rp" + text if kind == "rupiah" else text
    return str(value)


@register.filter
def raw(value: Any, kind: str) -> str:
    """The value the CSV holds for the cell (also its `data-value`)."""
    return csv_value(value, kind)


@register.filter
def pair(row: list[Any], columns: list[Any]) -> list[tuple[Any, Any]]:
    return list(zip(row, columns, strict=True))
