from django.db import migrations

from audit.append_only import migration_operation


class Migration(migrations.Migration):
    """Refuse UPDATE, DELETE, REPLACE/UPSERT and TRUNCATE on the audit log, in the database itself."""

    dependencies = [("audit", "0001_initial")]
    operations = [migration_operation("audit", "AuditEntry")]
