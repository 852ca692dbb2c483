"""The account-level flatten: every session on the account killed, every working order cancelled and every position
closed at the broker, whatever owns it (a session, another client, TWS), verified flat; for an operator with the
environment's permission, with a reason, audited."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from audit.models import Action
from audit.services import record
from trading.sessions.broker_flatten import await_cancels, describe_positions, flatten_at_broker
from trading.sessions.broker_link import BrokerLink, BrokerLinkError
from trading.sessions.client_ids import ACCOUNT_FLATTEN_CLIENT_ID
from trading.sessions.guards import SessionRefused, check_account, check_environment, check_gateway_accounts
from trading.sessions.models import ACTIVE_STATUSES, TradingSession

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5.0


@dataclass
class AccountFlattenResult:
    """What the flatten did at the broker."""

    account_id: str
    sessions_killed: list[int] = field(default_factory=list)
    working_left: int = 0
    positions_left: dict[str, Decimal] = field(default_factory=dict)
    closes: list[dict] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        """Flat at the broker, nothing working."""
        return not self.error and not self.working_left and not self.positions_left

    @property
    def summary(self) -> str:
        """One line."""
        if self.error:
            return f"account {self.account_id} flatten NOT carried out at the broker: {self.error}"
        if self.working_left:
            return f"account {self.account_id} flatten stopped: {self.working_left} orders still working after cancel"
        if self.positions_left:
            return f"account {self.account_id} flatten incomplete: {describe_positions(self.positions_left)}"
        closed = len(self.closes)
        return f"account {self.account_id} is flat at the broker ({closed} closing order{'s' * (closed != 1)})"


def do_flatten_account(
    *, environment: str, actor: str, reason: str, account_id: str | None = None
) -> AccountFlattenResult:
    """Kill the account's sessions, cancel every working order and close every position at the broker; audited
    before (the request) and after (the outcome), alerted when it did not end flat."""
    from notifications.services import do_send_alert
    from trading.sessions.services import do_request_kill

    reason = (reason or "").strip()
    if not reason:
        raise SessionRefused("account flatten refused: a reason is required")
    check_environment(environment)
    account_id = account_id or settings.ATS.gateway(environment).account_id
    check_account(environment, account_id)
    record(
        Action.ACCOUNT_FLATTEN,
        actor=actor,
        target=f"account:{account_id}",
        payload={"requested": True, "reason": reason, "environment": environment},
    )
    result = AccountFlattenResult(account_id)
    # First nothing may trade on it any more: its sessions halt (their hosts cancel what they hold).
    for session_id in TradingSession.objects.filter(account_id=account_id, status__in=ACTIVE_STATUSES).values_list(
        "pk", flat=True
    ):
        with contextlib.suppress(SessionRefused):  # it ended meanwhile
            result.sessions_killed += do_request_kill(
                actor=actor, reason=f"account flatten: {reason}", session_id=session_id
            )
    gateway = settings.ATS.gateway(environment)
    link = BrokerLink(gateway.host, gateway.port, ACCOUNT_FLATTEN_CLIENT_ID, timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        check_gateway_accounts(dataclasses.replace(gateway, account_id=account_id), link.open())
        link.global_cancel()
        working = await_cancels(link, account_id)
        result.working_left = len(working)
        if not working:  # a working order could fill alongside a closing order: close only what cannot change
            result.positions_left = flatten_at_broker(
                link,
                account_id,
                None,
                order_ref=f"FLATTEN-{account_id}",
                actor=actor,
                target=f"account:{account_id}",
                closes=result.closes,
            )
    except (SessionRefused, BrokerLinkError) as exc:
        result.error = str(exc)
    except Exception as exc:  # the outcome must still be recorded
        log.exception("account %s: flatten failed", account_id)
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        link.close()
    payload = {
        "reason": reason,
        "environment": environment,
        "outcome": result.summary,
        "ok": result.ok,
        "sessions_killed": result.sessions_killed,
        "positions_left": {k: str(v) for k, v in result.positions_left.items()},
        "closes": result.closes,
    }
    record(Action.ACCOUNT_FLATTEN, actor=actor, target=f"account:{account_id}", payload=payload)
    if not result.ok:
        do_send_alert("account.flatten_incomplete", environment, result.summary, payload, actor=actor)
    return result
