"""Download historical bars and the instrument definition from an IB gateway (ibsim or a real one) via ib_async.

The contract is resolved exactly as the Nautilus IB adapter resolves it (IB_SIMPLIFIED symbology: QQQ.NASDAQ is
STK on SMART with primary exchange NASDAQ), and the instrument is parsed by the adapter's own parser, so the
catalog holds the same definition a live TradingNode would load. Bar timestamps follow the adapter too (see
trading.marketdata.catalog).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import BarAggregation, PriceType
from nautilus_trader.model.instruments import Instrument

from trading.marketdata.catalog import (
    MarketDataError,
    is_daily,
    make_bar,
    missing_intervals,
    store_instrument,
    write_bars,
)

NS = 1_000_000_000

# IB bar sizes per (aggregation, step), and how much history one request asks for (IB's per-request limits).
_BAR_SIZES = {
    BarAggregation.SECOND: {1: "1 secs", 5: "5 secs", 10: "10 secs", 15: "15 secs", 30: "30 secs"},
    BarAggregation.MINUTE: {
        1: "1 min",
        2: "2 mins",
        3: "3 mins",
        5: "5 mins",
        10: "10 mins",
        15: "15 mins",
        20: "20 mins",
        30: "30 mins",
    },
    BarAggregation.HOUR: {1: "1 hour", 2: "2 hours", 3: "3 hours", 4: "4 hours", 8: "8 hours"},
    BarAggregation.DAY: {1: "1 day"},
}
# Each request asks for more than its window (gateways count durations in trading days or sessions), and
# bars outside the window are dropped, so consecutive windows never leave holes.
_WINDOWS = {  # (duration string, window length)
    BarAggregation.SECOND: ("3600 S", dt.timedelta(seconds=1800)),
    BarAggregation.MINUTE: ("2 D", dt.timedelta(days=1)),
    BarAggregation.HOUR: ("1 M", dt.timedelta(days=14)),
    BarAggregation.DAY: ("1 Y", dt.timedelta(days=250)),
}
# IB codes 2100..2199 are informational ("data farm connection is OK"), not problems worth reporting.
_INFO_CODES = range(2100, 2200)
_WHAT_TO_SHOW = {PriceType.LAST: "TRADES", PriceType.BID: "BID", PriceType.ASK: "ASK", PriceType.MID: "MIDPOINT"}


@dataclass(frozen=True)
class FetchResult:
    """What a fetch did."""

    instrument: Instrument
    requests: int
    received: int  # bars the gateway sent inside the requested range
    written: int  # bars new to the catalog
    up_to_date: bool  # the catalog already covered the whole range: nothing was requested
    gateway_errors: tuple[str, ...] = ()


def ib_request_settings(bar_type: BarType) -> tuple[str, str, str, dt.timedelta]:
    """(barSizeSetting, whatToShow, durationStr, window) for a bar type, or MarketDataError if IB has no such bars."""
    spec = bar_type.spec
    size = _BAR_SIZES.get(spec.aggregation, {}).get(spec.step)
    if size is None:
        raise MarketDataError(
            f"the IB gateway has no {spec} bars (bar sizes: 1/5/10/15/30 SECOND, 1..30 MINUTE, 1..8 HOUR, 1 DAY)"
        )
    duration, window = _WINDOWS[spec.aggregation]
    return size, _WHAT_TO_SHOW[spec.price_type], duration, window


def fetch_bars(
    catalog,
    bar_type: BarType,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    host: str,
    port: int,
    client_id: int = 17,
    timeout: float = 20.0,
    progress: Callable[[int, int, int], None] | None = None,
) -> FetchResult:
    """
    Fetch the bars of [start, end] (whole UTC days) that the catalog lacks and store them with the instrument.
    progress(windows done, windows total, bars so far) is called after each request.
    """
    import ib_async  # imported here: Django pages never need it

    bar_size, what_to_show, duration, window = ib_request_settings(bar_type)
    start_ns = pd.Timestamp(start).tz_localize(None).normalize().tz_localize("UTC").value
    end_ns = pd.Timestamp(end).tz_localize(None).normalize().tz_localize("UTC").value + 86_400 * NS - 1
    # Only completed bars: never mark a period still in progress as covered.
    now_ns = pd.Timestamp.now(tz="UTC").value
    last_complete = (
        (now_ns // (86_400 * NS)) * 86_400 * NS - 1
        if is_daily(bar_type)
        else now_ns - int(bar_type.spec.timedelta.total_seconds() * NS)
    )
    end_ns = min(end_ns, last_complete)
    if end_ns < start_ns:
        raise MarketDataError("the requested range has no completed bars yet")

    errors: list[str] = []
    ib = ib_async.IB()
    ib.errorEvent += lambda req_id, code, message, contract: (
        None if code in _INFO_CODES else errors.append(f"{code}: {message}")
    )
    logging.getLogger("ib_async").setLevel(logging.CRITICAL)  # gateway errors are reported, not logged raw
    try:
        ib.connect(host, port, clientId=client_id, timeout=timeout, readonly=True)
    except (OSError, TimeoutError, ConnectionError) as exc:
        raise MarketDataError(
            f"cannot connect to the IB gateway at {host}:{port}: {exc or type(exc).__name__}"
        ) from None
    try:
        contract, instrument = _resolve(ib, bar_type, timeout, errors)
        store_instrument(catalog, instrument)
        gaps = missing_intervals(catalog, bar_type, start_ns, end_ns)
        windows = [w for gap in gaps for w in _windows(gap, window)]
        bars: list[Bar] = []
        for done, (w_start, w_end) in enumerate(windows, start=1):
            received = ib.reqHistoricalData(
                contract,
                endDateTime=pd.Timestamp(w_end // NS * NS, tz="UTC").to_pydatetime(),
                durationStr=duration,
                barSizeSetting=bar_size,
                whatToShow=what_to_show,
                useRTH=True,
                formatDate=2,
                timeout=timeout * 3,
            )
            for item in received or []:
                bar = make_bar(
                    bar_type,
                    instrument,
                    _bar_start_ns(item.date),
                    item.open,
                    item.high,
                    item.low,
                    item.close,
                    max(item.volume, 0),
                )
                if w_start <= bar.ts_init <= w_end:
                    bars.append(bar)
            if progress:
                progress(done, len(windows), len(bars))
        bars = _dedupe(bars)
        written = 0
        for gap_start, gap_end in gaps:
            written += write_bars(
                catalog, bar_type, [b for b in bars if gap_start <= b.ts_init <= gap_end], gap_start, gap_end
            ).written
        return FetchResult(
            instrument, len(windows), len(bars), written, up_to_date=not gaps, gateway_errors=tuple(errors)
        )
    finally:
        ib.disconnect()


def _resolve(ib, bar_type: BarType, timeout: float, errors: list[str]):
    """The gateway's contract for the instrument id and the Nautilus instrument parsed from its details."""
    import ib_async

    from trading.gateway import InstrumentProblem, contract_query, instrument_from_details, unknown_contract

    instrument_id = bar_type.instrument_id
    details = ib.reqContractDetails(contract_query(instrument_id))
    if not details:
        code = next((int(e.split(":", 1)[0]) for e in errors if e.split(":", 1)[0].isdigit()), None)
        raise MarketDataError(unknown_contract(instrument_id, code))
    found = details[0]
    try:
        instrument = instrument_from_details(found, instrument_id)
    except InstrumentProblem as exc:
        raise MarketDataError(str(exc)) from None
    # Data requests name the contract by conId, as the gateway reported it.
    fields = {f.name for f in dataclasses.fields(ib_async.Contract)} - {"strike", "comboLegs", "deltaNeutralContract"}
    return ib_async.Contract(**{k: v for k, v in dataclasses.asdict(found.contract).items() if k in fields}), instrument


def _windows(gap: tuple[int, int], window: dt.timedelta) -> list[tuple[int, int]]:
    step = int(window.total_seconds() * NS)
    start, end = gap
    return [(s, min(s + step - 1, end)) for s in range(start, end + 1, step)]


def _bar_start_ns(value) -> int:
    # Daily bars arrive dated (a date); intraday bars with formatDate=2 as UTC datetimes.
    if isinstance(value, dt.datetime):
        stamp = pd.Timestamp(value)
        return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).value
    return pd.Timestamp(value).tz_localize("UTC").value


def _dedupe(bars: list[Bar]) -> list[Bar]:
    unique = {b.ts_init: b for b in bars}
    return [unique[k] for k in sorted(unique)]
