from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit import append_only, checks, signals  # noqa: F401  (checks and signals register themselves)
        from audit.models import AuditEntry

        append_only.register(AuditEntry)
        post_migrate.connect(_reinstall_guards, dispatch_uid="audit.reinstall_append_only_guards")


def _reinstall_guards(sender, using="default", **kwargs) -> None:
    """Re-create append-only triggers after every migrate (SQLite table rebuilds drop them silently), then grant
    the app role its least privileges (PostgreSQL, when ATS_DB_APP_ROLE is set)."""
    from django.conf import settings
    from django.db import connections

    from audit import append_only, db_roles

    if sender.name != "audit":  # post_migrate fires once per app, after every migration ran: once is enough
        return
    append_only.install_all(connections[using])
    db_roles.grant_app_role(connections[using], settings.ATS.db_app_role)
