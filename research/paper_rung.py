"""The paper rung: replay the very bars a paper session received through a backtest of the same strategy, params and
code, and match the two sets of fills one by one (research.paper_match).

The backtest uses the live fill convention (next bar's open), no slippage, and the session's own bars rebuilt from
its telemetry; fills after the last bar (the closing order of a stop) are no strategy decision and are left out on
both sides, as are fills that reconciliation inferred.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from audit.models import Action
from audit.services import record
from research.models import PaperRungCheck, RungOutcome
from research.paper_match import BarRange, MatchResult, SimpleFill, match_fills
from trading.sessions.models import Environment, SessionEvent, TradingSession
from trading.strategies.params import canonical_params, params_key
from trading.strategies.registry import code_hash

DEFAULT_MIN_FILLS = 20
DEFAULT_MIN_MATCH = 0.95
MIN_BARS = 10


class PaperRungError(ValueError):
    """A paper-rung check cannot be made; the message is one line and nothing was stored."""


@dataclass(frozen=True)
class SessionEvidence:
    """One sleeve of a finished paper session: its bars and its fills, from telemetry."""

    sleeve: dict
    bar_type: str
    bars: list[dict]
    fills: list[SimpleFill]


def do_check_paper_rung(
    *,
    session_id: int,
    actor: str,
    sleeve: int | None = None,
    min_fills: int = DEFAULT_MIN_FILLS,
    min_match: float = DEFAULT_MIN_MATCH,
) -> PaperRungCheck:
    """Backtest the session's bars, match fill for fill, store the check with its table and an audit entry."""
    if min_fills < 1 or not 0 < min_match <= 1:
        raise PaperRungError(f"min fills must be >= 1 and min match in (0, 1], got {min_fills} and {min_match}")
    evidence = load_session_evidence(session_id, sleeve)
    sleeve_config = evidence.sleeve
    current = code_hash(sleeve_config["strategy"])
    if sleeve_config.get("code_hash") != current:
        raise PaperRungError(
            f"the strategy's code changed since session {session_id} ran ({str(sleeve_config.get('code_hash'))[:12]}, "
            f"now {current[:12]}): run a new paper session"
        )
    bar_ns = _bar_ns(evidence.bar_type)
    backtest_fills, tick = backtest_session_bars(sleeve_config, evidence.bars, bar_ns)
    # Fills stamped at or after the last bar's close come after the last decision the strategy could make on a bar
    # (IB stamps executions to the second, so a fill moments after the close can carry the close's second).
    last_close = evidence.bars[-1]["ts"] + bar_ns
    session_fills = [f for f in evidence.fills if f.ts < last_close]
    backtest_fills = [f for f in backtest_fills if f.ts < last_close]
    ranges = [BarRange(b["ts"] + bar_ns, b["low"], b["high"]) for b in evidence.bars]
    result = match_fills(session_fills, backtest_fills, ranges, bar_ns, tick)
    verdict, reason = judge_match(result, min_fills, min_match)
    params = canonical_params(
        sleeve_config["strategy"],
        sleeve_config["instrument_id"],
        sleeve_config["bar_spec"],
        sleeve_config.get("params"),
    )
    with transaction.atomic():
        check = PaperRungCheck.objects.create(
            actor=actor,
            strategy=sleeve_config["strategy"],
            instrument_id=sleeve_config["instrument_id"],
            bar_spec=sleeve_config["bar_spec"],
            params=params,
            params_key=params_key(params),
            code_hash=current,
            verdict=verdict,
            reason=reason,
            session_id=session_id,
            matched=result.matched,
            session_trades=result.session_fills,
            backtest_trades=result.backtest_fills,
            numbers={
                "bars": len(evidence.bars),
                "paired": result.paired,
                "match_ratio": round(result.match_ratio, 4),
                "min_fills": min_fills,
                "min_match": min_match,
                "bar_seconds": bar_ns / 1e9,
            },
            rows=result.rows,
        )
        record(
            Action.PAPER_RUNG_CHECKED,
            actor=actor,
            target=f"{check.strategy}@{check.instrument_id}",
            payload={
                "paper_rung": check.pk,
                "session_id": session_id,
                "params_key": check.params_key,
                "code_hash": current,
                "verdict": verdict,
                "reason": reason,
            },
        )
    return check


def judge_match(result: MatchResult, min_fills: int, min_match: float) -> tuple[str, str]:
    """Pass when the session made at least `min_fills` fills and at least `min_match` of all fills matched."""
    summary = (
        f"{result.matched} of {max(result.session_fills, result.backtest_fills)} fills matched "
        f"({result.match_ratio:.0%}; session {result.session_fills}, backtest {result.backtest_fills})"
    )
    if result.session_fills < min_fills:
        return RungOutcome.FAIL, f"{summary}: fewer than {min_fills} session fills"
    if result.match_ratio < min_match:
        return RungOutcome.FAIL, f"{summary}: below {min_match:.0%}"
    return RungOutcome.PASS, f"{summary} >= {min_match:.0%}"


