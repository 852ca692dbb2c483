"""System check: every append-only table must have its guard triggers."""

from django.core import checks
from django.db import connections
from django.db.utils import OperationalError, ProgrammingError


@checks.register(checks.Tags.database, deploy=False)
def append_only_triggers_present(app_configs=None, databases=None, **kwargs):
    """Fail when a guard trigger is missing on an append-only table that exists."""
    from audit import append_only

    errors = []
    for alias in databases or []:
        connection = connections[alias]
        for model in append_only.registered_models():
            try:
                if not append_only.table_exists(connection, model):
                    continue
                missing = append_only.missing_triggers(connection, model)
            except (OperationalError, ProgrammingError) as exc:
                errors.append(checks.Error(f"cannot inspect triggers on {alias}: {exc}", id="audit.E002"))
                continue
            if missing:
                errors.append(
                    checks.Error(
                        f"{model._meta.db_table} on database {alias!r} is missing append-only triggers: "
                        + ", ".join(missing),
                        hint="run `manage.py migrate` (it re-installs them) and investigate who dropped them",
                        id="audit.E001",
                    )
                )
    return errors
