"""Go-live approvals: append-only decisions binding a strategy + instrument to the code, bars and params approved,
and to the research ladder's evidence (or an audited override)."""

from django.db import models


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REVOKE = "revoke", "Revoke"


class GoLiveApproval(models.Model):
    """One decision. A revocation is a new record; rows are never updated or deleted (database triggers)."""

    strategy = models.CharField(max_length=64, db_index=True)
    instrument_id = models.CharField(max_length=64, db_index=True, help_text="SYMBOL.VENUE, e.g. QQQ.NASDAQ")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    code_hash = models.CharField(max_length=64, help_text="Hash of the strategy's code when the decision was made.")
    bar_spec = models.CharField(max_length=40, blank=True, help_text="The bars approved, e.g. 1-DAY-LAST.")
    params = models.JSONField(default=dict, blank=True, help_text="The exact params approved, defaults included.")
    params_key = models.CharField(max_length=64, blank=True, help_text="sha256 of the canonical params approved.")
    gauntlet_report = models.ForeignKey(
        "research.GauntletReport", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    paper_rung = models.ForeignKey(
        "research.PaperRungCheck", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ladder_override = models.CharField(
        max_length=500, blank=True, help_text="Set when approved without a passing ladder: the operator's reason."
    )
    decided_by = models.CharField("approved/revoked by", max_length=200)
    note = models.TextField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        # Insertion order, never the clock: a host with a fast clock must not outvote a later decision.
        ordering = ["-id"]
        verbose_name = "go-live approval"
        permissions = [("approve_live", "Can approve and revoke live trading")]

    def __str__(self) -> str:
        return f"{self.decision} {self.strategy} on {self.instrument_id} by {self.decided_by}"
