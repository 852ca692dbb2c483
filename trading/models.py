"""Trading models."""

from django.db import models


class ConsolePermission(models.Model):
    """Holds the console's environment permissions; it has no table and no rows."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_console", "Can view the operations console"),
            ("operate_paper", "Can start, stop and kill paper sessions"),
            ("operate_live", "Can start, stop and kill live sessions"),
        ]
