"""Where a bench run's CPU went: seconds by role, read from ``/proc`` (Linux).

On a CPU-bound two-core machine the throughput of a run is its core-seconds divided by
the CPU one message costs, so CPU per message by role (hub workers, PostgreSQL, the
bench process with its in-process simulator) says what to work on, and varies less from
run to run than wall-clock rates on a noisy VM.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> dict[int, tuple[str, int, float]]:
    """pid -> (command name, process group, CPU seconds of all its threads); a PostgreSQL
    process is named by its title (``postgres: 15/main: autovacuum worker``...)."""
    found: dict[int, tuple[str, int, float]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        if name.startswith("postgres"):  # its title says which: a backend, autovacuum, the WAL writer...
            try:
                name = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
        fields = raw[raw.rindex(")") + 2 :].split()
        # after the name: state, ppid, pgrp, session, tty, tpgid, flags, 4 fault counters, utime, stime
        found[int(entry.name)] = (name, int(fields[2]), (int(fields[11]) + int(fields[12])) / TICKS)
    return found


@dataclass
class CpuMeter:
    """CPU seconds spent between :meth:`start` and :meth:`stop`, by role."""

    worker_group: int
    before: dict[int, tuple[str, int, float]] = field(default_factory=dict)
    spent: dict[str, float] = field(default_factory=dict)

    def role(self, pid: int, name: str, group: int) -> str:
        if group == self.worker_group:
            return "hub workers"
        if name.startswith("postgres"):
            if "autovacuum" in name:
                return "PostgreSQL autovacuum"
            if "hub_bench" in name:
                return "PostgreSQL"
            return "PostgreSQL background"
        if pid == os.getpid():
            return "bench + simulator"
        if name.startswith("redis"):
            return "Redis"
        return "other"

    def start(self) -> None:
        self.before = _processes()

    def stop(self) -> dict[str, float]:
        spent: dict[str, float] = defaultdict(float)
        for pid, (name, group, seconds) in _processes().items():
            earlier = self.before.get(pid)
            base = earlier[2] if earlier is not None and earlier[0] == name else 0.0
            spent[self.role(pid, name, group)] += seconds - base
        self.spent = dict(spent)
        return self.spent

    def report(self, wall_seconds: float, messages: int) -> str:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        shown = sorted(((s, r) for r, s in self.spent.items() if s >= 0.05), reverse=True)
        total = sum(s for s, _ in shown)
        parts = ", ".join(f"{role} {s:.1f} s ({1000 * s / messages:.2f} ms/msg)" for s, role in shown)
        return (
            f"CPU in the measured window: {parts}; {total:.1f} of {cores * wall_seconds:.1f} core-seconds "
            f"({100 * total / (cores * wall_seconds):.0f} % busy)"
        )
