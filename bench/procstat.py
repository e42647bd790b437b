"""Process accounting for the benchmarks: CPU time and RSS of a process tree from ``/proc``.

A server's cost per operation is the growth of its processes' utime + stime (all uvicorn
workers, or node) between two snapshots, divided by the operations completed in between.
"""

from __future__ import annotations

import os
from pathlib import Path


def parse_proc_stat(text: str) -> tuple[int, int, int]:
    """(ppid, utime + stime in clock ticks, rss in pages) from the text of /proc/PID/stat.

    The command name (field 2) is in parentheses and may hold spaces and ')': split at the last
    ')'. After it: state, ppid, … utime is field 14 and stime field 15 (1-based), rss field 24."""
    rest = text.rsplit(")", 1)[1].split()
    return int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[21])


def _read_stat(pid: int) -> tuple[int, int, int] | None:
    try:
        return parse_proc_stat(Path(f"/proc/{pid}/stat").read_text())
    except (OSError, ValueError, IndexError):
        return None


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (uvicorn's supervisor and its worker processes)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _read_stat(int(entry.name))
            if stat is not None:
                parents.setdefault(stat[0], []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live descendants."""
    ticks = sum(stat[1] for p in process_tree(pid) if (stat := _read_stat(p)) is not None)
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` and its descendants in MiB (0.0 when gone)."""
    pages = sum(stat[2] for p in process_tree(pid) if (stat := _read_stat(p)) is not None)
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
