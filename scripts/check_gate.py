#!/usr/bin/env python3
"""The one-gate rule (issue 3): interfaces never query personal-data models directly.

Interfaces are views, URL configs, API modules, template tags, forms and management commands of the dtsen
package. They must read personal data through selectors (which take the acting user) and write through
services. This check fails when an interface module touches a personal-data model's `.objects`,
`._default_manager` or `.history` (importing the class for type hints or field labels is allowed), or
imports a models module whole. Exit status 1 lists every violation; 0 means the rule holds.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "dtsen"

# Models that hold personal data (UU 27/2022): the registry and citizen/document records.
PERSONAL_MODELS = {
    "dtsen.registry.models": {
        "Family",
        "Person",
        "Dwelling",
        "Condition",
        "ExclusionFlag",
        "Event",
        "FamilyKkNumber",
        "HistoricalFamily",
        "HistoricalPerson",
    },
    "dtsen.accounts.models": {"CitizenAccount"},
    "dtsen.documents.models": {"Document"},
    "dtsen.updates.models": {"Usulan", "Submission", "Visit", "Musdes", "Penetapan", "Transition"},
    "dtsen.programs.models": {
        "EligibilityResult",
        "Decree",
        "Disbursement",
        "Membership",
        "PpksRecord",
        "EmpowermentActivity",
    },
    "dtsen.linkage.models": {"CandidatePair", "PairDecision", "Merge"},
}
INTERFACE_PATTERNS = (
    "views.py",
    "*_views.py",
    "urls.py",
    "*_urls.py",
    "api.py",
    "*_api.py",
    "api/*.py",
    "forms.py",
    "templatetags/*.py",
    "management/commands/*.py",
)
# Bulk commands hand over to services (registry.bulk) and do not touch the models themselves; `demo` only
# counts rows to decide whether to import (no personal data leaves).
ALLOWED = {("core/management/commands/demo.py", "Family")}


def interface_files() -> list[Path]:
    files: set[Path] = set()
    for pattern in INTERFACE_PATTERNS:
        files.update(ROOT.rglob(pattern))
    return sorted(f for f in files if "migrations" not in f.parts)


def violations(path: Path) -> list[str]:
    rel = path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(), filename=str(path))
    imported: dict[str, str] = {}
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in PERSONAL_MODELS:
            for alias in node.names:
                if alias.name == "*":
                    found.append(f"{rel}:{node.lineno}: star import of {node.module}")
                elif alias.name in PERSONAL_MODELS[node.module]:
                    # importing for type hints or field labels is fine; querying is not (below)
                    imported[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in PERSONAL_MODELS:
                    found.append(f"{rel}:{node.lineno}: imports module {alias.name}")
        elif isinstance(node, ast.Attribute) and node.attr in {"objects", "_default_manager", "history"}:
            base = node.value
            name = (
                base.id
                if isinstance(base, ast.Name)
                else base.attr
                if isinstance(base, ast.Attribute)
                else ""
            )
            if name in imported and (rel, imported[name]) not in ALLOWED:
                found.append(f"{rel}:{node.lineno}: queries {name}.{node.attr}")
    return found


def main() -> int:
    problems = [v for f in interface_files() for v in violations(f)]
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} pelanggaran / violations: use selectors and services (see docs/security.md)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
