from django.db import migrations

from audit.append_only import migration_operation


class Migration(migrations.Migration):
    """Approvals are append-only like the audit log: a revocation is a new row, never an edit."""

    dependencies = [("approvals", "0001_initial"), ("audit", "0002_append_only_triggers")]
    operations = [migration_operation("approvals", "GoLiveApproval")]
