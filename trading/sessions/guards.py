"""The gates a session passes before anything connects: environment, account kind, strategy params, approvals."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from ats_site.config import LIVE_ACCOUNT_RE, PAPER_ACCOUNT_RE
from trading.sessions.models import AccountBreaker, Environment


class SessionRefused(Exception):
    """A session may not start; the message is one line saying why."""


@dataclass(frozen=True)
class Sleeve:
    """One strategy on one instrument, with its validated parameters."""

    strategy: str
    instrument_id: str
    bar_spec: str
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "strategy": self.strategy,
            "instrument_id": self.instrument_id,
            "bar_spec": self.bar_spec,
            "params": self.params,
        }


def check_environment(environment: str) -> None:
    """Refuse unknown environments, and live while ATS_ENABLE_LIVE_TRADING is false."""
    if environment not in Environment.values:
        raise SessionRefused(f"unknown environment {environment!r}: expected paper or live")
    if environment == Environment.LIVE and not settings.ATS.enable_live_trading:
        raise SessionRefused("live trading is disabled: ATS_ENABLE_LIVE_TRADING is false")


def check_account(environment: str, account_id: str) -> None:
    """Paper runs only on DU… accounts, live only on U… accounts."""
    if environment == Environment.PAPER and not PAPER_ACCOUNT_RE.match(account_id or ""):
        raise SessionRefused(f"paper sessions need a paper account ('DU' + digits), got {account_id!r}")
    if environment == Environment.LIVE and not LIVE_ACCOUNT_RE.match(account_id or ""):
        raise SessionRefused(f"live sessions need a live account ('U' + digits), got {account_id!r}")


def parse_sleeves(raw: list) -> list[Sleeve]:
    """Validate a book of sleeves (dicts) against each strategy's config; raise SessionRefused naming the sleeve."""
    from trading.strategies.params import StrategyParamsError, build_config

    if not isinstance(raw, list) or not raw:
        raise SessionRefused("a session needs at least one sleeve (strategy, instrument_id, bar_spec, params)")
    sleeves, seen = [], set()
    for index, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise SessionRefused(f"sleeve {index}: expected an object with strategy, instrument_id, bar_spec, params")
        unknown = set(item) - {"strategy", "instrument_id", "bar_spec", "params"}
        if unknown:
            raise SessionRefused(f"sleeve {index}: unknown key {sorted(unknown)[0]!r}")
        missing = [k for k in ("strategy", "instrument_id", "bar_spec") if not item.get(k)]
        if missing:
            raise SessionRefused(f"sleeve {index}: {missing[0]} is required")
        params = item.get("params") or {}
        try:
            build_config(item["strategy"], item["instrument_id"], item["bar_spec"], params)
        except StrategyParamsError as exc:
            raise SessionRefused(f"sleeve {index} ({item['strategy']}): {exc}") from None
        key = (item["strategy"], item["instrument_id"])
        if key in seen:
            raise SessionRefused(f"sleeve {index}: {key[0]} on {key[1]} appears twice in the book")
        seen.add(key)
        sleeves.append(Sleeve(item["strategy"], item["instrument_id"], item["bar_spec"], params))
    return sleeves


def check_live_approvals(sleeves: list[Sleeve]) -> list[dict]:
    """Every live sleeve needs an active approval matching the code about to run; return the approvals' summary."""
    from approvals.services import may_trade_live
    from trading.strategies.registry import code_hash

    summary = []
    for sleeve in sleeves:
        current = code_hash(sleeve.strategy)
        gate = may_trade_live(sleeve.strategy, sleeve.instrument_id, current_code_hash=current)
        if not gate.allowed:
            raise SessionRefused(f"live refused: {gate.reason}")
        summary.append(
            {
                "strategy": sleeve.strategy,
                "instrument_id": sleeve.instrument_id,
                "approval_id": gate.approval.pk,
                "approved_by": gate.approval.decided_by,
                "approved_at": gate.approval.created_at.isoformat(),
                "note": gate.approval.note,
                "code_hash": current,
            }
        )
    return summary


def check_gateway_accounts(environment: str, account_id: str, managed_accounts: list[str]) -> None:
    """After connecting: the gateway must manage our account, and its accounts must be of the environment's kind."""
    if account_id not in managed_accounts:
        raise SessionRefused(
            f"the {environment} gateway does not manage account {account_id} "
            f"(it manages {', '.join(managed_accounts) or 'none'})"
        )
    pattern, kind = (PAPER_ACCOUNT_RE, "paper") if environment == Environment.PAPER else (LIVE_ACCOUNT_RE, "live")
    wrong = [a for a in managed_accounts if not pattern.match(a)]
    if wrong:
        raise SessionRefused(
            f"the gateway on the {environment} port manages {', '.join(wrong)}, not {kind} accounts: "
            "wrong gateway on this port"
        )


def check_account_breaker(account_id: str) -> None:
    """Refuse a new session on an account whose loss breaker is tripped."""
    tripped = AccountBreaker.objects.filter(account_id=account_id, tripped_at__isnull=False).first()
    if tripped is not None:
        raise SessionRefused(
            f"account {account_id}'s loss breaker is tripped ({tripped.reason}); an operator must reset it first"
        )
