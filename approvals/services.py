"""Approve and revoke live trading (each write and its audit entry in one transaction), and the live gate."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from approvals.models import Decision, GoLiveApproval
from audit.models import Action, AuditEntry
from audit.services import record, verify_chain
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


def _check_approve_decision(strategy: str, instrument_id: str, note: str) -> tuple[str, str, str, str]:
    strategy, instrument_id, note = validate_request(strategy, instrument_id, note)
    current = code_hash(strategy)
    latest = latest_decision(strategy, instrument_id)
    if latest and may_trade_live(strategy, instrument_id, current_code_hash=current).allowed:
        raise ApprovalError(f"{strategy} on {instrument_id} is already approved for this code (approval #{latest.pk})")
    return strategy, instrument_id, note, current


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


def check_approve(strategy: str, instrument_id: str, note: str) -> tuple[str, str, str, str]:
    """Validate an approval without writing; return (strategy, instrument, note, current code hash)."""
    checked = _check_approve_decision(strategy, instrument_id, note)
    check_instrument_known(checked[1])
    return checked


def check_revoke(strategy: str, instrument_id: str, note: str) -> tuple[str, str, str, GoLiveApproval]:
    """Validate a revocation without writing; return (strategy, instrument, note, the approval revoked)."""
    strategy, instrument_id, note = validate_request(strategy, instrument_id, note)
    latest = latest_decision(strategy, instrument_id)
    if latest is None or latest.decision != Decision.APPROVE:
        raise ApprovalError(f"{strategy} on {instrument_id} is not approved for live trading: nothing to revoke")
    return strategy, instrument_id, note, latest


def do_approve_live(*, strategy: str, instrument_id: str, note: str, actor: str) -> GoLiveApproval:
    """Approve a strategy + instrument for live trading, bound to the strategy's current code hash."""
    # Every check, the instrument's included, before the transaction: no round trip to a gateway holds it open.
    check_approve(strategy, instrument_id, note)
    with transaction.atomic():
        strategy, instrument_id, note, current = _check_approve_decision(strategy, instrument_id, note)
        approval = GoLiveApproval.objects.create(
            strategy=strategy,
            instrument_id=instrument_id,
            decision=Decision.APPROVE,
            code_hash=current,
            decided_by=actor,
            note=note,
            created_at=timezone.now(),
        )
        record(
            Action.APPROVE_LIVE,
            actor=actor,
            target=f"{strategy}@{instrument_id}",
            payload={"approval_id": approval.pk, "code_hash": current, "note": note},
        )
    return approval


def do_revoke_live(*, strategy: str, instrument_id: str, note: str, actor: str) -> GoLiveApproval:
    """Revoke live trading for a strategy + instrument by appending a revocation."""
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
    return revocation


@dataclass(frozen=True)
class LiveGate:
    """The answer to 'may strategy S trade instrument I live now?'."""

    allowed: bool
    reason: str
    approval: GoLiveApproval | None = None


def may_trade_live(strategy: str, instrument_id: str, current_code_hash: str | None = None) -> LiveGate:
    """Whether the strategy may trade the instrument live now, with a one-line reason when not."""
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
    return LiveGate(True, f"approved by {latest.decided_by} at {latest.created_at:%Y-%m-%d %H:%M} UTC", latest)
