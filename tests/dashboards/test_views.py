"""The dashboard pages and CSV downloads: scope by URL (path and query), refusals, the CSV equals the table
cell for cell, every page and download audited, and the navigation flag."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import RequestFactory

from dtsen.audit.models import AuditRecord
from dtsen.core.context_processors import navigation
from tests.dashboards.conftest import VILLAGE_BANTUL
from tests.registry.factories import VILLAGE_A

KEYS = ("desil", "transitions", "regions", "programs", "queues", "workers", "quality", "map")


class Tables(HTMLParser):
    """{data-table: {"head": [labels], "rows": [[data-value, ...]]}} of a rendered page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, list[Any]]] = {}
        self.current: str | None = None
        self.in_head = False
        self.cell: list[str] | None = None
        self.row: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("data-table"):
            self.current = str(a["data-table"])
            self.tables[self.current] = {"head": [], "rows": []}
        elif self.current and tag == "thead":
            self.in_head = True
        elif self.current and tag == "tr":
            self.row = []
        elif self.current and tag in ("th", "td"):
            if self.in_head:
                self.cell = []
            elif "data-value" in a:
                self.row.append(a["data-value"] or "")

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if not self.current:
            return
        if tag == "th" and self.in_head and self.cell is not None:
            self.tables[self.current]["head"].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "thead":
            self.in_head = False
        elif tag == "tr" and not self.in_head and self.row:
            self.tables[self.current]["rows"].append(self.row)
        elif tag == "table":
            self.current = None


