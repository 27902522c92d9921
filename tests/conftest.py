"""Project-wide test setup.

The region tables (both shipped editions, 2022 and 2025, and the changes between them) are loaded
ONCE per test session into the test database, right after pytest-django creates it, so every test
can rely on real codes, e.g. Kabupaten Kulon Progo "34.01" and its villages "34.01.01.2001" ...
Loading takes about two seconds on SQLite and on PostgreSQL; with `--reuse-db` it is a no-op check.

Transactional tests (`transaction=True`, `transactional_db`, `live_server`) end by flushing every
table, regions included; `_regions_after_flush` reloads them at the start of the next such test.
App-specific fixtures belong in each app's own `tests/<app>/conftest.py`.
"""

from __future__ import annotations

import pytest
from django.core.cache import caches
from pytest_django import DjangoDbBlocker

from dtsen.regions.models import Region
from dtsen.regions.services import regions_load


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> None:
    """pytest-django's database setup, then the regions (both editions)."""
    with django_db_blocker.unblock():
        regions_load(progress=False)


def _is_transactional(request: pytest.FixtureRequest) -> bool:
    if {"transactional_db", "live_server"} & set(request.fixturenames):
        return True
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return False
    transaction = marker.kwargs.get("transaction", marker.args[0] if marker.args else False)
    reset_sequences = marker.kwargs.get("reset_sequences", marker.args[1] if len(marker.args) > 1 else False)
    return bool(transaction or reset_sequences)


@pytest.fixture(autouse=True)
def _regions_after_flush(request: pytest.FixtureRequest) -> None:
    """Reload the regions for a transactional test when an earlier one flushed them away."""
    if not _is_transactional(request):
        return
    request.getfixturevalue("transactional_db")
    if not Region.objects.exists():
        regions_load(progress=False)


@pytest.fixture(autouse=True)
def _auth_defaults(settings) -> None:
    """Suites that log staff in with `force_login` test pages, not authentication: the second factor is
    enforced where a test asks for it (tests/security turns it on for all its tests). Rate-limit counters
    live in the cache: emptied so that one test's requests do not count against the next."""
    settings.TWO_FACTOR_ENFORCED = False
    caches[settings.RATELIMIT_USE_CACHE].clear()
    # per-process caches of rows (a rolled-back test's partners and runs must not reach the next test)
    from dtsen.core.ratelimits import batched_counts_clear
    from dtsen.dci.selectors import dci_cache_clear

    dci_cache_clear()
    batched_counts_clear()
