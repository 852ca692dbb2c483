"""Approve and revoke live trading (each write and its audit entry in one transaction), and the live gate."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from approvals.models import Decision, GoLiveApproval
from audit.models import Action, AuditEntry
from audit.services import record, verify_chain
from notifications.services import do_send_alert
from trading.ids import InvalidIdentifier, validate_instrument_id
from trading.strategies.registry import UnknownStrategy, code_hash, get_spec


class ApprovalError(ValueError):
    """An approval or revocation was refused; the message is one line saying why."""


def latest_decision(strategy: str, instrument_id: str) -> GoLiveApproval | None:
    """The last decision for a strategy + instrument by insertion order (the database's id, never a clock)."""
    return GoLiveApproval.objects.filter(strategy=strategy, instrument_id=instrument_id).order_by("-id").first()


def _audit_action(decision: GoLiveApproval) -> str:
    return Action.APPROVE_LIVE if decision.decision == Decision.APPROVE else Action.REVOKE_LIVE


def decision_unverified(decision: GoLiveApproval) -> str:
    """Why a decision does not count ("" when it does): it needs its own audit entry, on an intact chain."""
    entry = (
        AuditEntry.objects.filter(action=_audit_action(decision), payload__approval_id=decision.pk)
        .order_by("seq")
        .first()
    )
    if entry is None:
        return f"decision #{decision.pk} has no audit entry: written around the approval service, not counted"
    if (
        entry.target != f"{decision.strategy}@{decision.instrument_id}"
        or entry.actor != decision.decided_by
        or entry.payload.get("code_hash") != decision.code_hash
        or entry.payload.get("params_key", "") != decision.params_key
        or entry.payload.get("ladder_override", "") != decision.ladder_override
    ):
        return f"decision #{decision.pk} differs from its audit entry #{entry.seq}: not counted"
    result = verify_chain(stop_at=entry.seq)
    if not result.ok:
        return f"the audit chain does not verify up to decision #{decision.pk}'s entry #{entry.seq}: {result.problem}"
    return ""


def validate_request(strategy: str, instrument_id: str, note: str) -> tuple[str, str, str]:
    """Check the inputs shared by approve and revoke; return them cleaned, or raise ApprovalError."""
    try:
        get_spec(strategy)
        instrument_id = validate_instrument_id(instrument_id)
    except (UnknownStrategy, InvalidIdentifier) as exc:
        raise ApprovalError(str(exc)) from None
    note = (note or "").strip()
    if not note:
        raise ApprovalError("a note is required: say what evidence supports this decision")
    return strategy, instrument_id, note


@dataclass(frozen=True)
class ApprovalRequest:
    """An approval checked and ready to write: the exact code, bars and params, and the ladder's evidence."""

    strategy: str
    instrument_id: str
    note: str
    code_hash: str
    bar_spec: str
    params: dict
    params_key: str
    gauntlet_report_id: int | None
    paper_rung_id: int | None
    ladder_override: str


def _one_line(text: str | None, what: str) -> str:
    text = (text or "").strip()
    if "\n" in text or "\r" in text:
        raise ApprovalError(f"{what}: one line, please")
    return text


def _check_approve_decision(
    strategy: str, instrument_id: str, note: str, bar_spec: str, params: dict | str | None, override_ladder: str
) -> ApprovalRequest:
    from research.selectors import ladder_for
    from trading.ids import validate_bar_spec
    from trading.strategies.params import StrategyParamsError

    strategy, instrument_id, note = validate_request(strategy, instrument_id, note)
    override = _one_line(override_ladder, "--override-ladder reason")
    current = code_hash(strategy)
    try:
        bar_spec = validate_bar_spec(bar_spec or "")
        ladder = ladder_for(strategy, instrument_id, bar_spec, params, code_hash=current)
    except (InvalidIdentifier, StrategyParamsError) as exc:
        raise ApprovalError(str(exc)) from None
    gate = may_trade_live(strategy, instrument_id, current_code_hash=current, bar_spec=bar_spec, params=ladder.params)
    if gate.allowed and gate.approval is not None:
        raise ApprovalError(
            f"{strategy} on {instrument_id} is already approved for this code, bars and params "
            f"(approval #{gate.approval.pk})"
        )
    if not ladder.ready_for_live and not override:
        blocking = ladder.blocking
        assert blocking is not None  # not ready means a rung below approval does not count
        raise ApprovalError(
            f"the research ladder is not climbed: {blocking.name} rung {blocking.state} ({blocking.reason}); "
            "pass the gauntlet and the paper rung, or approve with an override reason"
        )
    report, paper = ladder.rung("gauntlet"), ladder.rung("paper")
    return ApprovalRequest(
        strategy=strategy,
        instrument_id=instrument_id,
        note=note,
        code_hash=current,
        bar_spec=bar_spec,
        params=ladder.params,
        params_key=ladder.params_key,
        gauntlet_report_id=report.evidence.pk if report.passed else None,
        paper_rung_id=paper.evidence.pk if paper.passed else None,
        ladder_override=override,
    )


def check_instrument_known(instrument_id: str) -> None:
    """An approval names an instrument that exists: one the data catalog holds as a gateway defined it, or else one
    the gateway resolves now (the live gateway when live trading is on, else the paper one: IB defines contracts
    the same for both). ApprovalError in one line otherwise, the gateway being unreachable included."""
    from trading import gateway as ib_gateway
    from trading.marketdata.catalog import catalog_instrument, is_assumed_definition, open_catalog

    known = catalog_instrument(open_catalog(), instrument_id)
    if known is not None and not is_assumed_definition(known):
        return
    config = settings.ATS
    gateway = config.live if config.enable_live_trading else config.paper
    not_in_catalog = "and the data catalog has no definition of it"
    try:
        problem = ib_gateway.resolve_instruments(gateway, [instrument_id]).get(instrument_id)
    except ib_gateway.GatewayUnreachable as exc:
        raise ApprovalError(
            f"{instrument_id} is not in the data catalog and cannot be checked at the {gateway.environment} "
            f"gateway: {exc}"
        ) from None
    except Exception as exc:  # anything the check did not foresee: refuse, in one line
        raise ApprovalError(
            f"{instrument_id} is not in the data catalog and the {gateway.environment} gateway check at "
            f"{ib_gateway.where(gateway)} failed: {ib_gateway.one_line(exc)}"
        ) from None
    if problem is None:
        raise ApprovalError(f"{instrument_id}: the {gateway.environment} gateway gave no answer, {not_in_catalog}")
    if problem:
        raise ApprovalError(f"{problem}, {not_in_catalog}")


def check_approve(
    strategy: str,
    instrument_id: str,
    note: str,
    bar_spec: str = "",
    params: dict | str | None = None,
    override_ladder: str = "",
) -> ApprovalRequest:
    """Validate an approval without writing: inputs, the research ladder (or an override) and the instrument."""
    checked = _check_approve_decision(strategy, instrument_id, note, bar_spec, params, override_ladder)
    check_instrument_known(checked.instrument_id)
    return checked


def check_revoke(strategy: str, instrument_id: str, note: str) -> tuple[str, str, str, GoLiveApproval]:
    """Validate a revocation without writing; return (strategy, instrument, note, the approval revoked)."""
    strategy, instrument_id, note = validate_request(strategy, instrument_id, note)
    latest = latest_decision(strategy, instrument_id)
    if latest is None or latest.decision != Decision.APPROVE:
        raise ApprovalError(f"{strategy} on {instrument_id} is not approved for live trading: nothing to revoke")
    return strategy, instrument_id, note, latest


def do_approve_live(
    *,
    strategy: str,
    instrument_id: str,
    note: str,
    actor: str,
    bar_spec: str = "",
    params: dict | str | None = None,
    override_ladder: str = "",
) -> GoLiveApproval:
    """Approve a strategy + instrument for live trading, bound to its current code, the bars and params approved,
    and the ladder's evidence; without a passing ladder only with an override reason (audited as such). Alerted."""
    # Every check, the instrument's included, before the transaction: no round trip to a gateway holds it open.
    check_approve(strategy, instrument_id, note, bar_spec, params, override_ladder)
    with transaction.atomic():
        request = _check_approve_decision(strategy, instrument_id, note, bar_spec, params, override_ladder)
        approval = GoLiveApproval.objects.create(
            strategy=request.strategy,
            instrument_id=request.instrument_id,
            decision=Decision.APPROVE,
            code_hash=request.code_hash,
            bar_spec=request.bar_spec,
            params=request.params,
            params_key=request.params_key,
            gauntlet_report_id=request.gauntlet_report_id,
            paper_rung_id=request.paper_rung_id,
            ladder_override=request.ladder_override,
            decided_by=actor,
            note=request.note,
            created_at=timezone.now(),
        )
        record(
            Action.APPROVE_LIVE,
            actor=actor,
            target=f"{request.strategy}@{request.instrument_id}",
            payload={
                "approval_id": approval.pk,
                "code_hash": request.code_hash,
                "bar_spec": request.bar_spec,
                "params": request.params,
                "params_key": request.params_key,
                "gauntlet_report": request.gauntlet_report_id,
                "paper_rung": request.paper_rung_id,
                "ladder_override": request.ladder_override,
                "note": request.note,
            },
        )
        override = f" (ladder overridden: {request.ladder_override})" if request.ladder_override else ""
        do_send_alert(
            "approval.granted",
            "live",
            f"{request.strategy} on {request.instrument_id} approved for live trading by {actor}{override}",
            {
                "approval_id": approval.pk,
                "strategy": request.strategy,
                "instrument_id": request.instrument_id,
                "bar_spec": request.bar_spec,
                "code_hash": request.code_hash,
                "ladder_override": request.ladder_override,
                "note": request.note,
            },
            actor=actor,
        )
    return approval


def do_revoke_live(*, strategy: str, instrument_id: str, note: str, actor: str) -> GoLiveApproval:
    """Revoke live trading for a strategy + instrument by appending a revocation (audited, alerted)."""
    with transaction.atomic():
        strategy, instrument_id, note, revoked = check_revoke(strategy, instrument_id, note)
        revocation = GoLiveApproval.objects.create(
            strategy=strategy,
            instrument_id=instrument_id,
            decision=Decision.REVOKE,
            code_hash=code_hash(strategy),
            decided_by=actor,
            note=note,
            created_at=timezone.now(),
        )
        record(
            Action.REVOKE_LIVE,
            actor=actor,
            target=f"{strategy}@{instrument_id}",
            payload={
                "approval_id": revocation.pk,
                "revokes": revoked.pk,
                "code_hash": revocation.code_hash,
                "note": note,
            },
        )
        do_send_alert(
            "approval.revoked",
            "live",
            f"{strategy} on {instrument_id}: live approval revoked by {actor}: {note}",
            {"approval_id": revocation.pk, "revokes": revoked.pk, "strategy": strategy, "instrument_id": instrument_id},
            actor=actor,
        )
    return revocation


@dataclass(frozen=True)
class LiveGate:
    """The answer to 'may strategy S trade instrument I live now?'."""

    allowed: bool
    reason: str
    approval: GoLiveApproval | None = None


def may_trade_live(
    strategy: str,
    instrument_id: str,
    current_code_hash: str | None = None,
    *,
    bar_spec: str | None = None,
    params: dict | None = None,
) -> LiveGate:
    """Whether the strategy may trade the instrument live now with these bars and canonical params (each checked
    when given), with a one-line reason when not."""
    try:
        get_spec(strategy)
    except UnknownStrategy as exc:
        return LiveGate(False, str(exc))
    latest = latest_decision(strategy, instrument_id)
    if latest is None:
        return LiveGate(False, f"{strategy} on {instrument_id} has no go-live approval")
    if latest.decision == Decision.APPROVE and (problem := decision_unverified(latest)):
        return LiveGate(False, f"{strategy} on {instrument_id}: {problem}", latest)
    if latest.decision == Decision.REVOKE:
        return LiveGate(
            False, f"{strategy} on {instrument_id} was revoked by {latest.decided_by}: {latest.note}", latest
        )
    current = current_code_hash or code_hash(strategy)
    if latest.code_hash != current:
        return LiveGate(
            False,
            f"{strategy} code changed since approval #{latest.pk} ({latest.code_hash[:12]} -> {current[:12]}): "
            "re-approval required",
            latest,
        )
    if not latest.params_key:
        return LiveGate(
            False,
            f"approval #{latest.pk} predates the research ladder and names no params: re-approval required",
            latest,
        )
    if bar_spec is not None and bar_spec != latest.bar_spec:
        return LiveGate(False, f"bars {bar_spec} differ from approval #{latest.pk}'s {latest.bar_spec}", latest)
    if params is not None and (difference := params_difference(latest.params, params)):
        return LiveGate(False, f"params differ from approval #{latest.pk}'s: {difference}", latest)
    return LiveGate(True, f"approved by {latest.decided_by} at {latest.created_at:%Y-%m-%d %H:%M} UTC", latest)


def params_difference(approved: dict, wanted: dict) -> str:
    """The first parameter that differs, as 'name value (approved value)'; "" when they are the same."""
    for name in sorted(set(approved) | set(wanted)):
        if approved.get(name, "<unset>") != wanted.get(name, "<unset>"):
            return f"{name} {wanted.get(name, '<unset>')!r} (approved {approved.get(name, '<unset>')!r})"
    return ""
