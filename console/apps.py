"""The console's presentation: one set of formatting rules (template filters and static/ats/format.js)."""

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """Formatting of money, percentages, quantities, times and durations for every page."""

    name = "console"
    default_auto_field = "django.db.models.BigAutoField"
