"""The one-gate rule is enforced: interfaces never query personal-data models directly."""

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_gate.py"


def _load():
    spec = importlib.util.spec_from_file_location("check_gate", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_gate"] = module
    spec.loader.exec_module(module)
    return module


def test_the_code_base_passes_the_gate():
    gate = _load()
    assert [v for f in gate.interface_files() for v in gate.violations(f)] == []


def test_the_gate_catches_a_direct_query(tmp_path, monkeypatch):
    gate = _load()
    app = tmp_path / "registry"
    app.mkdir()
    bad = app / "views.py"
    bad.write_text(
        "from dtsen.registry.models import Family as F\n"
        "def v(request):\n"
        "    return F.objects.filter(village_code='34')\n"
    )
    ok = app / "other_views.py"
    ok.write_text("from dtsen.registry.models import Family\nx: Family | None = None\n")
    monkeypatch.setattr(gate, "ROOT", tmp_path)
    found = [v for f in gate.interface_files() for v in gate.violations(f)]
    assert found == ["registry/views.py:3: queries F.objects"]
