"""Least privilege on PostgreSQL: the app's role may read and write what it needs, and only append to the logs.

`migrate` runs as the owner role (it owns every table, so it alone can alter, disable or drop the guard
triggers); afterwards it grants the app role (ATS_DB_APP_ROLE) exactly this. The app role is neither the owner
nor a superuser, so it cannot UPDATE, DELETE or TRUNCATE the audit and approval tables, nor touch their triggers.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from audit import append_only

READ_ONLY_TABLES = ("django_migrations",)  # the app checks which migrations ran; only migrate writes them


def app_role_statements(connection: BaseDatabaseWrapper, role: str) -> list[str]:
    """The GRANT/REVOKE statements that give `role` least privilege on the current schema's tables."""
    quoted = connection.ops.quote_name(role)
    append_only_tables = [m._meta.db_table for m in append_only.registered_models()]
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quoted}",
        # No TRUNCATE, REFERENCES or TRIGGER anywhere: plain row reads and writes.
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
    ]
    for table in append_only_tables:
        statements.append(f"REVOKE UPDATE, DELETE ON {connection.ops.quote_name(table)} FROM {quoted}")
    for table in READ_ONLY_TABLES:
        statements.append(f"REVOKE INSERT, UPDATE, DELETE ON {connection.ops.quote_name(table)} FROM {quoted}")
    return statements


def grant_app_role(connection: BaseDatabaseWrapper, role: str) -> None:
    """Apply app_role_statements (PostgreSQL only; run by migrate as the owner)."""
    if connection.vendor != "postgresql" or not role:
        return
    with connection.cursor() as cursor:
        for sql in app_role_statements(connection, role):
            cursor.execute(sql)
