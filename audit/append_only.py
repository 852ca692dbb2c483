"""Database-level append-only guards: triggers that refuse UPDATE, DELETE, REPLACE/UPSERT and TRUNCATE.

Installed by migrations and re-installed after every migrate, because Django's SQLite table rebuild
(e.g. on AlterField) drops a table's triggers silently. A system check reports any that are missing.
"""

from __future__ import annotations

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import NotSupportedError

PG_GUARD_FUNCTION = "ats_append_only_guard"
PG_GUARD_BODY = "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END"
# pg_trigger.tgtype bits: ROW 1, BEFORE 2, INSERT 4, DELETE 8, UPDATE 16, TRUNCATE 32.
PG_TRIGGER_TYPES = {"row": 1 | 2 | 8 | 16, "truncate": 2 | 32}
PG_ENABLED = {"O", "A"}  # fires in normal sessions (origin) or always; D = disabled, R = replica only

_registered: list[type[models.Model]] = []


def register(model: type[models.Model]) -> None:
    """Mark a model's table as append-only (called from AppConfig.ready)."""
    if model not in _registered:
        _registered.append(model)


def registered_models() -> list[type[models.Model]]:
    """Every model whose table is append-only."""
    return list(_registered)


def _unique_column_sets(model: type[models.Model]) -> list[list[str]]:
    sets = [[f.column] for f in model._meta.concrete_fields if f.unique]
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields and constraint.condition is None:
            sets.append([model._meta.get_field(name).column for name in constraint.fields])
    return sets


def trigger_names(table: str, vendor: str) -> list[str]:
    """The names of the guard triggers for one table on one database vendor."""
    if vendor == "sqlite":
        return [f"ats_ao_{table}_update", f"ats_ao_{table}_delete", f"ats_ao_{table}_replace"]
    if vendor == "postgresql":
        return [f"ats_ao_{table}_row", f"ats_ao_{table}_truncate"]
    raise NotSupportedError(f"append-only guards are not implemented for the {vendor!r} database")


def _sqlite_statements(model: type[models.Model]) -> list[str]:
    table = model._meta.db_table
    upd, dele, rep = trigger_names(table, "sqlite")
    # REPLACE and UPSERT remove or rewrite a row whose unique key matches without firing DELETE triggers,
    # so refuse any insert whose unique key already exists.
    clash = " OR ".join(
        "(" + " AND ".join(f'"{col}" = NEW."{col}"' for col in cols) + ")" for cols in _unique_column_sets(model)
    )
    return [
        f'CREATE TRIGGER IF NOT EXISTS "{upd}" BEFORE UPDATE ON "{table}" '
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END",
        f'CREATE TRIGGER IF NOT EXISTS "{dele}" BEFORE DELETE ON "{table}" '
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END",
        f'CREATE TRIGGER IF NOT EXISTS "{rep}" BEFORE INSERT ON "{table}" '
        f'WHEN EXISTS (SELECT 1 FROM "{table}" WHERE {clash}) '
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: REPLACE of an existing row refused'); END",
    ]


def _postgresql_statements(model: type[models.Model]) -> list[str]:
    table = model._meta.db_table
    row, trunc = trigger_names(table, "postgresql")
    return [
        f"CREATE OR REPLACE FUNCTION {PG_GUARD_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ {PG_GUARD_BODY} $$",
        f'DROP TRIGGER IF EXISTS "{row}" ON "{table}"',
        f'CREATE TRIGGER "{row}" BEFORE UPDATE OR DELETE ON "{table}" '
        f"FOR EACH ROW EXECUTE FUNCTION {PG_GUARD_FUNCTION}()",
        f'DROP TRIGGER IF EXISTS "{trunc}" ON "{table}"',
        f'CREATE TRIGGER "{trunc}" BEFORE TRUNCATE ON "{table}" '
        f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_GUARD_FUNCTION}()",
    ]