def load_session_evidence(session_id: int, sleeve: int | None) -> SessionEvidence:
    """The bars and fills of one sleeve (numbered from 1, as the session page and telemetry number them) of a
    finished paper session; PaperRungError (one line) when unusable."""
    session = TradingSession.objects.filter(pk=session_id).first()
    if session is None:
        raise PaperRungError(f"no session {session_id}")
    if session.environment != Environment.PAPER:
        raise PaperRungError(f"session {session_id} is a {session.environment} session: the paper rung needs paper")
    if session.is_active:
        raise PaperRungError(f"session {session_id} is still {session.status}: stop it first (its evidence is open)")
    sleeves = session.sleeves or []
    if sleeve is None:
        if len(sleeves) != 1:
            raise PaperRungError(f"session {session_id} has {len(sleeves)} sleeves: name one with --sleeve")
        sleeve = 1
    if not 1 <= sleeve <= len(sleeves):
        raise PaperRungError(f"session {session_id} has no sleeve {sleeve} (it has {len(sleeves)}, numbered from 1)")
    config = sleeves[sleeve - 1]
    bar_type = f"{config['instrument_id']}-{config['bar_spec']}-EXTERNAL"
    by_ts: dict[int, dict] = {}
    for payload in SessionEvent.objects.filter(session_id=session_id, kind="bar").values_list("payload", flat=True):
        if payload.get("bar_type") == bar_type:
            by_ts.setdefault(int(payload["ts"]), payload)  # a bar re-sent after a reconnect counts once
    bars = [by_ts[ts] for ts in sorted(by_ts)]
    if len(bars) < MIN_BARS:
        raise PaperRungError(f"session {session_id} received {len(bars)} {bar_type} bars: at least {MIN_BARS} needed")
    fills = []
    for row in SessionEvent.objects.filter(session_id=session_id, kind="fill").order_by("id"):
        payload = row.payload
        if (payload.get("sleeve") or {}).get("index") != sleeve or payload.get("inferred"):
            continue
        ts = int(payload["ts_event"]) if "ts_event" in payload else int(row.ts.timestamp() * 1e9)
        side = 1 if payload.get("order_side") == "BUY" else -1
        fills.append(SimpleFill(ts, side, float(payload["last_qty"]), float(payload["last_px"])))
    return SessionEvidence(config, bar_type, bars, fills)


def backtest_session_bars(sleeve: dict, bars: list[dict], bar_ns: int) -> tuple[list[SimpleFill], float]:
    """Run the sleeve's strategy over the session's bars (next-open fills, no slippage); its fills and the tick.

    A live bar is stamped with its start (IB's time; ts_event) and reaches the strategy at its end: rebuilt, it
    starts at its stamp and closes (ts_init) one bar later, as the node saw it."""
    from nautilus_trader.model.data import Bar, BarType
    from nautilus_trader.model.objects import Price, Quantity

    from trading.backtests.engine import NEXT_OPEN, BacktestCosts, run_engine
    from trading.marketdata.catalog import assumed_us_equity, catalog_instrument, open_catalog
    from trading.strategies.params import build_config, load_strategy

    instrument = catalog_instrument(open_catalog(), sleeve["instrument_id"]) or assumed_us_equity(
        sleeve["instrument_id"]
    )
    config = build_config(sleeve["strategy"], sleeve["instrument_id"], sleeve["bar_spec"], sleeve.get("params"))
    strategy_class, _ = load_strategy(sleeve["strategy"])
    bar_type = BarType.from_str(f"{sleeve['instrument_id']}-{sleeve['bar_spec']}-EXTERNAL")
    precision = instrument.price_precision
    rebuilt = [
        Bar(
            bar_type,
            Price(b["open"], precision),
            Price(b["high"], precision),
            Price(b["low"], precision),
            Price(b["close"], precision),
            Quantity(max(b["volume"], 0.0), instrument.size_precision),
            int(b["ts"]),
            int(b["ts"]) + bar_ns,
        )
        for b in bars
    ]
    result = run_engine(strategy_class, config, instrument, rebuilt, BacktestCosts(), fill_convention=NEXT_OPEN)
    fills = [SimpleFill(f.ts, f.side, f.quantity, f.price) for f in result.fills]
    return fills, instrument.price_increment.as_double()


def _bar_ns(bar_type: str) -> int:
    from nautilus_trader.model.data import BarType

    return int(BarType.from_str(bar_type).spec.timedelta.total_seconds() * 1e9)
