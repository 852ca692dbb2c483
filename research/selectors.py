"""Reads of the research ladder: which rungs a (strategy, instrument, bar spec, params, code) has climbed, and why not.

Rungs, in order: research (a stored backtest), gauntlet (a finished report that passed), paper (a paper-rung check
that passed), approved (a live approval bound to this ladder). A rung counts only when every rung below it counts
and its evidence is for the current code (and, for the gauntlet, the current data): anything else shows as
invalidated, with why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from audit.models import Action, AuditEntry
from research.models import GauntletReport, PaperRungCheck, ReportStatus, RungOutcome
from trading.strategies.params import canonical_params, params_key

RUNG_NAMES = ("research", "gauntlet", "paper", "approved")


class RungState:
    PASSED = "passed"
    FAILED = "failed"
    NOT_RUN = "not run"
    INVALIDATED = "invalidated"


@dataclass(frozen=True)
class LadderRung:
    """One rung of a ladder as a trader reads it."""

    name: str
    state: str
    reason: str
    evidence: Any = None  # the BacktestRun, GauntletReport, PaperRungCheck or GoLiveApproval behind the state

    @property
    def passed(self) -> bool:
        """Whether this rung counts."""
        return self.state == RungState.PASSED


@dataclass(frozen=True)
class Ladder:
    """The rungs of one (strategy, instrument, bar spec, params, code hash)."""

    strategy: str
    instrument_id: str
    bar_spec: str
    params: dict
    params_key: str
    code_hash: str
    rungs: list[LadderRung] = field(default_factory=list)

    def rung(self, name: str) -> LadderRung:
        """The rung called `name`."""
        return next(r for r in self.rungs if r.name == name)

    @property
    def ready_for_live(self) -> bool:
        """Whether the gauntlet and the paper rung both count: what approve_live requires."""
        return self.rung("gauntlet").passed and self.rung("paper").passed

    @property
    def blocking(self) -> LadderRung | None:
        """The first rung approval requires (gauntlet, paper) that does not count, or None."""
        return next((r for r in self.rungs[1:3] if not r.passed), None)


def ladder_for(
    strategy: str,
    instrument_id: str,
    bar_spec: str,
    params: dict | str | None,
    *,
    code_hash: str,
    check_data: bool = True,
) -> Ladder:
    """The ladder for these exact params (validated, defaults filled in) and code; StrategyParamsError if invalid.
    With check_data, a gauntlet whose bars (over its own date window) have changed in the catalog no longer counts."""
    canonical = canonical_params(strategy, instrument_id, bar_spec, params)
    key = params_key(canonical)
    rungs: list[LadderRung] = []
    research = _research_rung(strategy, instrument_id, bar_spec, canonical, code_hash)
    rungs.append(research)
    gauntlet = _gauntlet_rung(strategy, instrument_id, bar_spec, key, code_hash, check_data)
    rungs.append(gauntlet)
    paper = _paper_rung(strategy, instrument_id, key, code_hash)
    rungs.append(_above(paper, gauntlet))
    rungs.append(_approved_rung(strategy, instrument_id, bar_spec, canonical, code_hash, rungs))
    return Ladder(strategy, instrument_id, bar_spec, canonical, key, code_hash, rungs)


def _above(rung: LadderRung, below: LadderRung) -> LadderRung:
    # A rung whose evidence passed still does not count while the rung below it does not.
    if rung.passed and not below.passed:
        return LadderRung(
            rung.name, RungState.INVALIDATED, f"the {below.name} rung below it does not count", rung.evidence
        )
    return rung


def _research_rung(strategy: str, instrument_id: str, bar_spec: str, canonical: dict, code_hash: str) -> LadderRung:
    from trading.models import BacktestRun

    runs = BacktestRun.objects.filter(strategy=strategy, instrument_id=instrument_id, bar_spec=bar_spec)
    same_params = [r for r in runs.order_by("-id")[:500] if r.params == canonical]
    for run in same_params:
        if run.code_hash == code_hash:
            return LadderRung("research", RungState.PASSED, f"backtest #{run.pk}: {run.trade_count} trades", run)
    if same_params:
        old = same_params[0]
        return LadderRung(
            "research",
            RungState.INVALIDATED,
            f"backtest #{old.pk} ran other code ({old.code_hash[:12]}, now {code_hash[:12]})",
            old,
        )
    return LadderRung("research", RungState.NOT_RUN, "no stored backtest with these params")


def _code_changed(evidence: Any, code_hash: str, label: str) -> str:
    if evidence.code_hash != code_hash:
        return f"{label} ran other code ({evidence.code_hash[:12]}, now {code_hash[:12]})"
    return ""


def _data_changed(report: GauntletReport, label: str) -> str:
    from research.evidence import current_data_hash

    window = report.window or {}
    now = current_data_hash(report.instrument_id, report.bar_spec, window.get("start"), window.get("end"))
    if now != report.data_hash:
        return f"{label} used other bars ({report.data_hash[:12]}, the catalog's are now {now[:12]})"
    return ""


def _gauntlet_rung(
    strategy: str, instrument_id: str, bar_spec: str, key: str, code_hash: str, check_data: bool
) -> LadderRung:
    report = (
        GauntletReport.objects.filter(strategy=strategy, instrument_id=instrument_id, bar_spec=bar_spec, params_key=key)
        .exclude(status=ReportStatus.RUNNING)
        .order_by("-id")
        .first()
    )
    if report is None:
        running = GauntletReport.objects.filter(
            strategy=strategy, instrument_id=instrument_id, bar_spec=bar_spec, params_key=key
        ).exists()
        return LadderRung("gauntlet", RungState.NOT_RUN, "a gauntlet is running" if running else "no gauntlet report")
    label = f"gauntlet #{report.pk}"
    changed = _code_changed(report, code_hash, label) or (_data_changed(report, label) if check_data else "")
    if changed:
        return LadderRung("gauntlet", RungState.INVALIDATED, changed, report)
    if report.status == ReportStatus.FAILED:
        return LadderRung("gauntlet", RungState.FAILED, f"{label} could not finish: {report.reason}", report)
    if report.verdict != RungOutcome.PASS:
        return LadderRung("gauntlet", RungState.FAILED, f"{label}: {report.reason}", report)
    if problem := _unaudited(Action.GAUNTLET_FINISHED, "report_id", report, label):
        return LadderRung("gauntlet", RungState.INVALIDATED, problem, report)
    return LadderRung("gauntlet", RungState.PASSED, f"{label}: {report.reason}", report)


def _unaudited(action: str, key: str, evidence: Any, label: str) -> str:
    """Why a passing piece of evidence does not count ("" when it does): the service that made it audited its
    verdict; a row written around it (raw SQL, the admin of another app) has no such entry."""
    entry = AuditEntry.objects.filter(action=action, **{f"payload__{key}": evidence.pk}).order_by("seq").last()
    if entry is None:
        return f"{label} has no audit entry of its verdict: written around the service, not counted"
    recorded = (entry.payload.get("verdict"), entry.payload.get("params_key"), entry.payload.get("code_hash"))
    if recorded != (evidence.verdict, evidence.params_key, evidence.code_hash):
        return f"{label} differs from its audit entry #{entry.seq}: not counted"
    return ""


def _paper_rung(strategy: str, instrument_id: str, key: str, code_hash: str) -> LadderRung:
    check = (
        PaperRungCheck.objects.filter(strategy=strategy, instrument_id=instrument_id, params_key=key)
        .order_by("-id")
        .first()
    )
    if check is None:
        return LadderRung("paper", RungState.NOT_RUN, "no paper-rung check")
    label = f"paper rung #{check.pk} (session {check.session_id}, {check.bar_spec} bars)"
    if changed := _code_changed(check, code_hash, label):
        return LadderRung("paper", RungState.INVALIDATED, changed, check)
    if check.verdict != RungOutcome.PASS:
        return LadderRung("paper", RungState.FAILED, f"{label}: {check.reason}", check)
    if problem := _unaudited(Action.PAPER_RUNG_CHECKED, "paper_rung", check, label):
        return LadderRung("paper", RungState.INVALIDATED, problem, check)
    return LadderRung("paper", RungState.PASSED, f"{label}: {check.reason}", check)


def _approved_rung(
    strategy: str, instrument_id: str, bar_spec: str, params: dict, code_hash: str, below: list[LadderRung]
) -> LadderRung:
    from approvals.services import latest_decision, may_trade_live

    latest = latest_decision(strategy, instrument_id)
    if latest is None:
        return LadderRung("approved", RungState.NOT_RUN, "no go-live approval")
    gate = may_trade_live(strategy, instrument_id, current_code_hash=code_hash, bar_spec=bar_spec, params=params)
    if not gate.allowed:
        return LadderRung("approved", RungState.NOT_RUN, gate.reason, latest)
    reason = gate.reason
    if latest.ladder_override:
        reason = f"LADDER OVERRIDDEN by {latest.decided_by}: {latest.ladder_override}"
    elif lapsed := next((r for r in below[1:3] if not r.passed), None):
        # The approval stands (it is bound to code and params, which have not changed); new evidence is owed.
        reason = f"{reason}; since then the {lapsed.name} rung no longer counts: {lapsed.reason}"
    return LadderRung("approved", RungState.PASSED, reason, latest)


def format_report(report: GauntletReport) -> str:
    """A gauntlet report as terminal text: one line per rung, then the verdict."""
    lines = [
        f"gauntlet #{report.pk} {report.strategy} {report.instrument_id} {report.bar_spec} "
        f"params {report.params_key[:12]} code {report.code_hash[:12]} data {report.data_hash[:12]} "
        f"({report.status}, {report.tasks_done}/{report.tasks_total} backtests)"
    ]
    for rung in report.rungs.order_by("position"):
        lines.append(f"  {rung.rung:<22} {rung.verdict:<8} {rung.reason}")
    lines.append(f"verdict: {report.verdict or 'pending'}{': ' + report.reason if report.reason else ''}")
    return "\n".join(lines)


def format_ladder(ladder: Ladder) -> str:
    """A ladder as terminal text: the key, then one line per rung."""
    params = ", ".join(f"{k}={v!r}" for k, v in sorted(ladder.params.items()))
    lines = [
        f"ladder {ladder.strategy} {ladder.instrument_id} {ladder.bar_spec} code {ladder.code_hash[:12]}",
        f"  params {params}",
    ]
    lines += [f"  {r.name:<9} {r.state:<11} {r.reason}" for r in ladder.rungs]
    return "\n".join(lines)


# -- reads for the Research pages (research.views) --------------------------------------------------------------


def gauntlet_reports(limit: int = 200) -> list[GauntletReport]:
    """The newest gauntlet reports first."""
    return list(GauntletReport.objects.order_by("-id")[:limit])


def gauntlet_report(report_id: int) -> GauntletReport | None:
    """One gauntlet report, or None."""
    return GauntletReport.objects.filter(pk=report_id).first()


def report_rungs(report: GauntletReport) -> list:
    """The report's rung results, in order (none while it runs)."""
    return list(report.rungs.order_by("position"))