def install(connection: BaseDatabaseWrapper, model: type[models.Model]) -> None:
    """Create (or re-create) the guard triggers for one model's table."""
    if connection.vendor == "sqlite":
        statements = _sqlite_statements(model)
    elif connection.vendor == "postgresql":
        statements = _postgresql_statements(model)
    else:
        raise NotSupportedError(f"append-only guards are not implemented for the {connection.vendor!r} database")
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def drop(connection: BaseDatabaseWrapper, model: type[models.Model]) -> None:
    """Remove the guard triggers of one table. Only the test suite's flush uses this, on its throwaway database."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        for name in trigger_names(table, connection.vendor):
            if connection.vendor == "sqlite":
                cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')
            else:
                cursor.execute(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"')


def missing_triggers(connection: BaseDatabaseWrapper, model: type[models.Model]) -> list[str]:
    """Guard triggers that should exist on this model's table but do not."""
    table = model._meta.db_table
    expected = trigger_names(table, connection.vendor)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table])
        else:
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal", [table]
            )
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in expected if name not in present]


def trigger_problems(connection: BaseDatabaseWrapper, model: type[models.Model]) -> list[str]:
    """What is wrong with one table's guard triggers, one line each: missing, disabled, conditional, of another
    kind, or calling a guard function whose body is not the expected one. Empty when they are intact."""
    table = model._meta.db_table
    missing = missing_triggers(connection, model)
    problems = [f"{table}: trigger {name} is missing" for name in missing]
    if connection.vendor == "sqlite":
        expected = {
            _sqlite_trigger_name(sql): sql.replace("CREATE TRIGGER IF NOT EXISTS", "CREATE TRIGGER")
            for sql in _sqlite_statements(model)
        }
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table])
            for name, sql in cursor.fetchall():
                if name in expected and sql != expected[name]:
                    problems.append(f"{table}: trigger {name} was redefined")
        return problems
    row, trunc = trigger_names(table, "postgresql")
    kinds = {row: PG_TRIGGER_TYPES["row"], trunc: PG_TRIGGER_TYPES["truncate"]}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname, t.tgenabled, t.tgtype, t.tgqual IS NOT NULL, p.proname, p.prosrc "
            "FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE t.tgrelid = to_regclass(%s) AND NOT t.tgisinternal",
            [table],
        )
        for name, enabled, kind, conditional, function, body in cursor.fetchall():
            if name not in kinds:
                continue
            if enabled not in PG_ENABLED:
                problems.append(f"{table}: trigger {name} is disabled (tgenabled={enabled})")
            if kind != kinds[name] or conditional:
                problems.append(f"{table}: trigger {name} was redefined (type {kind}, condition {conditional})")
            if function != PG_GUARD_FUNCTION:
                problems.append(f"{table}: trigger {name} calls {function}() instead of {PG_GUARD_FUNCTION}()")
            elif body.strip() != PG_GUARD_BODY:
                problems.append(f"{table}: guard function {PG_GUARD_FUNCTION}() was replaced (its body differs)")
    return problems


def _sqlite_trigger_name(sql: str) -> str:
    return sql.split('"')[1]


def integrity_problems(connection: BaseDatabaseWrapper) -> list[str]:
    """trigger_problems for every registered append-only table that exists."""
    problems: list[str] = []
    for model in _registered:
        if table_exists(connection, model):
            problems.extend(trigger_problems(connection, model))
    return problems


def table_exists(connection: BaseDatabaseWrapper, model: type[models.Model]) -> bool:
    """Whether the model's table has been created yet."""
    return model._meta.db_table in connection.introspection.table_names()


def install_all(connection: BaseDatabaseWrapper) -> None:
    """Install guards for every registered table that exists (run after every migrate)."""
    for model in _registered:
        if table_exists(connection, model):
            install(connection, model)


def migration_operation(app_label: str, model_name: str):
    """A RunPython operation that installs the guards for one model from its migration."""
    from django.db import migrations

    def forwards(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        install(schema_editor.connection, model)

    def backwards(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        drop(schema_editor.connection, model)

    return migrations.RunPython(forwards, backwards)
