"""How the risk limits read on the pages and in the live summary: "25,000.00 USD per order", "10 orders per 1 s"."""

from __future__ import annotations

from collections.abc import Callable

from ats_site.config import RISK_LIMITS, ConfigError, parse_rate
from console import formatting


def _rate(raw: str, currency: str) -> str:
    rate = parse_rate("rate", raw)
    every = f"{rate.seconds} s" if rate.seconds < 60 else formatting.duration(rate.seconds)
    return f"{rate.count} order{'' if rate.count == 1 else 's'} per {every}"


def _money(raw: str, currency: str) -> str:
    return formatting.money(raw, currency)


# How each limit's recorded value (a string, see RiskCaps.as_dict) reads; the label is RISK_LIMITS'.
SHOWN: dict[str, Callable[[str, str], str]] = {
    "max_notional_per_order": lambda v, c: f"{formatting.money(v, c)} per order",
    "max_order_submit_rate": _rate,
    "max_price_deviation": lambda v, c: f"{formatting.pct(v, 2, signed=False)} from the market",
    "max_position_notional": lambda v, c: f"{formatting.money(v, c)} per instrument",
    "max_gross_exposure": lambda v, c: formatting.money(v, c),
    "max_open_orders": lambda v, c: f"{formatting.num(v, 0)} working orders",
    "duplicate_window_seconds": lambda v, c: formatting.duration(v),
}


def shown_limit(field: str, raw: str, currency: str) -> str:
    """One limit's value as the operator reads it (money in `currency`); a value that does not parse stays as stored."""
    show = SHOWN.get(field, _money)
    try:
        return show(raw, currency)
    except ConfigError:
        return str(raw)


def limit_rows(values: dict[str, str], currency: str) -> list[tuple[str, str]]:
    """(label, value) for each limit a session recorded (or an environment has), in RISK_LIMITS' order."""
    return [(label, shown_limit(field, values[field], currency)) for field, *_, label in RISK_LIMITS if field in values]
