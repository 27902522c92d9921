"""docs/workflows.md shows the current transition tables: its generated part is what
scripts/render_workflows.py renders from dtsen.updates.machine and the permission matrix."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from dtsen.updates import machine

ROOT = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location("render_workflows", ROOT / "scripts" / "render_workflows.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_workflows_doc_shows_the_current_tables():
    module = _module()
    text = (ROOT / "docs" / "workflows.md").read_text()
    assert module.rendered(text) == text, "run scripts/render_workflows.py"


def test_every_transition_is_in_the_doc():
    text = (ROOT / "docs" / "workflows.md").read_text()
    for table in (machine.USULAN, machine.SUBMISSION, machine.VISIT):
        for (src, dst), rule in table.items():
            assert f"    {src} --> {dst} : {rule.permission} ({rule.actor_id})" in text
            assert f"| `{src}` | `{dst}` | `{rule.permission}` |" in text
    assert f"[*] --> {machine.USULAN_FROM_CITIZEN} : from a citizen submission" in text


def test_a_stale_doc_is_detected():
    module = _module()
    text = (ROOT / "docs" / "workflows.md").read_text()
    stale = text.replace("| `draf` | `dibatalkan` |", "| `draf` | `diterapkan` |")
    assert module.rendered(stale) != stale
