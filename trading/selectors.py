"""Reads that the console pages need. Views stay thin: every query of the operator pages lives here."""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db.models import F, Max, QuerySet
from django.utils import timezone

from approvals.selectors import active_approvals
from audit.models import AuditEntry
from trading.backtests.series import RunMarket
from trading.models import BacktestRun
from trading.sessions.models import ACTIVE_STATUSES, FINAL_STATUSES, AccountBreaker, SessionEvent, TradingSession

ENVIRONMENTS = ("paper", "live")
PERMS = {"view": "trading.view_console", "paper": "trading.operate_paper", "live": "trading.operate_live"}


# -- permissions and flags ---------------------------------------------------------------------------------------


def live_enabled() -> bool:
    return bool(settings.ATS.enable_live_trading)


def environment_available(environment: str) -> bool:
    """Whether the environment's pages and sockets exist at all (live only with ATS_ENABLE_LIVE_TRADING)."""
    return environment == "paper" or (environment == "live" and live_enabled())


def may_view(user, environment: str) -> bool:
    """Paper pages and telemetry need view_console; anything live needs operate_live (no live without it)."""
    if not user or not user.is_authenticated or not user.is_active:
        return False
    if environment == "live":
        return user.has_perm(PERMS["live"])
    return user.has_perm(PERMS["view"]) or user.has_perm(PERMS["paper"])


def may_operate(user, environment: str) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(PERMS[environment]))


# -- home --------------------------------------------------------------------------------------------------------


def home_overview() -> dict:
    """Recent audit entries, the active go-live approvals and the active sessions per environment."""
    envs = [e for e in ENVIRONMENTS if environment_available(e)]
    return {
        "recent_audit": list(AuditEntry.objects.order_by("-seq")[:10]),
        "approvals": active_approvals(),
        "active_counts": {
            e: TradingSession.objects.filter(environment=e, status__in=ACTIVE_STATUSES).count() for e in envs
        },
    }


# -- sessions ----------------------------------------------------------------------------------------------------


def _money(value) -> float:
    """'-1.00 USD' -> -1.0 (Nautilus Money spelled as a string)."""
    try:
        return float(str(value).split()[0])
    except (ValueError, IndexError):
        return 0.0


def session_pnl(session_id: int) -> dict:
    """The session's latest P&L from its own fills (realized over every round trip, net of commissions; unrealized
    at the market), as its host last published it."""
    latest = (
        SessionEvent.objects.filter(session_id=session_id, kind="pnl").order_by("-id").values_list("payload", flat=True)
    ).first()
    if latest is None:
        return {"realized": 0.0, "unrealized": 0.0, "commissions": 0.0, "total": 0.0}
    commissions = _money(latest.get("commissions"))
    realized = round(_money(latest.get("realized")) - commissions, 2)
    return {
        "realized": realized,
        "unrealized": _money(latest.get("unrealized")),
        "commissions": commissions,
        "total": _money(latest.get("total")),
    }


def session_row(session: TradingSession, now=None) -> dict:
    """One line of the sessions table, JSON-ready."""
    now = now or timezone.now()
    heartbeat_age = (now - session.heartbeat_at).total_seconds() if session.heartbeat_at else None
    return {
        "id": session.pk,
        "environment": session.environment,
        "status": session.status,
        "active": session.is_active,
        "account_id": session.account_id,
        "sleeves": [f"{s['strategy']} {s['instrument_id']} {s['bar_spec']}" for s in session.sleeves],
        "pnl": session_pnl(session.pk),
        "currency": settings.ATS.account_currency,  # the P&L's
        "started_by": session.started_by,
        "created_at": session.created_at.isoformat(),
        "stopped_at": session.stopped_at.isoformat() if session.stopped_at else None,
        "heartbeat_age": round(heartbeat_age, 1) if heartbeat_age is not None and session.is_active else None,
        "kill_requested": bool(session.kill_requested_at),
        "stop_requested": bool(session.stop_requested_at),
        "stop_reason": session.stop_reason,
        "breaker": session.breaker_reason if session.breaker_tripped_at else None,
    }


