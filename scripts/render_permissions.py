#!/usr/bin/env python3
"""Render the permission matrix (accounts/permissions.py) into docs/security.md between its markers."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "security.md"


def table() -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dtsen.settings")
    import django

    django.setup()
    from dtsen.accounts.models import Role
    from dtsen.accounts.permissions import MATRIX

    perms = sorted({p for ps in MATRIX.values() for p in ps})
    lines = ["| role | " + " | ".join(f"`{p}`" for p in perms) + " |", "|---|" + "---|" * len(perms)]
    for role in Role:
        granted = MATRIX.get(role, frozenset())
        cells = ["✔" if p in granted else "" for p in perms]
        lines.append(f"| {role.label} (`{role.value}`) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rendered(text: str) -> str:
    return re.sub(
        r"(<!-- permissions:start -->\n).*?(<!-- permissions:end -->)",
        lambda m: m.group(1) + table() + "\n" + m.group(2),
        text,
        flags=re.S,
    )


if __name__ == "__main__":
    new = rendered(DOC.read_text())
    if "--check" in sys.argv:
        sys.exit(0 if new == DOC.read_text() else 1)
    DOC.write_text(new)
