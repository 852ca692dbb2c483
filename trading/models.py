"""Trading models."""

from django.db import models
from django.utils import timezone


class ConsolePermission(models.Model):  # noqa: DJ008 - no table and no rows, so nothing to print
    """Holds the console's environment permissions; it has no table and no rows."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_console", "Can view the operations console"),
            ("operate_paper", "Can start, stop and kill paper sessions"),
            ("operate_live", "Can start, stop and kill live sessions"),
        ]


class BacktestRun(models.Model):
    """One stored backtest: what ran (strategy, params, data range, code hash), its metrics, trades and equity."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(
        max_length=200, help_text="Who started it: user:<name>, cli:<os-user>@<host> or system:<component>."
    )
    strategy = models.CharField(max_length=100, db_index=True)
    instrument_id = models.CharField(max_length=64, db_index=True, help_text="SYMBOL.VENUE, e.g. QQQ.NASDAQ.")
    bar_spec = models.CharField(max_length=40, help_text="As Nautilus spells it, e.g. 1-DAY-LAST.")
    params = models.JSONField(default=dict, help_text="The strategy parameters used, defaults included.")
    costs = models.JSONField(default=dict, help_text="Capital, commission and slippage settings.")
    fill_convention = models.CharField(
        max_length=16,
        choices=[
            ("next_open", "next bar's open (as live)"),
            ("signal_close", "signal bar's close"),
        ],
        default="next_open",
        help_text="When a MARKET order decided on a bar fills: the next bar's open, or the signal bar's close.",
    )
    data_hash = models.CharField(
        max_length=64, blank=True, help_text="sha256 of the exact bars used (empty for runs stored before it)."
    )
    data_notes = models.JSONField(
        default=dict, blank=True, help_text="Bar count, hash format, prices changed by rounding to the tick."
    )
    requested_start = models.DateField(null=True, blank=True)
    requested_end = models.DateField(null=True, blank=True)
    data_start = models.DateTimeField(help_text="Close time (ts_init) of the first bar used.")
    data_end = models.DateTimeField(help_text="Close time (ts_init) of the last bar used.")
    bar_count = models.PositiveIntegerField()
    code_hash = models.CharField(max_length=64, help_text="Hash of the strategy's code and its project dependencies.")
    trade_count = models.PositiveIntegerField()
    total_return = models.FloatField()
    cagr = models.FloatField(null=True, blank=True)
    sharpe = models.FloatField(null=True, blank=True)
    max_drawdown = models.FloatField()
    metrics = models.JSONField(default=dict)
    trades = models.JSONField(default=list, help_text="Round trips: entry/exit time (ns), prices, quantity, P&L.")
    equity_curve = models.JSONField(
        default=list, help_text="[[epoch_ms, equity], ...], thinned to at most 5,000 points."
    )
    duration_seconds = models.FloatField(help_text="Wall time of the run, loading and storing included.")
    sweep = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="Label shared by the runs of one sweep."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.strategy} {self.instrument_id} {self.bar_spec}"


# Sessions live in their own module; importing them here registers them with the trading app.
from trading.monitoring.models import GatewayHealth  # noqa: E402,F401
from trading.sessions.models import SessionEvent, TradingSession  # noqa: E402,F401
