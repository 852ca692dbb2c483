from django.db import migrations

from audit.append_only import migration_operation


class Migration(migrations.Migration):
    """Refuse UPDATE, DELETE, REPLACE/UPSERT and TRUNCATE on saved Studio versions, in the database itself."""

    dependencies = [("studio", "0001_initial")]
    operations = [migration_operation("studio", "StudioVersion")]
