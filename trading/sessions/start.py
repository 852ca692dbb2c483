"""One way to start a session, for the pages and the CLI: preview what a live start will run, then start it.

Both audit their own refusals; views and commands only turn SessionRefused into a message.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from trading.sessions.guards import SessionRefused
from trading.sessions.models import Environment, TradingSession
from trading.sessions.services import check_environment_account, do_create_session, refuse, validate_session_request


class AccountNotConfirmed(SessionRefused):
    """A live start whose account id was not typed back exactly (audited like every refusal)."""


@dataclass(frozen=True)
class StartPreview:
    """What a start would run: the account, the parsed sleeves and (live) the approval behind each."""

    account_id: str
    sleeves: list
    approvals: list


def preview_session_start(*, environment: str, book: list, actor: str, account_id: str | None = None) -> StartPreview:
    """Every guard and the gateway's instrument check without writing (the summary a live start shows before the
    typed account id); a refusal is audited and raised."""
    try:
        account_id, sleeves, approvals = validate_session_request(environment, book, account_id)
    except SessionRefused as exc:
        raise refuse(environment, str(exc), actor, {"sleeves": book if isinstance(book, list) else None}) from None
    return StartPreview(account_id, sleeves, approvals)


def do_start_session(
    *,
    environment: str,
    book: list,
    actor: str,
    account_id: str | None = None,
    typed_account: str | None = None,
    start_token: str | None = None,
    enqueue: bool = True,
) -> TradingSession:
    """Start a session: live needs the account id typed back; every guard, the write and its audit entry
    (do_create_session); queued for a host on commit unless the caller hosts it (enqueue=False: run_paper/run_live).
    A repeated start token returns the first session (is_repeat) and queues nothing."""
    if environment == Environment.LIVE:
        try:
            expected = check_environment_account(environment, account_id)
        except SessionRefused as exc:
            raise refuse(environment, str(exc), actor, {"sleeves": book}) from None
        typed = (typed_account or "").strip()
        if typed != expected:
            reason = (
                "live start aborted: the typed account id did not match"
                if typed
                else "live start aborted: no account id typed"
            )
            refuse(environment, reason, actor, {"sleeves": book})
            raise AccountNotConfirmed(reason)
    session = do_create_session(
        environment=environment, sleeves=book, actor=actor, account_id=account_id, start_token=start_token
    )
    if enqueue and not getattr(session, "is_repeat", False):
        from trading.sessions.tasks import enqueue_session

        pk = session.pk
        transaction.on_commit(lambda: enqueue_session(pk))
    return session
