"""Schemathesis against the API's own OpenAPI schema, in-process (WSGI), over every operation (reads and
writes): generated valid and invalid input with a token that carries every scope its user holds (a village
operator and a TKSK of Temon, so the writes get past the scope check), and the same without a token; no server
error, no status the schema does not document, no body or header that violates it, authentication not ignored.

Run time: every operation gets at most `EXAMPLES` derandomized examples (the whole file takes about a minute
or two; CI stays well under its 20 minutes).

The schema is loaded when the module is imported (the schema endpoint touches no database), not through
`schemathesis.pytest.from_fixture`: with pytest 9 that loader fails (it reads the removed `Node._nodeid`)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from dtsen.accounts.models import Role
from dtsen.accounts.permissions import MATRIX

from .conftest import KEC_A, issue, make_user

pytestmark = pytest.mark.django_db
EXAMPLES = 20

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    """No rate limit in the way (the limit itself is tested in test_api and test_ratelimits)."""
    settings.RATE_LIMITS = {"api": "100000/m", "public": "100000/m"}


@pytest.fixture
def families(family_a, family_b):
    """Two families to find (or not: one is outside the token's region)."""
    return family_a, family_b


@pytest.fixture
def wide_token(superuser) -> str:
    user = make_user("klien.luas", (Role.OPERATOR_DESA, "34.01.01.2001"), (Role.TKSK, KEC_A))
    scopes = sorted(MATRIX[Role.OPERATOR_DESA] | MATRIX[Role.TKSK])
    return issue(user, actor=superuser, scopes=scopes).secret


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django's WSGI handler closes the database connection after each request (`close_old_connections`),
    which would close the test's transaction on PostgreSQL; Django's own test client disconnects it the same
    way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _empty_list_parameter(case) -> bool:
    # A parameter whose value is an empty list is not sent at all: such a "negative" case reaches the server as a
    # valid request (on endpoints whose parameters are all optional it rightly gets 200).
    return any(value == [] for value in (case.query or {}).values())


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema(case, wide_token, families):
    if _empty_list_parameter(case):
        return
    # Excluded: "positive data acceptance" (a schema-valid request must not be refused). The services refuse
    # generated data by their own rules (an unknown village, a payload without members: 400), and such a refusal
    # is the point; every status is still checked against the schema.
    case.call_and_validate(headers={"Authorization": f"Bearer {wide_token}"},
                           excluded_checks=[positive_data_acceptance])


def test_without_a_valid_token_every_operation_is_401(client):
    """Every operation of the schema, with no token and with a token that does not exist: 401 with the error body
    whatever else the request carries (authentication runs before anything is read from the request). One plain
    request each: the generated cases above already run schemathesis' own `ignored_auth` check."""
    document = client.get("/api/v1/openapi.json").json()
    sample = {"family_code": "F3401012001A1B2C3", "reference": "USL-202611-7KQ2MX", "code": "34.01", "run_id": "1",
              "visit_id": "1"}
    operations = [(path, method) for path, ops in document["paths"].items() for method in ops]
    assert len(operations) >= 24
    for path, method in operations:
        url = path.format(**sample)
        for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer dtsen_00000000_nope"}):
            response = getattr(client, method)(url, **headers)
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["code"] in ("token_missing", "token_invalid")
