"""Rebuild data/daily/*.csv from the real daily bars that ship inside PyPI packages (arch, backtesting).

Run once by a developer (`python data/build_daily.py` in a venv with arch and backtesting installed);
the CSVs are committed, so nothing fetches data at run time.
"""

import csv
import gzip
import importlib.util
from datetime import datetime
from pathlib import Path

OUT = Path(__file__).resolve().parent / "daily"

# symbol -> (package, file inside it, price divisor, volume divisor, provenance line)
SOURCES = {
    "QQQ": (
        "arch",
        "data/nasdaq/nasdaq.csv.gz",
        40,
        100,
        "NASDAQ Composite index (real daily OHLCV 1999-2018, arch 8.0.0), prices / 40, volume / 100",
    ),
    "SPY": (
        "arch",
        "data/sp500/sp500.csv.gz",
        10,
        100,
        "S&P 500 index (real daily OHLCV 1999-2018, arch 8.0.0), prices / 10, volume / 100",
    ),
    "GOOG": ("backtesting", "test/GOOG.csv", 1, 1, "GOOG (real daily OHLCV 2004-2013, backtesting 0.6.6), unscaled"),
}


def _rows(package: str, relative: str):
    root = Path(importlib.util.find_spec(package).origin).parent
    path = root / relative
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        yield from csv.DictReader(handle)


def _date(text: str) -> str:
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    raise ValueError(f"unparseable date {text!r}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for symbol, (package, relative, price_div, volume_div, note) in SOURCES.items():
        target = OUT / f"{symbol}.csv"
        with open(target, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["date", "open", "high", "low", "close", "volume"])
            for row in _rows(package, relative):
                date = row.get("Date") or row.get("")
                prices = [float(row[k]) / price_div for k in ("Open", "High", "Low", "Close")]
                writer.writerow([_date(date), *(f"{p:.4f}" for p in prices), int(float(row["Volume"]) / volume_div)])
        print(f"{target.name}: {note}")


if __name__ == "__main__":
    main()
