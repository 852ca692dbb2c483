"""Read a user's CSV of bars, checking every row; nothing is returned unless the whole file is valid.

Format: a header row, then one bar per row with columns
`date,open,high,low,close,volume` (daily bars; date as YYYY-MM-DD) or
`timestamp,open,high,low,close,volume` (intraday; the bar's start as ISO 8601, UTC unless it has an offset,
or as epoch seconds). Extra columns are ignored.
"""

from __future__ import annotations

import csv
import io
import math
import time
from pathlib import Path

import pandas as pd
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.instruments import Instrument

from trading.marketdata.catalog import MarketDataError, is_daily, make_bar
from trading.marketdata.integrity import RoundingLog

REQUIRED = ("open", "high", "low", "close", "volume")
MAX_REPORTED = 10
# Sane bounds: Nautilus timestamps count nanoseconds from 1970; a bar cannot start more than a day from now; no
# listed price reaches a billion, and larger numbers overflow Nautilus's fixed-point prices.
EARLIEST_BAR_NS = 0
FUTURE_TOLERANCE_NS = 86_400 * 1_000_000_000
MAX_PRICE = 1e9
MAX_VOLUME = 1e12


def read_bars_csv(
    path: str | Path, bar_type: BarType, instrument: Instrument, rounding: RoundingLog | None = None
) -> list[Bar]:
    """All bars of the file, or MarketDataError listing malformed rows by line number (first ten)."""
    # Prices are rounded to the instrument's tick; a RoundingLog learns which changed and by how much.
    path = Path(path)
    if not path.is_file():
        raise MarketDataError(f"no such file: {path}")
    time_column = "date" if is_daily(bar_type) else "timestamp"
    problems: list[str] = []
    bars: list[Bar] = []
    text = _read_utf8(path)
    latest_ns = time.time_ns() + FUTURE_TOLERANCE_NS
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        raise MarketDataError(f"{path.name}: line 1: unreadable CSV ({exc})") from None
    missing = [c for c in (time_column, *REQUIRED) if c not in header]
    if missing:
        raise MarketDataError(
            f"{path.name}: line 1: header lacks {', '.join(missing)} "
            f"(expected {time_column},{','.join(REQUIRED)} for {bar_type.spec} bars)"
        )
    index = {name: header.index(name) for name in (time_column, *REQUIRED)}
    previous_start: int | None = None
    for line_number, row in _rows(reader, path):
        if not row or all(not cell.strip() for cell in row):
            continue
        try:
            start_ns = _parse_time(row[index[time_column]], daily=time_column == "date")
            if not EARLIEST_BAR_NS <= start_ns <= latest_ns:
                raise ValueError(f"{time_column} {row[index[time_column]].strip()!r} is outside 1970-01-01 .. tomorrow")
            o, h, lo, c, v = (_parse_number(name, row[index[name]]) for name in REQUIRED)
            _check_bar(o, h, lo, c, v)
            if previous_start is not None and start_ns <= previous_start:
                raise ValueError(f"{time_column} is not after the previous row's")
            previous_start = start_ns
            bars.append(make_bar(bar_type, instrument, start_ns, o, h, lo, c, v))
            if rounding is not None:
                rounding.add(bars[-1], (o, h, lo, c))
        except IndexError:
            problems.append(f"line {line_number}: expected {len(header)} columns, got {len(row)}")
        except (ValueError, OverflowError) as exc:
            problems.append(f"line {line_number}: {str(exc).splitlines()[0][:200]}")
    if problems:
        shown = "; ".join(problems[:MAX_REPORTED])
        more = f" (and {len(problems) - MAX_REPORTED} more)" if len(problems) > MAX_REPORTED else ""
        raise MarketDataError(f"{path.name}: {len(problems)} malformed row(s), nothing imported: {shown}{more}")
    if not bars:
        raise MarketDataError(f"{path.name}: no bars in the file")
    return bars


def _read_utf8(path: Path) -> str:
    """The file's text; a file that is not UTF-8 is refused naming the line of the first bad byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise MarketDataError(
            f"{path.name}: line {line}: not UTF-8 text (byte {exc.start}), nothing imported"
        ) from None


def _rows(reader, path: Path):
    """(line number, row) for each data row; a row the csv module cannot read is refused with its line number."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise MarketDataError(
                f"{path.name}: line {reader.line_num}: unreadable CSV ({exc}), nothing imported"
            ) from None
        yield reader.line_num, row


def _parse_time(text: str, *, daily: bool) -> int:
    text = text.strip()
    if daily:
        try:
            return pd.Timestamp(pd.to_datetime(text, format="%Y-%m-%d")).tz_localize("UTC").value
        except (ValueError, TypeError):
            raise ValueError(f"date {text!r} is not YYYY-MM-DD") from None
    if text.replace(".", "", 1).isdigit():
        seconds = float(text)
        if not math.isfinite(seconds) or seconds > 1e11:
            raise ValueError(f"timestamp {text[:40]!r} is outside 1970-01-01 .. tomorrow")
        return int(seconds * 1_000_000_000)
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise ValueError(f"timestamp {text!r} is not ISO 8601 or epoch seconds") from None
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).value


def _parse_number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} {text.strip()!r} is not a finite number")
    limit = MAX_VOLUME if name == "volume" else MAX_PRICE
    if abs(value) > limit:
        raise ValueError(f"{name} {text.strip()[:40]!r} is absurd (above {limit:g})")
    return value


def _check_bar(o: float, h: float, lo: float, c: float, v: float) -> None:
    if min(o, h, lo, c) <= 0:
        raise ValueError("prices must be positive")
    if h < max(o, lo, c):
        raise ValueError(f"high {h} is below open, low or close")
    if lo > min(o, h, c):
        raise ValueError(f"low {lo} is above open, high or close")
    if v < 0:
        raise ValueError(f"volume {v} is negative")
