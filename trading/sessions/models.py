"""Trading sessions and their persisted telemetry."""

from django.db import models


class Environment(models.TextChoices):
    PAPER = "paper", "Paper"
    LIVE = "live", "Live"


class SessionStatus(models.TextChoices):
    STARTING = "starting", "Starting"
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"
    KILLED = "killed", "Killed"
    FAILED = "failed", "Failed"
    LOST = "lost", "Lost"


ACTIVE_STATUSES = (SessionStatus.STARTING, SessionStatus.RUNNING)
FINAL_STATUSES = (SessionStatus.STOPPED, SessionStatus.KILLED, SessionStatus.FAILED, SessionStatus.LOST)


class TradingSession(models.Model):
    """One run of a book of sleeves against a paper or live gateway."""

    environment = models.CharField(max_length=8, choices=Environment.choices, db_index=True)
    account_id = models.CharField(max_length=32)
    sleeves = models.JSONField(help_text="[{strategy, instrument_id, bar_spec, params, code_hash}, ...]")
    risk_caps = models.JSONField(help_text="The risk limits in force (ats_site.config.RiskCaps.as_dict).")
    approvals = models.JSONField(default=list, blank=True, help_text="Live only: the approval behind each sleeve.")
    started_by = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=SessionStatus.choices, default=SessionStatus.STARTING, db_index=True
    )
    stop_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # The lease: whoever holds it hosts the node; a re-delivered or duplicated task finds it held and refuses.
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    host = models.CharField(max_length=200, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    # Operator requests, persisted so they survive restarts and need no broker (Redis) to arrive.
    stop_requested_at = models.DateTimeField(null=True, blank=True)
    kill_requested_at = models.DateTimeField(null=True, blank=True)
    kill_flatten = models.BooleanField(default=False)
    kill_reason = models.CharField(max_length=500, blank=True)
    kill_requested_by = models.CharField(max_length=200, blank=True)
    # The loss breaker: while tripped the session only reduces risk; an operator's reset (audited) re-arms it.
    breaker_tripped_at = models.DateTimeField(null=True, blank=True)
    breaker_reason = models.CharField(max_length=500, blank=True)
    breaker_reset_at = models.DateTimeField(null=True, blank=True)
    # The start form's one-time token: a repeated submit (double click, retried POST) finds this session.
    start_token = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["environment", "status"])]

    def __str__(self) -> str:
        return f"{self.environment} session #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class SessionEvent(models.Model):
    """One telemetry event of a session (order, fill, position, account, bar, health, log, status)."""

    session = models.ForeignKey(TradingSession, on_delete=models.CASCADE, related_name="events")
    environment = models.CharField(max_length=8, choices=Environment.choices)
    kind = models.CharField(max_length=16, db_index=True)
    ts = models.DateTimeField()
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["session", "id"]), models.Index(fields=["environment", "id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} of session {self.session_id}"


class SessionDayPnl(models.Model):
    """A session's P&L on one trading day, as its host last marked it: what the account's loss breaker adds up.

    Rows of sessions that ended stay, so a loss taken earlier in the day still counts against the account."""

    session = models.ForeignKey(TradingSession, on_delete=models.CASCADE, related_name="day_pnl")
    account_id = models.CharField(max_length=32, db_index=True)
    day = models.DateField()
    open_pnl = models.DecimalField(max_digits=20, decimal_places=4, help_text="The session's P&L at its first mark.")
    pnl = models.DecimalField(max_digits=20, decimal_places=4, help_text="The session's P&L at its latest mark.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "day"], name="one_pnl_row_per_session_day")]
        indexes = [models.Index(fields=["account_id", "day"])]

    def __str__(self) -> str:
        return f"session {self.session_id} on {self.day}: {self.pnl - self.open_pnl}"


class AccountBreaker(models.Model):
    """The loss breaker of one broker account, across every session trading it.

    Tripped, every session on the account only reduces risk, and no new session starts on it, until an operator
    resets it with a reason (audited). The reset re-arms it from the account's P&L of that moment."""

    environment = models.CharField(max_length=8, choices=Environment.choices)
    account_id = models.CharField(max_length=32, unique=True)
    day = models.DateField(null=True, blank=True)
    baseline = models.DecimalField(
        max_digits=20, decimal_places=4, default=0, help_text="The day's account P&L the breaker counts from."
    )
    peak = models.DecimalField(max_digits=20, decimal_places=4, default=0, help_text="The day's highest P&L.")
    daily = models.DecimalField(max_digits=20, decimal_places=4, default=0, help_text="The latest day's P&L.")
    tripped_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    reset_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"loss breaker of {self.account_id} ({'tripped' if self.tripped_at else 'armed'})"
