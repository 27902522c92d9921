"""API v1 for system clients (mounted at /api/v1/; schema at /api/v1/openapi.json, copy in docs/openapi.json).

Every endpoint reads through the apps' selectors and writes through their services with the token's user as the
actor, so a token sees exactly the regions of its user's roles: a family outside them is "not found". Every read
of a family or person is audited (channel "api"). Every refusal has the same body, `ErrorOut`: `code`,
`message_id`, `message_en` (400 refused by a service rule, 401 no or bad token, 403 permission missing, 404 not
found, 409 conflict (status changed, illegal transition), 422 invalid input or an unknown query parameter or a
reused idempotency key, 429 rate limit), and every status an endpoint can answer is in the schema. The routers:
registry.py, regions.py, ranking.py, programs.py, updates.py (usulan), visits.py; docs/api.md describes them.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Path
from ninja.errors import AuthenticationError, HttpError, ValidationError

from dtsen.accounts.permissions import REGISTRY_VIEW
from dtsen.api.auth import TokenAuth
from dtsen.api.programs import router as programs_router
from dtsen.api.ranking import router as ranking_router
from dtsen.api.regions import router as regions_router
from dtsen.api.registry import router as registry_router
from dtsen.api.schemas import ErrorOut, FamilyOut, MemberOut
from dtsen.api.updates import router as usulan_router
from dtsen.api.visits import router as visits_router
from dtsen.audit.services import audit_read
from dtsen.core.errors import ApplicationError, NotAuthenticated, NotFound, TooManyRequests
from dtsen.registry.crypto import nik_decrypt, nik_mask
from dtsen.registry.models import Person
from dtsen.registry.selectors import family_get_by_code, family_members

FAMILY_CODE = r"^[A-Za-z0-9]{1,24}$"
REFUSALS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut}

api = NinjaAPI(
    title="DTSEN API",
    version="1",
    description=(
        "Data Tunggal Sosial Ekonomi Nasional: the API for system clients. "
        "Authenticate with `Authorization: Bearer <token>` (tokens are issued with `dtsen api_token`); writes need "
        "an `Idempotency-Key` header. Lists are paginated with `limit` (at most 500) and `offset`; see docs/api.md."
    ),
    urls_namespace="api-v1",
    docs_url=None,  # the interactive docs page needs inline script and a CDN, which the CSP forbids
)


# ------------------------------------------------------------------------------------------ errors


def _error(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    response = api.create_response(request, error.as_dict(), status=error.status)
    if isinstance(error, TooManyRequests):
        response["Retry-After"] = str(error.extra.get("retry_after", 60))
    return response


@api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return _error(request, exc)


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(
        request, NotAuthenticated("Token API tidak sah.", "The API token is not valid.", code="token_invalid")
    )


class InvalidInput(ApplicationError):
    """Input that does not match the schema: 422, with the fields (`errors`: field and message)."""

    code = "validation_failed"
    status = 422


def invalid_input(errors: list[dict[str, str]]) -> InvalidInput:
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return InvalidInput(
        f"Data permintaan tidak valid: {fields}.", f"Invalid request data: {fields}.", errors=errors
    )


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ())[1:]) or "request",
            "message": str(e.get("msg", "")),
        }
        for e in exc.errors
    ]
    return _error(request, invalid_input(errors))


def _only_parameters(request: HttpRequest, *names: str) -> None:
    """Refuse query parameters the endpoint does not know (a misspelt `?NIK=` must not pass unnoticed)."""
    unknown = sorted(set(request.GET) - set(names))
    if unknown:
        raise invalid_input([{"field": name[:100], "message": "Unknown parameter"} for name in unknown[:20]])


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, NotFound("Tidak ditemukan.", "Not found."))


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    error = ApplicationError("Permintaan ditolak.", "The request was refused.", code="refused")
    error.status = exc.status_code
    return _error(request, error)


def api_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other address under /api/: the same JSON 404 as the API's own."""
    raise NotFound("Alamat API tidak dikenal.", "Unknown API address.")


# --------------------------------------------------------------------------------------- endpoints


def _masked_nik(person: Person) -> str:
    return nik_mask(nik_decrypt(person.nik_enc))


def _member(person: Person) -> MemberOut:
    return MemberOut(
        person_code=person.person_code,
        name=person.name,
        sex=person.sex,
        birth_date=person.birth_date,
        relationship=person.relationship,
        nik_masked=_masked_nik(person),
    )


@api.get(
    "/families/{family_code}",
    response={200: FamilyOut, 404: ErrorOut, **REFUSALS},
    auth=TokenAuth(REGISTRY_VIEW),
    operation_id="family_get",
    summary="A family and its active members (NIK masked)",
    description="Needs the scope `registry.view`. A family outside the regions of the token's user is 404.",
)
def family_get(
    request: HttpRequest,
    family_code: str = Path(
        ..., pattern=FAMILY_CODE, description="Registry family code, e.g. F3401012001A1B2C3"
    ),
) -> FamilyOut:
    _only_parameters(request)
    actor = request.auth.user  # type: ignore[attr-defined]
    family = family_get_by_code(actor=actor, family_code=family_code)
    members = family_members(actor=actor, family=family)
    audit_read(actor=actor, object_type="family", object_id=family.pk, person_ids=[p.pk for p in members])
    head = next((p.person_code for p in members if p.pk == family.head_id), None)
    return FamilyOut(
        family_code=family.family_code,
        kk_number=family.kk_number,
        village_code=family.village_code,
        rw=family.rw,
        rt=family.rt,
        address=family.address,
        status=family.status,
        head_person_code=head,
        members=[_member(p) for p in members],
    )


api.add_router("/usulan", usulan_router)  # the update channels (api/updates.py)
api.add_router("/", registry_router)  # families, members, conditions, persons (api/registry.py)
api.add_router("/", regions_router)  # api/regions.py
api.add_router("/", ranking_router)  # api/ranking.py
api.add_router("/", programs_router)  # api/programs.py
api.add_router("/", visits_router)  # api/visits.py
