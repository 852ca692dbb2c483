"""Admin for stored backtests: read-only, because runs are evidence (and audited when created)."""

from django.contrib import admin

from trading.models import BacktestRun


@admin.register(BacktestRun)
class BacktestRunAdmin(admin.ModelAdmin):
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

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="return", ordering="total_return")
    def pct_return(self, obj):
        return f"{obj.total_return:.2%}"

    @admin.display(description="max DD", ordering="max_drawdown")
    def pct_drawdown(self, obj):
        return f"{obj.max_drawdown:.2%}"

    @admin.display(description="code")
    def short_hash(self, obj):
        return obj.code_hash[:12]
