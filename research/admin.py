"""Admin for research records: gauntlet reports (with their rung verdicts and jobs) and paper-rung checks. Read-only:
they are the evidence behind go-live approvals."""

from django.contrib import admin

from ats_site.readonly_admin import ReadOnlyModelAdmin, ReadOnlyTabularInline
from research.models import GauntletJob, GauntletReport, PaperRungCheck, RungResult


class RungResultInline(ReadOnlyTabularInline):
    """The report's rung verdicts, in ladder order."""

    model = RungResult
    fields = ("position", "rung", "verdict", "reason")


@admin.register(GauntletReport)
class GauntletReportAdmin(ReadOnlyModelAdmin):
    """Gauntlet reports: verdict, reason, hashes, grid and thresholds."""

    list_display = ("id", "created_at", "strategy", "instrument_id", "bar_spec", "status", "verdict", "actor")
    list_filter = ("status", "verdict", "strategy", "instrument_id")
    search_fields = ("strategy", "instrument_id", "actor", "code_hash", "reason")
    date_hierarchy = "created_at"
    inlines = (RungResultInline,)


@admin.register(GauntletJob)
class GauntletJobAdmin(ReadOnlyModelAdmin):
    """The backtests a gauntlet ran, with their worker and error."""

    list_display = ("report", "index", "kind", "label", "status", "worker", "finished_at")
    list_filter = ("status", "kind")
    list_select_related = ("report",)
    search_fields = ("=report__id", "label", "error")


@admin.register(PaperRungCheck)
class PaperRungCheckAdmin(ReadOnlyModelAdmin):
    """Paper-rung trade matches: a paper session's fills against the backtest's."""

    list_display = ("id", "created_at", "strategy", "instrument_id", "bar_spec", "session", "verdict", "matched")
    list_filter = ("verdict", "strategy")
    search_fields = ("strategy", "instrument_id", "reason")
