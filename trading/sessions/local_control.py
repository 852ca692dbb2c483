"""The kill switch's path that needs no database: each host leaves a pid file, and the CLI signals the host.

A kill request normally travels through the database (persisted, audited, works from any machine). When the
database is unreachable, `kill_session` on the host's machine falls back to a signal: SIGUSR1 halts, SIGUSR2 halts
and flattens. The pid file names the database the host works on, so a CLI pointed at another database never
signals a stranger's session, and the process must still be ours (a recycled pid is not signalled).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from django.conf import settings
from django.db import connection

HALT_SIGNAL = signal.SIGUSR1
FLATTEN_SIGNAL = signal.SIGUSR2


def hosts_dir() -> Path:
    """Where hosts leave their pid files."""
    return Path(settings.BASE_DIR) / "var" / "hosts"


def _database() -> str:
    settings_dict = connection.settings_dict
    return f"{settings_dict.get('HOST') or ''}:{settings_dict.get('PORT') or ''}/{settings_dict['NAME']}"


def _pid_file(session_id: int) -> Path:
    return hosts_dir() / f"session-{session_id}.json"


def write_pid_file(session_id: int, environment: str) -> None:
    """Announce this process as the host of a session (read by the CLI's no-database kill)."""
    hosts_dir().mkdir(parents=True, exist_ok=True)
    path = _pid_file(session_id)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"session": session_id, "environment": environment, "pid": os.getpid(), "database": _database()})
    )
    tmp.replace(path)


def remove_pid_file(session_id: int) -> None:
    """This process no longer hosts the session."""
    path = _pid_file(session_id)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def _is_host_process(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return b"manage.py" in cmdline


def signal_local_hosts(session_id: int | None, flatten: bool, environment: str | None = None) -> list[tuple[int, int]]:
    """Signal the kill to the hosts on this machine of one session (or of every session of an environment); return
    (session, pid) of each host signalled."""
    signalled = []
    database = _database()
    for path in sorted(hosts_dir().glob("session-*.json")):
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if info.get("database") != database or (session_id is not None and info.get("session") != session_id):
            continue
        if environment is not None and info.get("environment") != environment:
            continue
        pid = int(info.get("pid", 0))
        if pid <= 0 or not _is_host_process(pid):
            continue
        try:
            os.kill(pid, FLATTEN_SIGNAL if flatten else HALT_SIGNAL)
        except OSError:
            continue
        signalled.append((int(info["session"]), pid))
    return signalled