def _tables(html: str) -> dict[str, dict[str, list[Any]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def _csv(response: Any) -> list[list[str]]:
    body = response.content
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_dinsos_page_shows_only_their_kabupaten(client, world, monkeypatch) -> None:
    # the kabupaten's map is drawn on its province's boundaries (whichever file the map app ships for "34")
    asked: list[str] = []
    monkeypatch.setattr("dtsen.dashboards.views.boundary_file",
                        lambda code: asked.append(code) or f"dashboards/geo/kab-{code}.json")
    client.force_login(world["dinsos"])
    response = client.get("/dasbor/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Kabupaten Kulon Progo" in html
    assert "Bantul" not in html
    assert "Srandakan" not in html
    assert 'value="34.01.01"' in html
    assert 'value="34.02' not in html
    assert 'data-choropleth' in html
    assert 'data-values="map-values"' in html
    assert asked == ["34"]
    assert 'data-boundaries="/static/dashboards/geo/kab-34.json"' in html
    assert "data-link" not in html  # the other kabupaten of the province are not the user's to open
    tables = _tables(html)
    assert set(tables) == set(KEYS)
    assert tables["desil"]["rows"][0][:4] == ["1", "2", "2", "0"]
    assert [r[1] for r in tables["map"]["rows"]] == ["34.01"]
    record = AuditRecord.objects.order_by("-seq").first()
    assert (record.action, record.object_id) == ("dashboard.view", "34.01")


@pytest.mark.parametrize("url", [
    "/dasbor/34.02/", "/dasbor/?region=34.02", "/dasbor/34/", f"/dasbor/{VILLAGE_BANTUL}/",
    "/dasbor/34.02/?csv=desil", "/dasbor/?region=34.02&csv=desil", "/dasbor/?region=34&csv=map",
])
def test_dinsos_refused_for_another_kabupaten(client, world, url) -> None:
    client.force_login(world["dinsos"])
    before = AuditRecord.objects.filter(object_type="dashboard").count()
    response = client.get(url)
    assert response.status_code == 403
    assert b"Bantul" not in response.content
    assert AuditRecord.objects.filter(object_type="dashboard").count() == before


def test_anonymous_and_citizen_refused(client, world) -> None:
    response = client.get("/dasbor/34.01/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    response = client.get("/dasbor/34.01/?csv=desil")
    assert response.status_code == 302
    client.force_login(world["citizen"].user)
    assert client.get("/dasbor/").status_code == 403
    assert client.get("/dasbor/34.01/?csv=desil").status_code == 403


@pytest.mark.parametrize("key", KEYS)
def test_csv_equals_the_table(client, world, key) -> None:
    client.force_login(world["dinsos"])
    page = _tables(client.get("/dasbor/34.01/").content.decode())[key]
    response = client.get(f"/dasbor/34.01/?csv={key}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    disposition = response["Content-Disposition"]
    assert f"dtsen-dasbor-{key}-34.01-" in disposition
    assert disposition.endswith('.csv"')
    rows = _csv(response)
    assert rows[0] == page["head"]
    assert rows[1:] == page["rows"]
    record = AuditRecord.objects.order_by("-seq").first()
    assert (record.action, record.object_id) == ("dashboard.export", f"34.01:{key}")


def test_csv_numbers(client, world) -> None:
    client.force_login(world["dinsos"])
    desil = _csv(client.get("/dasbor/34.01/?csv=desil"))
    assert [r[:4] for r in desil[1:]] == [
        ["1", "2", "2", "0"], ["2", "1", "2", "-1"], ["3", "1", "1", "0"], ["4", "1", "0", "1"],
        ["5", "1", "1", "0"], ["6", "0", "0", "0"], ["7", "1", "0", "1"], ["8", "0", "0", "0"],
        ["9", "0", "0", "0"], ["10", "0", "0", "0"]]
    programs = {r[1]: r for r in _csv(client.get("/dasbor/34.01/?csv=programs"))[1:]}
    assert programs["pkh"][3:] == ["2", "2", "1", "1", "5", "40.0", "8400000", "3000000"]
    regions = _csv(client.get("/dasbor/?region=34.01&csv=regions"))
    assert [r[1:4] for r in regions[1:3]] == [["34.01.01", "4", "75.0"], ["34.01.02", "3", "66.7"]]
    assert _csv(client.get("/dasbor/34.01/?csv=map"))[1] == ["Kabupaten Kulon Progo", "34.01", "7", "71.4"]


def test_village_page_and_unknown_table(client, world) -> None:
    client.force_login(world["dinsos"])
    response = client.get(f"/dasbor/{VILLAGE_A}/")
    assert response.status_code == 200
    tables = _tables(response.content.decode())
    assert "regions" not in tables
    assert "map" not in tables
    assert client.get("/dasbor/34.01/?csv=nope").status_code == 404
    assert client.get("/dasbor/?region=34.01.99").status_code == 400


def test_provincial_viewer_sees_both_kabupaten(client, world, viewer, monkeypatch) -> None:
    monkeypatch.setattr("dtsen.dashboards.views.boundary_file", lambda code: f"dashboards/geo/kab-{code}.json")
    client.force_login(viewer)
    html = client.get("/dasbor/").content.decode()
    assert "Kabupaten Kulon Progo" in html
    assert "Kabupaten Bantul" in html
    tables = _tables(html)
    assert [r[1] for r in tables["map"]["rows"]] == ["34.01", "34.02"]
    assert 'data-link="/dasbor/?region={code}"' in html
    assert client.get("/dasbor/34.02/").status_code == 200
    assert client.get("/dasbor/35/").status_code == 403


def test_navigation_flag(world) -> None:
    request = RequestFactory().get("/")
    request.user = world["dinsos"]
    assert navigation(request)["can_dashboard"] is True
    request.user = world["citizen"].user
    assert navigation(request)["can_dashboard"] is False


def test_page_query_count_does_not_grow_with_the_data(client, world, django_assert_max_num_queries) -> None:
    """The page runs a fixed number of grouped queries, whatever the number of families, items or workers
    (the deadlines of the monthly schedule add at most one lookup per distinct status and day)."""
    client.force_login(world["dinsos"])
    client.get("/dasbor/34.01/")  # warm the session and the user's caches
    with django_assert_max_num_queries(40):
        assert client.get("/dasbor/34.01/").status_code == 200
