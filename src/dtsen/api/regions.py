"""API v1: the regions of Indonesia (Kemendagri codes), public reference data behind a valid token of any scope.

- `GET /regions`: the provinces; `GET /regions/{code}`: one region with its ancestors (province first);
- `GET /regions/{code}/children`: the regions directly below, by code, paginated.

`edition` (e.g. 2025, 2022) picks an edition of the codes; the current one otherwise.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema

from dtsen.api.auth import TokenAuth
from dtsen.api.schemas import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, ErrorOut, PageOut, page
from dtsen.regions.models import Region
from dtsen.regions.selectors import edition_get, region_ancestors, region_children, region_get

CODE = r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$"
EDITION = r"^[0-9]{4}$"
REFUSALS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}

router = Router(tags=["regions"])


class RegionOut(Schema):
    code: str
    name: str
    level: int
    kind: str
    parent_code: str
    edition: str


class RegionDetailOut(RegionOut):
    ancestors: list[RegionOut]
    population_total: int | None


class RegionPageOut(PageOut):
    results: list[RegionOut]


def _only_parameters(request: HttpRequest, *names: str) -> None:
    from dtsen.api.api import _only_parameters as only  # api.py mounts this router: imported at call time

    only(request, *names)


def _out(region: Region, edition: str) -> RegionOut:
    return RegionOut(code=region.code, name=region.name, level=region.level, kind=region.kind,
                     parent_code=region.parent_code, edition=edition)


def _children(request: HttpRequest, code: str, edition: str | None, limit: int, offset: int) -> dict[str, Any]:
    _only_parameters(request, "edition", "limit", "offset")
    if edition:
        edition_get(edition)  # an unknown edition is 404, not an empty list
    parent = region_get(code, edition) if code else None
    label = parent.edition.code if parent is not None else ""
    rows = list(region_children(code, edition).select_related("edition")[offset : offset + limit + 1])
    rows, meta = page(rows, limit, offset)
    return {**meta, "results": [_out(r, label or r.edition.code) for r in rows]}


Edition = Query(None, pattern=EDITION, description="Edition of the codes, e.g. 2025 (default: the current one)")
Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
Offset = Query(0, ge=0, le=MAX_OFFSET)
Code = Path(..., pattern=CODE, description="Region code, e.g. 34, 34.01, 34.01.01, 34.01.01.2001")


@router.get("/regions", response={200: RegionPageOut, **REFUSALS}, auth=TokenAuth(None), operation_id="region_list",
            summary="The provinces", description="Any valid token. An unknown `edition` is 404.")
def provinces(request: HttpRequest, edition: str | None = Edition, limit: int = Limit,
              offset: int = Offset) -> dict[str, Any]:
    return _children(request, "", edition, limit, offset)


@router.get("/regions/{code}", response={200: RegionDetailOut, **REFUSALS}, auth=TokenAuth(None),
            operation_id="region_get", summary="One region with its ancestors (province first)",
            description="Any valid token. A code that is not in the edition is 404.")
def region(request: HttpRequest, code: str = Code, edition: str | None = Edition) -> RegionDetailOut:
    _only_parameters(request, "edition")
    found = region_get(code, edition)
    label = found.edition.code
    chain = [_out(r, label) for r in region_ancestors(code, found.edition) if r.code != found.code]
    return RegionDetailOut(**_out(found, label).model_dump(), ancestors=chain, population_total=found.population_total)


@router.get("/regions/{code}/children", response={200: RegionPageOut, **REFUSALS}, auth=TokenAuth(None),
            operation_id="region_children", summary="The regions directly below a region, by code",
            description="Any valid token. A code that is not in the edition is 404.")
def children(request: HttpRequest, code: str = Code, edition: str | None = Edition, limit: int = Limit,
             offset: int = Offset) -> dict[str, Any]:
    return _children(request, code, edition, limit, offset)
