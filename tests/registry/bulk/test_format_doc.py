"""docs/import-format.md documents exactly the format of schema.py and every problem code."""

from __future__ import annotations

import re
from pathlib import Path

from dtsen.registry.bulk.codes import CODES
from dtsen.registry.schema import TABLES

DOC = Path(__file__).resolve().parents[3] / "docs" / "import-format.md"


def table_sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^### `(\w+)`", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1].split("\n### ")[0] for i in range(1, len(parts), 2)}


def cells(line: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]


def test_every_column_of_the_schema_is_documented_in_its_table():
    documented = table_sections()
    assert set(TABLES) <= set(documented)
    for name, table in TABLES.items():
        section = documented[name]
        assert section.startswith(f" (key: `{table.key}`)")
        rows = [cells(line) for line in section.splitlines() if line.startswith("| `")]
        assert [row[0].strip("`") for row in rows] == table.names, name
        for col, row in zip(table.columns, rows, strict=True):
            assert row[1:3] == [col.type, "yes" if col.required else "no"], col.name
            assert row[3] == ", ".join(f"`{v}`" for v in col.choices or ()), col.name


def test_every_problem_code_is_documented_with_its_messages():
    text = DOC.read_text(encoding="utf-8")
    rows = [cells(line) for line in text.splitlines() if line.startswith("| `")]
    documented = {row[0].strip("`"): row for row in rows}
    for code in CODES.values():
        assert documented.get(code.code) == [
            f"`{code.code}`", str(2 if code.fatal else 1), code.message_id, code.message_en
        ], code.code
