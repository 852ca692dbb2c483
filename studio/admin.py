"""Admin for Studio versions: read-only (the database refuses edits; a change is a new version)."""

from django.contrib import admin

from ats_site.readonly_admin import ReadOnlyModelAdmin
from studio.models import StudioVersion


@admin.register(StudioVersion)
class StudioVersionAdmin(ReadOnlyModelAdmin):
    """Saved Studio strategy versions: name, version, author, parent and spec."""

    list_display = ("name", "version", "author", "created_at", "parent", "note")
    list_filter = ("name",)
    search_fields = ("name", "author", "note", "spec_hash")
