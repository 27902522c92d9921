"""Every write service in the code base leaves an audit record.

Scenario tests (test_audit.py, and each app's own tests) prove the records for the registry and accounts;
this test covers every `services.py` / `*_services.py` module of the project statically: each public function
that acts for a user (takes `actor=`), and each system batch writer, must reach `audit_record` / `audit_read`
(directly, through a private helper of its module, or through another service of the module), unless it is
listed below as writing nothing.
"""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "dtsen"
AUDIT_CALLS = {"audit_record", "audit_read"}
# Helpers of other modules that write their own audit record (checked below): the workflow state machine.
AUDITING_HELPERS = {"updates/machine.py": {"advance", "record_initial"}}

# Public functions of service modules that write nothing (pure helpers), with the reason.
NOT_WRITES = {
    "accounts/auth_services.py:two_factor_parse_token": "parses a typed code",
    "accounts/auth_services.py:two_factor_new_key": "makes a random key, stores nothing",
    "registry/services.py:snapshot": "builds the before/after picture for audit records",
    "exchange/services.py:nik_option": "checks the personal-data option of an export; the export audits it",
}


# Writers without an `actor` parameter (batch jobs of the system itself); they must audit too.
SYSTEM_WRITERS = {"regions/services.py:regions_load"}


def _service_modules() -> list[Path]:
    files = set(SRC.rglob("services.py")) | set(SRC.rglob("*_services.py"))
    # the update workflows' write modules are named after what they handle
    files |= {SRC / "updates" / m for m in ("submissions.py", "visits.py", "cutoff.py", "schedule.py", "demo.py")}
    # the audit module itself is where records are made
    return sorted(f for f in files if "migrations" not in f.parts and f != SRC / "audit" / "services.py")


def _takes_actor(fn: ast.FunctionDef) -> bool:
    args = fn.args
    return any(a.arg == "actor" for a in [*args.args, *args.kwonlyargs])


def _calls(fn: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            target = node.func
            if isinstance(target, ast.Name):
                names.add(target.id)
            elif isinstance(target, ast.Attribute):
                names.add(target.attr)
    return names


def _unaudited(path: Path, root: Path = SRC) -> list[str]:
    tree = ast.parse(path.read_text())
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    calls = {name: _calls(fn) for name, fn in functions.items()}
    helpers = set().union(*AUDITING_HELPERS.values())
    audited = {name for name, called in calls.items() if called & (AUDIT_CALLS | helpers)}
    changed = True
    while changed:  # a function that calls an audited function of the same module is audited too
        changed = False
        for name, called in calls.items():
            if name not in audited and called & audited:
                audited.add(name)
                changed = True
    rel = path.relative_to(root).as_posix()
    return [
        f"{rel}:{name}"
        for name, fn in functions.items()
        if not name.startswith("_")
        and name not in audited
        and f"{rel}:{name}" not in NOT_WRITES
        and (_takes_actor(fn) or f"{rel}:{name}" in SYSTEM_WRITERS)
    ]


def test_the_auditing_helpers_audit():
    for rel, names in AUDITING_HELPERS.items():
        tree = ast.parse((SRC / rel).read_text())
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        for name in names:
            assert _calls(functions[name]) & AUDIT_CALLS, f"{rel}:{name}"


def test_every_public_service_is_audited():
    missing = [item for path in _service_modules() for item in _unaudited(path)]
    assert missing == []


def test_the_check_sees_an_unaudited_service(tmp_path):
    module = tmp_path / "services.py"
    module.write_text(
        "def good(*, actor):\n    _helper()\n\n"
        "def _helper():\n    audit_record(actor=None, action='x')\n\n"
        "def bad(*, actor):\n    save()\n\n"
        "def pure(x):\n    return x\n"
    )
    assert [m.split(":")[1] for m in _unaudited(module, root=tmp_path)] == ["bad"]
