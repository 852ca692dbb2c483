"""The admin for records that only services write (evidence, telemetry, read models): list and inspect, never add,
change or delete. One mixin refuses the same three things for every such admin and inline."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class _NoWrites:
    """No add, change or delete for anyone, superusers included: rows come from audited services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Rows come from services (audited), never from a form."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Nobody edits a record here."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Nobody deletes a record here: they are evidence."""
        return False


class ReadOnlyModelAdmin(_NoWrites, admin.ModelAdmin):
    """Every field read-only; no add, change or delete."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        """All concrete fields (and any computed ones the admin names): the change page is a read-only view."""
        return [f.name for f in self.model._meta.fields] + [f for f in self.readonly_fields if isinstance(f, str)]


class ReadOnlyTabularInline(_NoWrites, admin.TabularInline):
    """A read-only inline of such records: shown on its parent's page, never added, changed or deleted there."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        """The fields shown are all read-only."""
        return list(self.fields or [f.name for f in self.model._meta.fields])