def report_jobs(report: GauntletReport) -> list[dict[str, Any]]:
    """The report's jobs without their bulky results: index, kind, label, status, error and Sharpe."""
    from django.db.models import F

    from research.models import GauntletJob

    rows = GauntletJob.objects.filter(report=report).order_by("index")
    return list(rows.values("pk", "index", "kind", "label", "status", "error", sharpe=F("result__metrics__sharpe")))


def chosen_job(report: GauntletReport) -> Any:
    """The grid job whose params are the report's chosen params, with its result; None if it is not there."""
    # Specs first (small), then the one result: a grid of hundreds of points carries hundreds of return series.
    for pk, spec in report.jobs.filter(kind="grid").order_by("index").values_list("pk", "spec"):
        params = (spec or {}).get("params") or {}
        if all(params.get(k) == v for k, v in report.params.items()):
            return report.jobs.get(pk=pk)
    return None


def chosen_equity_curve(job: Any) -> list[list[Any]]:
    """The chosen point's equity as [[epoch_ms, equity], ...]: its stored run's curve, else from daily returns."""
    import datetime as dt

    from trading.models import BacktestRun

    result = (job.result or {}) if job is not None else {}
    if result.get("run_id"):
        curve = BacktestRun.objects.filter(pk=result["run_id"]).values_list("equity_curve", flat=True).first()
        if curve:
            return list(curve)
    days, returns = result.get("days") or [], result.get("returns") or []
    if not days:
        return []
    equity, points = 1.0, []
    for day, ret in zip(days, returns, strict=False):
        equity *= 1.0 + float(ret)
        stamp = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
        points.append([int(stamp.timestamp() * 1000), round(equity, 6)])
    return points


def run_of_job(job: Any) -> Any:
    """The BacktestRun a grid job stored (None for the other jobs)."""
    from trading.models import BacktestRun

    run_id = ((job.result or {}) if job is not None else {}).get("run_id")
    return BacktestRun.objects.filter(pk=run_id).defer("trades", "equity_curve").first() if run_id else None
