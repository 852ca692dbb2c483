"""Import a user's CSV of bars into the catalog (validate the whole file, then write once)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from nautilus_trader.model.data import BarType

from trading.marketdata.catalog import assumed_us_equity, catalog_instrument, store_instrument, write_bars
from trading.marketdata.csv_import import read_bars_csv
from trading.marketdata.integrity import RoundingLog, record_rounding, rounding_report
from trading.strategies.params import bar_type_for


@dataclass(frozen=True)
class ImportResult:
    """What an import did."""

    bar_type: BarType
    rows: int
    written: int
    already_stored: int
    first: pd.Timestamp
    last: pd.Timestamp
    instrument_assumed: bool  # True when no definition was in the catalog and the assumed US equity was stored
    rounding: dict  # integrity.rounding_report of the file's bars: prices changed by rounding to the tick


def import_bars_file(path: str | Path, instrument_id: str, bar_spec: str, catalog) -> ImportResult:
    """Read and check every row, then store the bars the catalog lacks (and an instrument if it has none)."""
    bar_type = bar_type_for(instrument_id, bar_spec)
    instrument = catalog_instrument(catalog, bar_type.instrument_id.value)
    assumed = instrument is None
    if assumed:
        instrument = assumed_us_equity(bar_type.instrument_id.value)
    log = RoundingLog()
    bars = read_bars_csv(path, bar_type, instrument, log)  # raises before anything is written
    result = write_bars(catalog, bar_type, bars, bars[0].ts_init, bars[-1].ts_init)
    record_rounding(catalog, bar_type, log)
    if assumed:
        store_instrument(catalog, instrument)
    return ImportResult(
        bar_type=bar_type,
        rows=len(bars),
        written=result.written,
        already_stored=result.already_stored,
        first=pd.Timestamp(bars[0].ts_event, tz="UTC"),
        last=pd.Timestamp(bars[-1].ts_event, tz="UTC"),
        instrument_assumed=assumed,
        rounding=rounding_report(catalog, bar_type, bars[0].ts_init, bars[-1].ts_init),
    )
