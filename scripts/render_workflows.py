#!/usr/bin/env python3
"""Render the workflow transition tables (updates/machine.py) and who may take each step (the permission matrix,
accounts/permissions.py) into docs/workflows.md between its markers: per workflow a Mermaid state diagram and
a table of the transitions (from, to, permission, who, roles, evidence).

    scripts/render_workflows.py           rewrite the generated part of docs/workflows.md
    scripts/render_workflows.py --check   exit 1 when docs/workflows.md is out of date (tests do the same)
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "workflows.md"
BEGIN = "<!-- BEGIN GENERATED -->"
END = "<!-- END GENERATED -->"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dtsen.settings")
    import django

    django.setup()


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def workflow_section(name: str, title: str) -> str:
    from dtsen.accounts.models import Role
    from dtsen.accounts.permissions import MATRIX
    from dtsen.updates import machine
    from dtsen.updates.models import SubmissionStatus, Usulan, Visit

    _, table, choices = machine.TABLES[name]
    # Where an item starts: the model's default status; a citizen's submission either waits for Dinsos or is
    # rejected at once by the automatic checks; an accepted submission creates an usulan ready for ratification.
    entries: list[tuple[str, str]] = {
        "usulan": [
            (str(Usulan._meta.get_field("status").default), "drafted by the village operator"),
            (machine.USULAN_FROM_CITIZEN, "from a citizen submission accepted by Dinsos"),
        ],
        "pengajuan": [
            (SubmissionStatus.SUBMITTED, "submitted by a citizen"),
            (SubmissionStatus.REJECTED, "refused by the automatic checks"),
        ],
        "kunjungan": [(str(Visit._meta.get_field("status").default), "assigned by Dinsos")],
    }[name]
    states = [s for s in choices.values if any(s in pair for pair in table) or s in dict(entries)]
    finals = [s for s in states if not any(src == s for src, _ in table)]

    lines = [f"### {title}", "", "```mermaid", "stateDiagram-v2"]
    for s in states:
        lines.append(f"    {s} : {choices(s).label}")
    for s, how in entries:
        lines.append(f"    [*] --> {s} : {how}")
    for (src, dst), rule in table.items():
        lines.append(f"    {src} --> {dst} : {rule.permission} ({rule.actor_id})")
    for s in finals:
        lines.append(f"    {s} --> [*]")
    lines += ["```", ""]

    lines += ["| from | to | permission | who | roles holding the permission | evidence required |",
              "|---|---|---|---|---|---|"]
    for (src, dst), rule in table.items():
        roles = ", ".join(f"`{r.value}`" for r in Role if rule.permission in MATRIX.get(r, frozenset()))
        evidence = "; ".join(
            f"{machine.EVIDENCE_TEXT[e][0]} / {machine.EVIDENCE_TEXT[e][1]}" for e in rule.evidence
        )
        lines.append(
            f"| `{src}` | `{dst}` | `{rule.permission}` | {_cell(rule.actor_id)} | {roles or '-'} | "
            f"{_cell(evidence) or '-'} |"
        )
    lines.append("")
    lines.append("Statuses: " + "; ".join(f"`{s}` {choices(s).label}" for s in states) + ".")
    return "\n".join(lines)


def generated() -> str:
    _setup()
    from django.utils import translation

    from dtsen.updates.models import Workflow

    titles = {
        Workflow.USULAN: "Usulan: the formal channel (`usulan`)",
        Workflow.SUBMISSION: "Citizen submissions: usul and sanggah (`pengajuan`)",
        Workflow.VISIT: "Verification visits (`kunjungan`)",
    }
    with translation.override(None):  # the labels' source text (English), whatever the catalogues hold
        parts = [workflow_section(name, title) for name, title in titles.items()]
    note = ("<!-- Rendered by scripts/render_workflows.py from dtsen/updates/machine.py and "
            "dtsen/accounts/permissions.py: edit those, then run the script. -->")
    return "\n\n".join([note, *parts])


def rendered(text: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + r"\n.*?" + re.escape(END), flags=re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOC}: markers {BEGIN} ... {END} not found")
    return pattern.sub(lambda m: BEGIN + "\n" + generated() + "\n" + END, text, count=1)


if __name__ == "__main__":
    current = DOC.read_text()
    new = rendered(current)
    if "--check" in sys.argv:
        if new != current:
            sys.stderr.write("docs/workflows.md is out of date: run scripts/render_workflows.py\n")
            sys.exit(1)
        sys.exit(0)
    DOC.write_text(new)
