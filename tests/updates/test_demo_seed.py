"""The demo's sample proposals: each demo role finds work waiting, and a second run adds nothing."""

from __future__ import annotations

import pytest

from dtsen.updates.demo import demo_seed, demo_village
from dtsen.updates.models import Usulan, UsulanStatus
from dtsen.updates.selectors import work_queue
from tests.ranking import conftest_run as fx
from tests.updates.conftest import staff

pytestmark = pytest.mark.django_db
synth_dir = fx.synth_dir


def test_demo_seed_fills_every_queue(synth_dir):
    fx.registry_load(synth_dir, limit=400)
    village = demo_village("34.01")
    assert village is not None
    assert village.startswith("34.01.")
    operator = staff("operator.demo", "operator_desa", village)
    dinsos = staff("dinsos.demo", "dinsos_supervisor", "34.01")
    worker = staff("pendamping.demo", "pendamping_pkh", village.rsplit(".", 1)[0])
    ratifier = staff("kadis.demo", "ratifier", "34.01")
    assert demo_seed(region="34.01", village=village, operator=operator, dinsos=dinsos, worker=worker) == 5
    statuses = sorted(Usulan.objects.values_list("status", flat=True))
    assert statuses == sorted([UsulanStatus.DRAFT, UsulanStatus.TO_MUSDES, UsulanStatus.FIELD_CHECK,
                               UsulanStatus.RETURNED, UsulanStatus.VERIFIED])
    for user, kind in ((operator, "usulan"), (dinsos, "usulan"), (worker, "kunjungan"), (ratifier, "usulan")):
        assert any(item.kind == kind for item in work_queue(actor=user).items), user.username
    assert demo_seed(region="34.01", village=village, operator=operator, dinsos=dinsos, worker=worker) == 0
