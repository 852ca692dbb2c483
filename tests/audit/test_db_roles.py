"""Finding 4: least-privilege roles on PostgreSQL. A throwaway database and two throwaway roles: migrate runs as
the owner, and the app role it grants cannot UPDATE, DELETE, TRUNCATE, DISABLE TRIGGER or drop the triggers."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get("DATABASE_URL", "")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not DATABASE_URL.startswith("postgres"), reason="needs PostgreSQL (the PostgreSQL pass)"),
]
GUARDED = ("audit_auditentry", "approvals_goliveapproval")


def _connect(url, dbname: str, user: str) -> psycopg.Connection:
    return psycopg.connect(
        host=url.hostname, port=url.port or 5432, dbname=dbname, user=user, password=url.password, autocommit=True
    )


@pytest.fixture
def roles_database():
    """(url, database, owner role, app role), created for this test and dropped after it (unique names per run)."""
    url = urlparse(DATABASE_URL)
    suffix = uuid.uuid4().hex[:10]
    database, owner, app = f"ats_roles_{suffix}", f"ats_owner_{suffix}", f"ats_app_{suffix}"
    with _connect(url, "postgres", url.username or "postgres") as admin:
        admin.execute(f"CREATE ROLE {owner} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB")
        admin.execute(f"CREATE ROLE {app} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB")
        admin.execute(f"CREATE DATABASE {database} OWNER {owner}")
    try:
        yield url, database, owner, app
    finally:
        with _connect(url, "postgres", url.username or "postgres") as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            admin.execute(f"DROP ROLE IF EXISTS {app}")
            admin.execute(f"DROP ROLE IF EXISTS {owner}")


def _manage(url, database: str, role: str, *args: str, app_role: str = "") -> subprocess.CompletedProcess:
    netloc = f"{role}@{url.hostname}:{url.port or 5432}"
    env = {**os.environ, "DATABASE_URL": f"postgres://{netloc}/{database}", "ATS_DB_APP_ROLE": app_role}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )


def test_the_app_role_can_only_append_to_the_audit_and_approval_tables(roles_database):
    url, database, owner, app = roles_database
    migrated = _manage(url, database, owner, "migrate", "--noinput", "-v0", app_role=app)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    # The app works as the app role: it writes users and their audit entries, and its checks pass.
    created = _manage(url, database, app, "create_admin", "--username", "root2", "--if-none")
    assert created.returncode == 0, created.stderr[-2000:]
    checked = _manage(url, database, app, "check", "--database", "default")
    assert checked.returncode == 0, checked.stderr[-2000:]

    with _connect(url, database, app) as conn:
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (False,)
        owners = conn.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(%s)",
            [list(GUARDED)],
        ).fetchall()
        assert owners == [(owner,)]
        assert conn.execute("SELECT count(*) FROM audit_auditentry").fetchone()[0] >= 1
        conn.execute("INSERT INTO django_session VALUES ('k', 'd', now())")  # ordinary tables stay writable
        conn.execute("DELETE FROM django_session WHERE session_key = 'k'")
        for table in GUARDED:
            for statement in (
                f"UPDATE {table} SET id = id",
                f"DELETE FROM {table}",
                f"TRUNCATE {table}",
                f"ALTER TABLE {table} DISABLE TRIGGER ALL",
                f"DROP TRIGGER ats_ao_{table}_row ON {table}",
                f"DROP TRIGGER ats_ao_{table}_truncate ON {table}",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "CREATE OR REPLACE FUNCTION ats_append_only_guard() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RETURN OLD; END $$"
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', now())")
