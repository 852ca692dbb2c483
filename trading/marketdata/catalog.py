"""The Nautilus ParquetDataCatalog under settings.ATS_CATALOG_DIR: instruments, bar timestamps, incremental writes.

Bar timestamps follow the Nautilus IB adapter, so fetched, imported and live bars line up: a daily bar's
ts_event is its date at 00:00 UTC and its ts_init the last nanosecond of that UTC day; an intraday bar's
ts_event is its start and its ts_init its end (start + bar length).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from django.conf import settings
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import BarAggregation
from nautilus_trader.model.identifiers import InstrumentId, Symbol
from nautilus_trader.model.instruments import Equity, Instrument
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.persistence.catalog.parquet import ParquetDataCatalog

NS_PER_DAY = 86_400 * 1_000_000_000


class MarketDataError(ValueError):
    """A market-data request or file is invalid, or the data is missing; the message is one line."""


def open_catalog(path: str | Path | None = None) -> ParquetDataCatalog:
    """The project's catalog (settings.ATS_CATALOG_DIR unless a path is given), created if missing."""
    root = Path(path or settings.ATS_CATALOG_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return ParquetDataCatalog(str(root))


def catalog_instrument(catalog: ParquetDataCatalog, instrument_id: str) -> Instrument | None:
    """The latest definition of an instrument stored in the catalog, if any."""
    found = catalog.instruments(instrument_ids=[instrument_id])
    return max(found, key=lambda i: i.ts_init) if found else None


def assumed_us_equity(instrument_id: str) -> Equity:
    """
    The definition used when a user imports bars for an instrument the catalog does not know: a US equity
    quoted in USD with a 0.01 tick and 1-share lots, no ISIN. Fetching from the gateway stores the real one.
    """
    iid = InstrumentId.from_str(instrument_id)
    return Equity(
        instrument_id=iid,
        raw_symbol=Symbol(iid.symbol.value),
        currency=USD,
        price_precision=2,
        price_increment=Price.from_str("0.01"),
        lot_size=Quantity.from_int(1),
        ts_event=0,
        ts_init=0,
    )


def is_assumed_definition(instrument: Instrument) -> bool:
    """Whether a stored definition is assumed_us_equity's (bars imported for an instrument no gateway defined):
    such a definition proves nothing about the instrument existing."""
    return instrument.ts_init == 0 and getattr(instrument, "isin", None) is None


def store_instrument(catalog: ParquetDataCatalog, instrument: Instrument) -> bool:
    """Write the instrument unless the catalog already holds an identical definition; True if written."""
    existing = catalog_instrument(catalog, instrument.id.value)
    if existing is not None and _same_definition(existing, instrument):
        return False
    catalog.write_data([instrument])
    return True


def _same_definition(a: Instrument, b: Instrument) -> bool:
    keys = ("id", "quote_currency", "price_precision", "price_increment", "size_precision", "lot_size")
    return all(getattr(a, k) == getattr(b, k) for k in keys)


def bar_step_ns(bar_type: BarType) -> int:
    """The length of one bar in nanoseconds."""
    return int(pd.Timedelta(bar_type.spec.timedelta).value)


def is_daily(bar_type: BarType) -> bool:
    """Whether bars are one or more days long (dated, not time-stamped)."""
    return bar_type.spec.aggregation == BarAggregation.DAY


def bar_timestamps(bar_type: BarType, start_ns: int) -> tuple[int, int]:
    """(ts_event, ts_init) of a bar that starts at start_ns, as the Nautilus IB adapter stamps them."""
    step = bar_step_ns(bar_type)
    return start_ns, start_ns + step - 1 if is_daily(bar_type) else start_ns + step


def round_to_tick(value: float, instrument: Instrument) -> Price:
    """A positive price rounded half up to the instrument's tick (data rescaled to 4 decimals is rounded here)."""
    tick = instrument.price_increment.as_double()
    # Half up, as on paper: 136.925 -> 136.93. The epsilon absorbs float error in value / tick (prices in files
    # carry a few decimals, far coarser); Price() then rounds the product to the instrument's precision.
    return Price(math.floor(value / tick + 0.5 + 1e-7) * tick, instrument.price_precision)


def make_bar(
    bar_type: BarType, instrument: Instrument, start_ns: int, o: float, h: float, lo: float, c: float, v: float
) -> Bar:
    """One bar with prices rounded to the tick and adapter timestamps."""
    ts_event, ts_init = bar_timestamps(bar_type, start_ns)
    return Bar(
        bar_type=bar_type,
        open=round_to_tick(o, instrument),
        high=round_to_tick(h, instrument),
        low=round_to_tick(lo, instrument),
        close=round_to_tick(c, instrument),
        volume=instrument.make_qty(v),
        ts_event=ts_event,
        ts_init=ts_init,
    )


@dataclass(frozen=True)
class WriteResult:
    """What an incremental write added."""

    written: int  # bars written now
    already_stored: int  # bars skipped because the catalog already covers their time


def covered_intervals(catalog: ParquetDataCatalog, bar_type: BarType) -> list[tuple[int, int]]:
    """The inclusive ts_init intervals the catalog already holds for these bars."""
    return list(catalog.get_intervals(Bar, str(bar_type)))


def missing_intervals(
    catalog: ParquetDataCatalog, bar_type: BarType, start_ns: int, end_ns: int
) -> list[tuple[int, int]]:
    """The parts of [start_ns, end_ns] the catalog does not cover yet for these bars."""
    return list(catalog.get_missing_intervals_for_request(start_ns, end_ns, Bar, str(bar_type)))


def write_bars(
    catalog: ParquetDataCatalog, bar_type: BarType, bars: list[Bar], start_ns: int, end_ns: int
) -> WriteResult:
    """
    Store bars for [start_ns, end_ns] incrementally: only gaps the catalog does not cover are written, each as
    one file spanning the whole gap, so re-running the same request writes nothing (idempotent).
    """
    bars = sorted(bars, key=lambda b: b.ts_init)
    written = 0
    for gap_start, gap_end in missing_intervals(catalog, bar_type, start_ns, end_ns):
        chunk = [b for b in bars if gap_start <= b.ts_init <= gap_end]
        if chunk:
            catalog.write_data(chunk, start=gap_start, end=gap_end)
            written += len(chunk)
    in_range = sum(1 for b in bars if start_ns <= b.ts_init <= end_ns)
    return WriteResult(written=written, already_stored=in_range - written)


def load_bars(
    catalog: ParquetDataCatalog, bar_type: BarType, start_ns: int | None = None, end_ns: int | None = None
) -> list[Bar]:
    """The stored bars of a type with ts_init in [start_ns, end_ns], in time order."""
    bars = catalog.bars(bar_types=[str(bar_type)], start=start_ns, end=end_ns)
    return [b for b in bars if (start_ns is None or b.ts_init >= start_ns) and (end_ns is None or b.ts_init <= end_ns)]


def day_start_ns(day: str | pd.Timestamp) -> int:
    """00:00 UTC of a date, in nanoseconds."""
    return pd.Timestamp(day).tz_localize(None).normalize().tz_localize("UTC").value


def day_end_ns(day: str | pd.Timestamp) -> int:
    """The last nanosecond (UTC) of a date, so an end date includes that day's bars."""
    return day_start_ns(day) + NS_PER_DAY - 1


def parse_day(name: str, text: str | None) -> pd.Timestamp | None:
    """Parse an ISO date (YYYY-MM-DD) given on the command line; None stays None."""
    if text in (None, ""):
        return None
    try:
        return pd.Timestamp(pd.to_datetime(str(text), format="%Y-%m-%d"))
    except (ValueError, TypeError):
        raise MarketDataError(f"{name}: expected a date like 2010-01-31, got {text!r}") from None
