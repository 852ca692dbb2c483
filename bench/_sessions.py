"""Shared set-up of the session benchmarks: a throwaway database and the test probe strategy."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def prepare_environment(**extra: str) -> None:
    """Point this process and its children at a fresh, migrated database, with the order probe registered: SQLite
    (the embedded default), or the database BENCH_DATABASE_URL names (emptied first: give a throwaway one)."""
    tmp = tempfile.mkdtemp(prefix="ats-bench-")
    database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "ats_site.settings",
            "ATS_STRATEGY_CATALOGS": "tests.sessions.probe_catalog",
            "ATS_NODE_LOG_LEVEL": "WARNING",
            "LOG_LEVEL": "WARNING",
            # Every limit stays on; these are raised so a run of hundreds of working orders stays inside them.
            "ATS_PAPER_RISK_MAX_OPEN_ORDERS": "1000",
            "ATS_PAPER_RISK_MAX_POSITION_NOTIONAL": "10000000",
            "ATS_PAPER_RISK_MAX_GROSS_EXPOSURE": "10000000",
            **extra,
        }
    )
    if database_url.startswith("postgres"):
        name = database_url.rsplit("/", 1)[1]
        admin = database_url.rsplit("/", 1)[0] + "/postgres"
        import psycopg

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
