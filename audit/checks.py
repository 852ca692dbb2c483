"""System checks: every append-only table has its guard triggers, enabled and unaltered; deploys set the HMAC key."""

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
                problems = append_only.trigger_problems(connection, model)
            except (OperationalError, ProgrammingError) as exc:
                errors.append(checks.Error(f"cannot inspect triggers on {alias}: {exc}", id="audit.E002"))
                continue
            if problems:
                errors.append(
                    checks.Error(
                        f"append-only guards on database {alias!r} are not intact: " + "; ".join(problems),
                        hint="run `manage.py migrate` as the owner role (it re-installs them) and investigate who "
                        "altered them",
                        id="audit.E001",
                    )
                )
    return errors


@checks.register(checks.Tags.security, deploy=True)
def audit_hmac_key_set(app_configs=None, **kwargs):
    """Warn a deployment without ATS_AUDIT_HMAC_KEY: anyone with database access could re-forge the chain."""
    from django.conf import settings

    if settings.ATS.audit_hmac_key:
        return []
    return [
        checks.Warning(
            "ATS_AUDIT_HMAC_KEY is not set: the audit chain is plain SHA-256, which anyone with database access can "
            "re-forge; live trading refuses to start without it",
            hint="set a long random ATS_AUDIT_HMAC_KEY, kept off the database host, before the first entry",
            id="audit.W001",
        )
    ]
