"""The catalog's bars as the Studio sees them: which instruments and bar specs it holds, and their bars loaded once
per (bar type, catalog files) in this process, so a preview after a rule change does not read parquet again.

A cached load is keyed by the catalog directory, the bar type and the name, size and mtime of every file holding
those bars or that instrument: an import or fetch that writes a file makes the next preview load afresh.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.instruments import Instrument

from studio.spec import SpecError
from trading.backtests.metrics import BarSeries
from trading.marketdata.catalog import catalog_instrument, load_bars, open_catalog
from trading.strategies.params import StrategyParamsError, bar_type_for

MAX_CACHED = 4  # bar sets kept per process (the daily QQQ bars are about 2 MB of Bar objects)
MAX_POINTS = 10_000  # bars sent to the browser; more are aggregated into this many candles
# A preview runs in the web process: it takes the latest bars only (20 years of daily bars fit; for intraday bars the
# last few weeks), so one preview cannot hold the console for minutes. A backtest runs on all of them.
MAX_PREVIEW_BARS = 20_000
_SUFFIX = "-EXTERNAL"


@dataclass
class MarketData:
    """One bar type's bars from the catalog, with the arrays previews need, loaded once."""

    key: str  # changes whenever the catalog's files for these bars or the instrument change
    bar_type: BarType
    instrument: Instrument
    bars: list[Bar]  # the latest MAX_PREVIEW_BARS of them
    total: int  # bars of this type in the catalog
    series: BarSeries  # ts_init and close: what a run is marked against
    ts_event: np.ndarray  # int64 ns, each bar's start (a daily bar's date at 00:00 UTC)
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    _shown: dict[str, Any] = field(default_factory=dict)

    @property
    def starts(self) -> np.ndarray:
        """First bar of each shown point: every bar, or the first of each aggregated bucket."""
        return self._buckets()[0]

    @property
    def ends(self) -> np.ndarray:
        """Last bar of each shown point."""
        return self._buckets()[1]

    def _buckets(self) -> tuple[np.ndarray, np.ndarray]:
        if "buckets" not in self._shown:
            n = len(self.bars)
            step = max(1, -(-n // MAX_POINTS))
            starts = np.arange(0, n, step)
            ends = np.minimum(starts + step - 1, n - 1)
            self._shown["buckets"] = (starts, ends)
        return self._shown["buckets"]

    def shown_bars(self) -> dict[str, Any]:
        """The bars as the charts get them: times in epoch seconds and OHLC, aggregated if there are too many."""
        if "bars" not in self._shown:
            starts, ends = self._buckets()
            aggregated = len(starts) != len(self.bars)
            self._shown["bars"] = {
                "key": self.key,
                "count": len(self.bars),
                "total": self.total,
                "shown": len(starts),
                "aggregated": aggregated,
                "t": [int(t) // 1_000_000_000 for t in self.ts_event[starts]],
                "o": _prices(self.open[starts]),
                "h": _prices(np.maximum.reduceat(self.high, starts) if aggregated else self.high),
                "l": _prices(np.minimum.reduceat(self.low, starts) if aggregated else self.low),
                "c": _prices(self.series.close[ends]),
            }
        return self._shown["bars"]


def _prices(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


_CACHE: OrderedDict[tuple, MarketData] = OrderedDict()
_LOCK = threading.Lock()


def catalog_root() -> Path:
    """The catalog directory the console uses (settings.ATS_CATALOG_DIR)."""
    return Path(settings.ATS_CATALOG_DIR)


def catalog_bar_specs() -> dict[str, list[str]]:
    """What the catalog holds: instrument id -> its bar specs (e.g. '1-DAY-LAST'), both sorted."""
    held: dict[str, list[str]] = {}
    folder = catalog_root() / "data" / "bar"
    if not folder.is_dir():
        return held
    for child in sorted(folder.iterdir()):
        name = child.name
        if not child.is_dir() or not name.endswith(_SUFFIX) or not any(child.glob("*.parquet")):
            continue
        try:
            bar_type = BarType.from_str(name)
        except ValueError:
            continue
        instrument = bar_type.instrument_id.value
        spec = name[len(instrument) + 1 : -len(_SUFFIX)]
        held.setdefault(instrument, []).append(spec)
    return {k: sorted(v, key=_spec_order) for k, v in sorted(held.items())}


def _spec_order(spec: str) -> tuple[int, int, str]:
    units = ["SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH"]
    step, unit, *_ = [*spec.split("-"), "", ""]
    return (units.index(unit) if unit in units else len(units), int(step) if step.isdigit() else 0, spec)


def _stamp(root: Path, bar_type: BarType) -> tuple:
    data = root / "data"
    files = [*(data / "bar" / str(bar_type)).glob("*"), *data.glob(f"*/{bar_type.instrument_id.value}/*")]
    stamp = []
    for path in sorted(files):
        try:
            info = path.stat()
        except FileNotFoundError:  # removed while we looked: the next preview sees the new state
            continue
        stamp.append((str(path.relative_to(root)), info.st_mtime_ns, info.st_size))
    return tuple(stamp)


def market_data(instrument_id: str, bar_spec: str) -> MarketData:
    """The catalog's bars of an instrument and bar spec (cached); SpecError naming instrument_id or bar_spec."""
    try:
        bar_type = bar_type_for(instrument_id, bar_spec)
    except StrategyParamsError as exc:
        raise SpecError("bar_spec", str(exc)) from None
    root = catalog_root()
    stamp = _stamp(root, bar_type)
    cache_key = (str(root.resolve()), str(bar_type), stamp)
    with _LOCK:
        found = _CACHE.get(cache_key)
        if found is not None:
            _CACHE.move_to_end(cache_key)
            return found
        data = _load(root, bar_type, cache_key)
        _CACHE[cache_key] = data
        while len(_CACHE) > MAX_CACHED:
            _CACHE.popitem(last=False)
        return data


def _load(root: Path, bar_type: BarType, cache_key: tuple) -> MarketData:
    held = catalog_bar_specs()
    instrument_id = bar_type.instrument_id.value
    if not any((root / "data" / "bar" / str(bar_type)).glob("*.parquet")):
        what = ", ".join(f"{i} {s}" for i, specs in held.items() for s in specs) or "no bars at all"
        path = "bar_spec" if instrument_id in held else "instrument_id"
        raise SpecError(path, f"no {bar_type} bars in the catalog (it holds {what}); import_bars or fetch_bars first")
    catalog = open_catalog(root)
    instrument = catalog_instrument(catalog, instrument_id)
    if instrument is None:
        raise SpecError("instrument_id", f"no instrument {instrument_id} in the catalog: run fetch_bars or import_bars")
    bars = load_bars(catalog, bar_type)
    if not bars:
        raise SpecError("bar_spec", f"no {bar_type} bars in the catalog")
    total = len(bars)
    bars = bars[-MAX_PREVIEW_BARS:]
    n = len(bars)
    return MarketData(
        key=hashlib.sha256(repr(cache_key).encode()).hexdigest()[:16],
        bar_type=bar_type,
        instrument=instrument,
        bars=bars,
        total=total,
        series=BarSeries(
            ts=np.fromiter((b.ts_init for b in bars), np.int64, n),
            close=np.fromiter((b.close.as_double() for b in bars), np.float64, n),
        ),
        ts_event=np.fromiter((b.ts_event for b in bars), np.int64, n),
        open=np.fromiter((b.open.as_double() for b in bars), np.float64, n),
        high=np.fromiter((b.high.as_double() for b in bars), np.float64, n),
        low=np.fromiter((b.low.as_double() for b in bars), np.float64, n),
    )


def clear_cache() -> None:
    """Forget every cached load (tests)."""
    with _LOCK:
        _CACHE.clear()
