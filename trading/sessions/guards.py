"""The gates a session passes before anything connects: environment, account kind, strategy params, approvals."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.conf import settings

from ats_site.config import LIVE_ACCOUNT_RE, PAPER_ACCOUNT_RE, GatewayConfig
from trading.sessions.models import AccountBreaker, Environment


class SessionRefused(Exception):
    """A session may not start; the message is one line saying why."""


# A book is a list of flat sleeves: anything bigger or deeper is not a book, and is refused before it is parsed
# further, audited or shown (a deep document breaks json and repr with RecursionError).
MAX_BOOK_CHARS = 64_000
MAX_BOOK_DEPTH = 3  # list > sleeve > params; parameter values are flat
SLEEVE_KEYS = ("strategy", "instrument_id", "bar_spec", "params")


def _nesting_depth(value: object) -> int:
    """How deeply lists and objects nest in a JSON value (a scalar is 0), without recursion."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if depth <= MAX_BOOK_DEPTH:
                pending.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_book_json(text: str, source: str = "book") -> list:
    """A book from its JSON text, shape-checked (see check_book_shape); SessionRefused in one line otherwise."""
    if len(text) > MAX_BOOK_CHARS:
        raise SessionRefused(f"{source}: {len(text)} characters is too long for a book (at most {MAX_BOOK_CHARS})")
    try:
        book = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SessionRefused(f"{source}: not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise SessionRefused(f"{source}: nested too deeply to be a book of sleeves") from None
    check_book_shape(book)
    return book


def check_book_shape(book: object) -> None:
    """A non-empty list of objects whose strategy, instrument_id and bar_spec are strings and params an object."""
    if not isinstance(book, list) or not book:
        raise SessionRefused("a session needs at least one sleeve (strategy, instrument_id, bar_spec, params)")
    if _nesting_depth(book) > MAX_BOOK_DEPTH:
        raise SessionRefused(f"the book nests deeper than {MAX_BOOK_DEPTH} levels: sleeve params are flat values")
    for index, item in enumerate(book, start=1):
        if not isinstance(item, dict):
            raise SessionRefused(f"sleeve {index}: expected an object with strategy, instrument_id, bar_spec, params")
        unknown = sorted(set(item) - set(SLEEVE_KEYS))
        if unknown:
            raise SessionRefused(f"sleeve {index}: unknown key {unknown[0][:40]!r}")
        for key in SLEEVE_KEYS[:3]:
            if key in item and not isinstance(item[key], str):
                raise SessionRefused(f"sleeve {index}: {key} must be a string, got {type(item[key]).__name__}")
        params = item.get("params")
        if params is not None and not isinstance(params, dict):
            raise SessionRefused(f"sleeve {index}: params must be an object, got {type(params).__name__}")


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
    if environment == Environment.LIVE:
        check_audit_protection()


def check_audit_protection() -> None:
    """Real money needs an audit log nobody can quietly rewrite: an HMAC-keyed chain and intact database guards."""
    from django.db import connection

    from audit.append_only import integrity_problems

    if not settings.ATS.audit_hmac_key:
        raise SessionRefused("live refused: ATS_AUDIT_HMAC_KEY is not set, so the audit chain could be re-forged")
    problems = integrity_problems(connection)
    if problems:
        raise SessionRefused(f"live refused: the audit log's guards are not intact: {problems[0]}")


def check_account(environment: str, account_id: str) -> None:
    """Paper runs only on DU… accounts, live only on U… accounts."""
    if environment == Environment.PAPER and not PAPER_ACCOUNT_RE.match(account_id or ""):
        raise SessionRefused(f"paper sessions need a paper account ('DU' + digits), got {account_id!r}")
    if environment == Environment.LIVE and not LIVE_ACCOUNT_RE.match(account_id or ""):
        raise SessionRefused(f"live sessions need a live account ('U' + digits), got {account_id!r}")


def parse_sleeves(raw: list) -> list[Sleeve]:
    """Validate a book of sleeves (dicts) against each strategy's config; raise SessionRefused naming the sleeve."""
    from trading.strategies.params import StrategyParamsError, build_config

    check_book_shape(raw)
    sleeves, seen = [], set()
    for index, item in enumerate(raw, start=1):
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
    """Every live sleeve needs an active approval for the code, bars and params about to run; return the
    approvals' summary."""
    from approvals.services import may_trade_live
    from trading.strategies.params import canonical_params
    from trading.strategies.registry import code_hash

    summary = []
    for sleeve in sleeves:
        current = code_hash(sleeve.strategy)
        params = canonical_params(sleeve.strategy, sleeve.instrument_id, sleeve.bar_spec, sleeve.params)
        gate = may_trade_live(
            sleeve.strategy, sleeve.instrument_id, current_code_hash=current, bar_spec=sleeve.bar_spec, params=params
        )
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
                "bar_spec": sleeve.bar_spec,
                "params": params,
                "gauntlet_report": gate.approval.gauntlet_report_id,
                "paper_rung": gate.approval.paper_rung_id,
                "ladder_override": gate.approval.ladder_override,
            }
        )
    return summary


def check_gateway_accounts(gateway: GatewayConfig, managed_accounts: list[str]) -> None:
    """After connecting: the gateway must manage our account, and only accounts of the environment's kind."""
    from trading.gateway import account_problem

    problem = account_problem(gateway, managed_accounts)
    if problem:
        raise SessionRefused(problem)


def check_instruments_known(gateway: GatewayConfig, instrument_ids: list[str]) -> None:
    """Every instrument must resolve at the gateway; SessionRefused naming the first that does not, or naming the
    gateway when it cannot be reached (fail closed: an unchecked instrument never starts)."""
    from trading import gateway as ib_gateway

    try:
        problems = ib_gateway.resolve_instruments(gateway, instrument_ids)
    except ib_gateway.GatewayUnreachable as exc:  # its message names the gateway's host:port
        raise SessionRefused(f"cannot check the instruments at the {gateway.environment} gateway: {exc}") from None
    except Exception as exc:  # anything the check did not foresee: fail closed, in one line
        raise SessionRefused(
            f"cannot check the instruments at the {gateway.environment} gateway {ib_gateway.where(gateway)}: "
            f"{ib_gateway.one_line(exc)}"
        ) from None
    for iid in instrument_ids:
        if iid not in problems:  # a resolver that leaves an instrument out has not vouched for it
            raise SessionRefused(f"{iid}: the {gateway.environment} gateway gave no answer for it")
        if problems[iid]:
            raise SessionRefused(problems[iid])


def check_account_breaker(account_id: str) -> None:
    """Refuse a new session on an account whose loss breaker is tripped."""
    tripped = AccountBreaker.objects.filter(account_id=account_id, tripped_at__isnull=False).first()
    if tripped is not None:
        raise SessionRefused(
            f"account {account_id}'s loss breaker is tripped ({tripped.reason}); an operator must reset it first"
        )


def check_instrument_owners(account_id: str, sleeves: list[Sleeve]) -> None:
    """Refuse a sleeve on an instrument that an active session already trades on the same account: two sessions
    would take over each other's positions and orders at the broker."""
    from trading.sessions.models import ACTIVE_STATUSES, TradingSession

    wanted = {s.instrument_id for s in sleeves}
    for session_id, owned in TradingSession.objects.filter(
        account_id=account_id, status__in=ACTIVE_STATUSES
    ).values_list("pk", "sleeves"):
        taken = sorted(wanted & {s.get("instrument_id") for s in owned})
        if taken:
            raise SessionRefused(
                f"{taken[0]} is already traded on account {account_id} by active session {session_id}; "
                "one session per instrument and account"
            )
