"""What the catalog did to the data: prices rounded to the tick at import, and a content hash of bars.

Imported prices are rounded half up to the instrument's tick (catalog.round_to_tick): a file with 4-decimal prices
is stored in cents, which can change trades. Each import records, per bar, how many of its four prices rounding
changed and the largest change, in a JSON file next to the catalog's data (<catalog>/ats/rounding/<bar type>.json).
rounding_report() sums those records over a date range; data_hash() fingerprints the exact bars a run used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.persistence.catalog.parquet import ParquetDataCatalog

REPORT_DIR = ("ats", "rounding")
HASH_FORMAT = "sha256 of 'ts_event,ts_init,open,high,low,close,volume\\n' per bar, Nautilus decimal strings"


@dataclass
class RoundingLog:
    """Per bar (by ts_init): prices changed by rounding and the largest absolute change."""

    bars: dict[int, tuple[int, float]] = field(default_factory=dict)

    def add(self, bar: Bar, raw: tuple[float, float, float, float]) -> None:
        """Compare a bar's stored open, high, low and close with the prices read from the file."""
        stored = (bar.open.as_double(), bar.high.as_double(), bar.low.as_double(), bar.close.as_double())
        changes = [abs(s - r) for s, r in zip(stored, raw, strict=True)]
        changed = [c for c in changes if c > 1e-9]  # below float noise of a 4-decimal price
        self.bars[bar.ts_init] = (len(changed), round(max(changed, default=0.0), 10))


def _report_path(catalog: ParquetDataCatalog, bar_type: BarType) -> Path:
    return Path(catalog.path).joinpath(*REPORT_DIR, f"{bar_type}.json")


def record_rounding(catalog: ParquetDataCatalog, bar_type: BarType, log: RoundingLog) -> None:
    """Add an import's rounding log to the catalog's record; bars already recorded keep their first record."""
    # An import only writes bars the catalog lacks, so a bar's first record describes the stored prices.
    path = _report_path(catalog, bar_type)
    recorded = _load(path)
    for ts, (changed, largest) in log.bars.items():
        recorded.setdefault(ts, (changed, largest))
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [[ts, changed, largest] for ts, (changed, largest) in sorted(recorded.items())]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"bar_type": str(bar_type), "bars": rows}))
    tmp.replace(path)


def _load(path: Path) -> dict[int, tuple[int, float]]:
    if not path.is_file():
        return {}
    rows = json.loads(path.read_text())["bars"]
    return {int(ts): (int(changed), float(largest)) for ts, changed, largest in rows}


def rounding_report(
    catalog: ParquetDataCatalog, bar_type: BarType, start_ns: int | None = None, end_ns: int | None = None
) -> dict:
    """Prices checked and changed by rounding to the tick, and the largest change, over ts_init in [start, end]."""
    # recorded=False when no import recorded these bars (fetched from IB, or imported before this record existed).
    recorded = _load(_report_path(catalog, bar_type))
    rows = [
        (changed, largest)
        for ts, (changed, largest) in recorded.items()
        if (start_ns is None or ts >= start_ns) and (end_ns is None or ts <= end_ns)
    ]
    return {
        "recorded": bool(rows),
        "bars_checked": len(rows),
        "prices_checked": 4 * len(rows),
        "prices_rounded": sum(changed for changed, _ in rows),
        "bars_rounded": sum(1 for changed, _ in rows if changed),
        "max_change": max((largest for _, largest in rows), default=0.0),
    }


def data_hash(bars: Iterable[Bar]) -> str:
    """sha256 of the exact bars (times, prices and volumes as Nautilus stores them); see HASH_FORMAT."""
    digest = hashlib.sha256()
    for b in bars:
        digest.update(f"{b.ts_event},{b.ts_init},{b.open},{b.high},{b.low},{b.close},{b.volume}\n".encode())
    return digest.hexdigest()


def instrument_rounding_report(
    instrument_id: str,
    bar_spec: str,
    start: str | None = None,
    end: str | None = None,
    catalog: ParquetDataCatalog | None = None,
) -> dict:
    """rounding_report for an instrument id and bar spec (QQQ.NASDAQ, 1-DAY-LAST), dates YYYY-MM-DD inclusive."""
    from trading.marketdata.catalog import day_end_ns, day_start_ns, open_catalog
    from trading.strategies.params import bar_type_for

    return rounding_report(
        catalog or open_catalog(),
        bar_type_for(instrument_id, bar_spec),
        day_start_ns(start) if start else None,
        day_end_ns(end) if end else None,
    )