def active_sessions(environment: str) -> list[dict]:
    now = timezone.now()
    return [
        session_row(s, now) for s in TradingSession.objects.filter(environment=environment, status__in=ACTIVE_STATUSES)
    ]


def finished_sessions(environment: str, limit: int = 25) -> list[dict]:
    now = timezone.now()
    return [
        session_row(s, now)
        for s in TradingSession.objects.filter(environment=environment, status__in=FINAL_STATUSES)[:limit]
    ]


def environment_overview(environment: str) -> dict:
    return {
        "active_sessions": active_sessions(environment),
        "finished_sessions": finished_sessions(environment),
        "last_event_id": recent_log_start(environment),
    }


LOG_KINDS = ("status", "order", "fill", "position")


def recent_log_start(environment: str, lines: int = 30, max_rows: int = 2000) -> int:
    """Where the page's telemetry stream starts: just before the last `lines` log-worthy events (bounded)."""
    last = last_event_id(environment)
    ids = list(
        SessionEvent.objects.filter(environment=environment, kind__in=LOG_KINDS)
        .order_by("-id")
        .values_list("id", flat=True)[:lines]
    )
    start = (ids[-1] - 1) if ids else last
    return max(start, last - max_rows, 0)


def last_event_id(environment: str, session_id: int | None = None) -> int:
    qs = SessionEvent.objects.filter(environment=environment)
    if session_id is not None:
        qs = qs.filter(session_id=session_id)
    return qs.aggregate(m=Max("id"))["m"] or 0


def tripped_account_breakers(environment: str) -> list[AccountBreaker]:
    """The environment's accounts whose loss breaker is tripped (their sessions only reduce risk)."""
    return list(AccountBreaker.objects.filter(environment=environment, tripped_at__isnull=False).order_by("account_id"))


def get_session(environment: str, session_id: int) -> TradingSession | None:
    return TradingSession.objects.filter(environment=environment, pk=session_id).first()


def session_audit_trail(session_id: int, limit: int = 500) -> list[AuditEntry]:
    """Audit entries that name the session (start, stop, kill, orders)."""
    return list(AuditEntry.objects.filter(target=f"session:{session_id}").order_by("seq")[:limit])


def event_dict(row) -> dict:
    """One SessionEvent as the pages and the websocket send it."""
    session_id, pk, kind, ts, payload = row
    return {"id": pk, "session": session_id, "kind": kind, "ts": ts.isoformat(), "payload": payload}


EVENT_FIELDS = ("session_id", "id", "kind", "ts", "payload")


def events_after(
    environment: str, after: int, session_id: int | None = None, limit: int = 500, exclude: set | None = None
) -> list[dict]:
    """Events of an environment (or one session of it) with id above `after`, oldest first."""
    qs = SessionEvent.objects.filter(environment=environment, id__gt=after)
    if session_id is not None:
        qs = qs.filter(session_id=session_id)
    if exclude:
        qs = qs.exclude(id__in=exclude)
    return [event_dict(r) for r in qs.order_by("id").values_list(*EVENT_FIELDS)[:limit]]


def event_ids_after(environment: str, after: int, session_id: int | None = None, limit: int = 1000) -> list[int]:
    qs = SessionEvent.objects.filter(environment=environment, id__gt=after)
    if session_id is not None:
        qs = qs.filter(session_id=session_id)
    return list(qs.order_by("id").values_list("id", flat=True)[:limit])


def events_by_ids(ids: list[int]) -> list[dict]:
    return [event_dict(r) for r in SessionEvent.objects.filter(id__in=ids).order_by("id").values_list(*EVENT_FIELDS)]


# -- research ----------------------------------------------------------------------------------------------------


# The Research list's sort keys and the columns they order by.
RUN_ORDER_FIELDS = {
    "id": "id",
    "when": "created_at",
    "strategy": "strategy",
    "instrument": "instrument_id",
    "trades": "trade_count",
    "return": "total_return",
    "cagr": "cagr",
    "sharpe": "sharpe",
    "max_dd": "max_drawdown",
}


