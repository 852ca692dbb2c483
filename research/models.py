"""Gauntlet reports, their rung results and paper-rung checks: the evidence a go-live approval is bound to.

A ladder is not stored: it is read from these rows for one (strategy, instrument, bar spec, params, code hash)
(research.selectors.ladder_for), so changing code, params or data moves every rung above it back to "not run".
"""

from django.db import models
from django.utils import timezone


class ReportStatus(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"


class RungOutcome(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    NOT_RUN = "not_run", "Not run"


class LadderKeyFields(models.Model):
    """What a rung's evidence is about: the strategy, where it ran, its exact params and code."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=200, help_text="user:<name>, cli:<os-user>@<host> or system:<component>.")
    strategy = models.CharField(max_length=100, db_index=True)
    instrument_id = models.CharField(max_length=64, db_index=True, help_text="SYMBOL.VENUE, e.g. QQQ.NASDAQ.")
    bar_spec = models.CharField(max_length=40, help_text="As Nautilus spells it, e.g. 1-DAY-LAST.")
    params = models.JSONField(default=dict, help_text="Every strategy parameter, defaults included.")
    params_key = models.CharField(max_length=64, db_index=True, help_text="sha256 of the canonical params JSON.")
    code_hash = models.CharField(max_length=64, help_text="Hash of the strategy's code and project dependencies.")
    verdict = models.CharField(max_length=8, choices=RungOutcome.choices, blank=True)
    reason = models.CharField(max_length=500, blank=True, help_text="The verdict in one line.")

    class Meta:
        abstract = True


class GauntletReport(LadderKeyFields):
    """One run of the gauntlet over a sweep grid around the chosen params; its rungs are RungResult rows."""

    data_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the exact bars the runs used.")
    grid = models.JSONField(default=dict, help_text="{param: [values]}: the sweep the overfitting rungs judge.")
    costs = models.JSONField(default=dict)
    fill_convention = models.CharField(max_length=20, blank=True)
    window = models.JSONField(default=dict, help_text="The requested start and end dates ({} for all the data).")
    thresholds = models.JSONField(default=dict, help_text="Every threshold applied (GauntletThresholds).")
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.RUNNING)
    tasks_total = models.PositiveIntegerField(default=0)
    tasks_done = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"gauntlet #{self.pk} {self.strategy} {self.instrument_id} {self.bar_spec} ({self.status})"


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class GauntletJob(models.Model):
    """One backtest of a gauntlet, run by whichever django-q worker takes it; its result is kept for the rungs."""

    report = models.ForeignKey(GauntletReport, on_delete=models.CASCADE, related_name="jobs")
    index = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, help_text="grid, cost, truncated or warmup.")
    label = models.CharField(max_length=120)
    spec = models.JSONField(help_text="What to run: params, costs, start/end, whether to store it as a trial.")
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.PENDING)
    result = models.JSONField(null=True, blank=True, help_text="Daily returns, decisions and metrics.")
    error = models.CharField(max_length=500, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["report", "index"]
        constraints = [models.UniqueConstraint(fields=["report", "index"], name="one_job_per_index")]

    def __str__(self) -> str:
        return f"job {self.index} ({self.kind}) of gauntlet {self.report_id}: {self.status}"


class RungResult(models.Model):
    """One rung of a gauntlet report: its verdict, one-line reason, numbers and thresholds."""

    report = models.ForeignKey(GauntletReport, on_delete=models.CASCADE, related_name="rungs")
    position = models.PositiveSmallIntegerField()
    rung = models.CharField(max_length=40)
    verdict = models.CharField(max_length=8, choices=RungOutcome.choices)
    reason = models.CharField(max_length=500)
    numbers = models.JSONField(default=dict)
    thresholds = models.JSONField(default=dict)

    class Meta:
        ordering = ["report", "position"]
        constraints = [models.UniqueConstraint(fields=["report", "rung"], name="one_result_per_rung")]

    def __str__(self) -> str:
        return f"{self.rung}: {self.verdict}"


class PaperRungCheck(LadderKeyFields):
    """The paper rung: a paper session's trades against a backtest over the very bars that session received.

    Its bar_spec is the session's (ibsim's 5-second bars make enough trades in minutes); the ladder takes it for
    the same strategy, instrument, params and code whatever bars the gauntlet judged, and shows both."""

    session = models.ForeignKey("trading.TradingSession", on_delete=models.PROTECT, related_name="paper_rungs")
    matched = models.PositiveIntegerField(default=0)
    session_trades = models.PositiveIntegerField(default=0)
    backtest_trades = models.PositiveIntegerField(default=0)
    numbers = models.JSONField(default=dict)
    rows = models.JSONField(default=list, help_text="The trade match table: one row per decision, matched or not.")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"paper rung #{self.pk} of session {self.session_id}: {self.verdict}"
