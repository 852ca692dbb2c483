"""Admin for the trading app: backtest runs, sessions and their read models, gateway health. All read-only:
they are evidence and telemetry, written by services (which audit), never edited by hand."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from ats_site.readonly_admin import ReadOnlyModelAdmin
from console import formatting
from trading.models import BacktestRun
from trading.monitoring.models import GatewayHealth
from trading.sessions.models import AccountBreaker, SessionDayPnl, SessionEvent, TradingSession


@admin.register(BacktestRun)
class BacktestRunAdmin(ReadOnlyModelAdmin):
    """List, filter and inspect backtest runs; they are created by the backtest service only."""

    list_display = (
        "id",
        "created_at",
        "strategy",
        "instrument_id",
        "bar_spec",
        "trade_count",
        "pct_return",
        "sharpe",
        "pct_drawdown",
        "short_hash",
        "sweep",
    )
    list_filter = ("strategy", "instrument_id", "bar_spec")
    search_fields = ("strategy", "instrument_id", "sweep", "code_hash")
    date_hierarchy = "created_at"

    @admin.display(description="return", ordering="total_return")
    def pct_return(self, obj):
        return formatting.pct(obj.total_return)

    @admin.display(description="max DD", ordering="max_drawdown")
    def pct_drawdown(self, obj):
        return formatting.pct(obj.max_drawdown)

    @admin.display(description="code")
    def short_hash(self, obj):
        return obj.code_hash[:12]


@admin.register(TradingSession)
class TradingSessionAdmin(ReadOnlyModelAdmin):
    """Paper and live sessions: who started what, its status, lease, kill and breaker history."""

    list_display = (
        "id",
        "environment",
        "status",
        "account_id",
        "sleeve_summary",
        "started_by",
        "created_at",
        "stopped_at",
    )
    list_filter = ("environment", "status", "account_id")
    search_fields = ("account_id", "started_by", "stop_reason", "kill_reason")
    date_hierarchy = "created_at"
    readonly_fields = ("events_link", "console_link")

    @admin.display(description="sleeves")
    def sleeve_summary(self, obj):
        return "; ".join(f"{s.get('strategy')} {s.get('instrument_id')}" for s in obj.sleeves or [])

    @admin.display(description="telemetry")
    def events_link(self, obj):
        url = reverse("admin:trading_sessionevent_changelist") + f"?session__id__exact={obj.pk}"
        return format_html('<a href="{}">{} events</a>', url, obj.events.count())

    @admin.display(description="console page")
    def console_link(self, obj):
        return format_html(
            '<a href="{}">session #{}</a>', reverse("trading:session", args=[obj.environment, obj.pk]), obj.pk
        )


@admin.register(SessionEvent)
class SessionEventAdmin(ReadOnlyModelAdmin):
    """A session's persisted telemetry (orders, fills, positions, status, log lines)."""

    list_display = ("id", "session", "environment", "kind", "ts")
    list_filter = ("environment", "kind")
    list_select_related = ("session",)
    search_fields = ("=session__id", "kind")
    show_full_result_count = False  # telemetry tables grow large: skip the extra COUNT(*)


@admin.register(SessionDayPnl)
class SessionDayPnlAdmin(ReadOnlyModelAdmin):
    """Each session's P&L per trading day, as the account loss breaker adds it up."""

    list_display = ("session", "account_id", "day", "open_pnl", "pnl", "updated_at")
    list_filter = ("account_id", "day")
    list_select_related = ("session",)


@admin.register(AccountBreaker)
class AccountBreakerAdmin(ReadOnlyModelAdmin):
    """The loss breaker of each broker account; reset on the console's environment page (audited)."""

    list_display = ("account_id", "environment", "day", "daily", "peak", "baseline", "tripped_at", "reset_at")
    list_filter = ("environment",)


@admin.register(GatewayHealth)
class GatewayHealthAdmin(ReadOnlyModelAdmin):
    """The latest health check of each IB Gateway; acknowledged on the Gateways page."""

    list_display = ("environment", "healthy", "checked_at", "changed_at", "message", "acknowledged_at")
