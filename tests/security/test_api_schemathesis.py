"""Schemathesis against the API's own OpenAPI schema, in-process (WSGI), with a valid token: every operation
gets generated valid and invalid input; no server error, no status the schema does not document, no body or
header that violates it, authentication not ignored.

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

pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _data(settings, family_a, family_b):
    """Two families to find (or not: one is outside the token's region); no rate limit in the way (the limit
    itself is tested in test_api and test_ratelimits)."""
    settings.RATE_LIMITS = {"api": "100000/m", "public": "100000/m"}


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


@schema.parametrize()
@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_api_conforms_to_its_schema(case, token):
    if any(value == [] for value in (case.query or {}).values()):
        # A parameter whose value is an empty list is not sent at all: such a "negative" case reaches the
        # server as a valid request (on endpoints whose parameters are all optional it rightly gets 200).
        return
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
