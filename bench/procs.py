"""CPU accounting of the processes a load benchmark starts (gunicorn) and of the local PostgreSQL server, for
bench/public_search_load.py and bench/dci_search_load.py. Needs psutil (`pip install -e '.[bench]'`)."""

from __future__ import annotations


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children still running (psutil)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def postgres_cpu() -> float:
    """CPU seconds used so far by the local PostgreSQL server: the postmaster, its live processes and, through
    the postmaster's counts of waited-for children, the backends that have exited (psutil). Every database of
    the server counts, not only the bench's."""
    import psutil

    total = 0.0
    for p in psutil.process_iter(["name", "ppid"]):
        if p.info["name"] not in ("postgres", "postmaster"):
            continue
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
        if p.info["ppid"] == 1 or psutil.Process(p.info["ppid"]).name() not in ("postgres", "postmaster"):
            total += t.children_user + t.children_system  # the postmaster: its exited backends
    return total