def backtest_runs(sweep: str = "", order: str = "when", descending: bool = True) -> QuerySet[BacktestRun]:
    """The backtest runs (only the sweep's when one is named) by one column (RUN_ORDER_FIELDS; runs without that
    value last either way, then newest first), without their bulky columns."""
    field = F(RUN_ORDER_FIELDS[order])
    ordering = field.desc(nulls_last=True) if descending else field.asc(nulls_last=True)
    runs = BacktestRun.objects.defer("trades", "equity_curve", "metrics").order_by(ordering, "-id")
    return runs.filter(sweep=sweep) if sweep else runs


def backtest_run(run_id: int) -> BacktestRun | None:
    return BacktestRun.objects.filter(pk=run_id).first()


def backtest_market(run: BacktestRun) -> RunMarket:
    """The catalog's bars over a run's data window, its strategy's indicator lines (StrategySpec.chart_lines) on
    them, and notes: no bars, lines unavailable, or bars that differ from the run's (its data hash)."""
    import pandas as pd

    from trading.marketdata.catalog import MarketDataError, catalog_instrument, load_bars, open_catalog
    from trading.marketdata.integrity import data_hash
    from trading.strategies.params import StrategyParamsError, bar_type_for
    from trading.strategies.registry import UnknownStrategy, get_spec

    # data_start/end hold the first and last bar's ts_init cut to microseconds: widen the end by the cut.
    start_ns, end_ns = pd.Timestamp(run.data_start).value, pd.Timestamp(run.data_end).value + 999
    try:
        catalog = open_catalog()
        bars = load_bars(catalog, bar_type_for(run.instrument_id, run.bar_spec), start_ns, end_ns)
        instrument = catalog_instrument(catalog, run.instrument_id)
    except (StrategyParamsError, MarketDataError, OSError, ValueError) as exc:
        return RunMarket.empty(f"No price chart: the catalog's bars could not be read ({str(exc).splitlines()[0]}).")
    if not bars:
        return RunMarket.empty(
            f"No price chart: the catalog holds no {run.instrument_id} {run.bar_spec} bars for "
            f"{run.data_start:%Y-%m-%d} .. {run.data_end:%Y-%m-%d} (import_bars or fetch_bars puts them back)."
        )
    notes = []
    if run.data_hash and data_hash(bars) != run.data_hash:
        notes.append(
            "The catalog's bars for this window differ from the ones this run used (its data hash): the "
            "price, lines and benchmark are drawn from the catalog as it is now."
        )
    lines: dict[str, list[float | None]] = {}
    try:
        hook = get_spec(run.strategy).chart_lines
        if hook is None:
            notes.append(f"{run.strategy} declares no indicator lines.")
        else:
            lines = hook(run.params or {}, bars)
    except UnknownStrategy as exc:
        notes.append(f"No indicator lines: {str(exc).splitlines()[0]}")
    except (ValueError, TypeError, KeyError) as exc:  # a hook refusing these params
        notes.append(f"No indicator lines: {run.strategy} could not draw them for these params ({exc}).")
    return RunMarket(
        ts=np.fromiter((b.ts_init for b in bars), np.int64, len(bars)),
        close=np.fromiter((b.close.as_double() for b in bars), np.float64, len(bars)),
        lines=lines,
        currency=str(instrument.quote_currency) if instrument is not None else "USD",
        price_places=int(instrument.price_precision) if instrument is not None else 2,
        notes=tuple(notes),
    )


# -- approvals ---------------------------------------------------------------------------------------------------


def approvals_overview() -> dict:
    from approvals.models import GoLiveApproval

    return {"active": active_approvals(), "decisions": list(GoLiveApproval.objects.order_by("-id")[:100])}


# -- gateways -------------------------------------------------------------------------------------------------


def gateway_states() -> list[dict]:
    """Health of the paper (and live, when enabled) gateways, for the header badges and the Gateways page."""
    from trading.monitoring.selectors import gateway_states as monitored

    return [s for s in monitored() if environment_available(s.get("environment", ""))]
