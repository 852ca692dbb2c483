"""Built-in table of US stocks and ETFs with their real IB identifiers (conId, ISIN, listing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

VALID_EXCHANGES = (
    "SMART,AMEX,NYSE,CBOE,PHLX,ISE,CHX,ARCA,ISLAND,DRCTEDGE,BEX,BATS,EDGEA,BYX,IEX,EDGX,"
    "FOXRIVER,PEARL,NYSENAT,LTSE,MEMX,IBEOS,OVERNIGHT,TPLUS0,PSX"
)
# The order types and attributes ibsim models (contract details list them, as a gateway lists a venue's).
ORDER_TYPES = "AON,DAY,FOK,GTC,GTD,IOC,LMT,MKT,OCA,RTH,STP,STPLMT,WHATIF"
# Venue codes IB reports in executions for the listing exchange.
VENUE_CODE = {"NASDAQ": "ISLAND", "ARCA": "ARCA", "NYSE": "NYSE"}


@dataclass(frozen=True)
class StockContract:
    """A stock or ETF the simulated gateway knows."""

    symbol: str
    con_id: int
    isin: str
    primary_exchange: str
    long_name: str
    stock_type: str  # "ETF" or "COMMON", as IB reports it
    industry: str
    category: str
    subcategory: str
    currency: str = "USD"
    min_tick: float = 0.01
    time_zone: str = "US/Eastern"
    market_name: str = "NMS"

    @property
    def valid_exchanges(self) -> str:
        return VALID_EXCHANGES

    @property
    def order_types(self) -> str:
        return ORDER_TYPES

    @property
    def market_rule_ids(self) -> str:
        return ",".join(["26"] * len(VALID_EXCHANGES.split(",")))

    @property
    def venue(self) -> str:
        return VENUE_CODE.get(self.primary_exchange, self.primary_exchange)


CONTRACTS: dict[str, StockContract] = {
    c.symbol: c
    for c in [
        StockContract(
            "QQQ",
            320227571,
            "US46090E1038",
            "NASDAQ",
            "INVESCO QQQ TRUST SERIES 1",
            "ETF",
            "Funds",
            "Equity Fund",
            "Growth-Large Cap",
        ),
        StockContract(
            "SPY",
            756733,
            "US78462F1030",
            "ARCA",
            "SPDR S&P 500 ETF TRUST",
            "ETF",
            "Funds",
            "Equity Fund",
            "Growth&Income-Large Cap",
        ),
        StockContract(
            "AAPL", 265598, "US0378331005", "NASDAQ", "APPLE INC", "COMMON", "Technology", "Computers", "Computers"
        ),
        StockContract(
            "MSFT", 272093, "US5949181045", "NASDAQ", "MICROSOFT CORP", "COMMON", "Technology", "Software", "Software"
        ),
        StockContract(
            "GOOG",
            208813720,
            "US02079K1079",
            "NASDAQ",
            "ALPHABET INC-CL C",
            "COMMON",
            "Communications",
            "Internet",
            "Web Portals/ISP",
        ),
        StockContract(
            "IWM",
            9579970,
            "US4642876555",
            "ARCA",
            "ISHARES RUSSELL 2000 ETF",
            "ETF",
            "Funds",
            "Equity Fund",
            "Small Cap",
        ),
    ]
}
BY_CON_ID = {c.con_id: c for c in CONTRACTS.values()}


def lookup(spec: dict[str, Any]) -> StockContract | None:
    """Resolve a request's contract fields to a known stock, or None (the gateway's error 200)."""
    con_id = spec.get("conId") or ""
    if con_id not in ("", "0"):
        try:
            found = BY_CON_ID.get(int(con_id))
        except ValueError:
            return None
        return found
    sec_type = (spec.get("secType") or "").upper()
    if sec_type not in ("", "STK"):
        return None
    # Nautilus's simplified symbology sends only localSymbol (no symbol): match either.
    symbol = (spec.get("symbol") or spec.get("localSymbol") or "").upper()
    c = CONTRACTS.get(symbol)
    if c is None:
        return None
    local = (spec.get("localSymbol") or "").upper()
    if local and local != c.symbol:
        return None
    currency = (spec.get("currency") or "").upper()
    if currency and currency != c.currency:
        return None
    primary = (spec.get("primaryExchange") or "").upper()
    if primary and primary != c.primary_exchange:
        return None
    exchange = (spec.get("exchange") or "").upper()
    if exchange and exchange not in c.valid_exchanges.split(",") and exchange != c.primary_exchange:
        return None
    return c


def session_hours(start: date, days: int = 7) -> tuple[str, str]:
    """Trading (04:00-20:00) and liquid (09:30-16:00) hours in IB's format, weekends CLOSED."""
    trading, liquid = [], []
    for i in range(days):
        d = start + timedelta(days=i)
        ds = d.strftime("%Y%m%d")
        if d.weekday() >= 5:
            trading.append(f"{ds}:CLOSED")
            liquid.append(f"{ds}:CLOSED")
        else:
            trading.append(f"{ds}:0400-{ds}:2000")
            liquid.append(f"{ds}:0930-{ds}:1600")
    return ";".join(trading), ";".join(liquid)
