"""import_bars: whole-file validation by line number, nothing partial, incremental and idempotent writes."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from trading.marketdata.catalog import catalog_instrument, load_bars, open_catalog
from trading.strategies.params import bar_type_for

QQQ_CSV = Path(__file__).resolve().parents[2] / "data" / "daily" / "QQQ.csv"
DAILY = bar_type_for("QQQ.NASDAQ", "1-DAY-LAST")


def bar_files(catalog_dir: Path) -> list[Path]:
    return sorted(Path(catalog_dir).rglob("data/bar/**/*.parquet"))


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_import_is_idempotent_and_rounds_to_the_tick(empty_catalog):
    out = StringIO()
    call_command("import_bars", str(QQQ_CSV), "--instrument", "QQQ.NASDAQ", "--bar-spec", "1-DAY-LAST", stdout=out)
    assert "Imported 5031 new QQQ.NASDAQ-1-DAY-LAST-EXTERNAL bars" in out.getvalue()
    assert "assumed US equity" in out.getvalue()
    files = bar_files(empty_catalog)
    out = StringIO()
    call_command("import_bars", str(QQQ_CSV), "--instrument", "QQQ.NASDAQ", "--bar-spec", "1-DAY-LAST", stdout=out)
    assert "Imported 0 new" in out.getvalue() and "(5031 already stored)" in out.getvalue()
    assert bar_files(empty_catalog) == files
    bars = load_bars(open_catalog(), DAILY)
    assert len(bars) == 5031
    first = bars[0]  # 1999-01-04,55.1885,55.8393,54.8170,55.2013
    assert (str(first.open), str(first.high), str(first.low), str(first.close)) == ("55.19", "55.84", "54.82", "55.20")
    # Adapter timestamps: the date at 00:00 UTC, initialised at the end of that UTC day.
    assert first.ts_event == 915408000000000000 and first.ts_init == 915408000000000000 + 86_400 * 10**9 - 1


def test_import_is_incremental(empty_catalog, tmp_path):
    lines = QQQ_CSV.read_text().splitlines()
    head = write_csv(tmp_path / "head.csv", lines[:101])  # header + 100 bars
    call_command("import_bars", str(head), "--instrument", "QQQ.NASDAQ", "--bar-spec", "1-DAY-LAST", stdout=StringIO())
    out = StringIO()
    call_command("import_bars", str(QQQ_CSV), "--instrument", "QQQ.NASDAQ", "--bar-spec", "1-DAY-LAST", stdout=out)
    assert "Imported 4931 new" in out.getvalue() and "(100 already stored)" in out.getvalue()
    bars = load_bars(open_catalog(), DAILY)
    assert len(bars) == 5031 and len({b.ts_init for b in bars}) == 5031
    assert "catalog definition" in out.getvalue()  # the second import reused the stored instrument


def test_malformed_rows_are_reported_by_line_and_nothing_is_written(empty_catalog, tmp_path):
    bad = write_csv(
        tmp_path / "bad.csv",
        [
            "date,open,high,low,close,volume",
            "2020-01-02,10,11,9,10.5,100",
            "2020-01-03,10,9,11,10.5,100",  # line 3: high below low
            "2020-01-06,10,11,9,abc,100",  # line 4: close not a number
            "2020-13-07,10,11,9,10,100",  # line 5: bad date
            "2020-01-08,10,11,9",  # line 6: short row
            "2020-01-09,10,11,9,10,100",
            "2020-01-09,10,11,9,10,100",  # line 8: not after the previous row
        ],
    )
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_bars", str(bad), "--instrument", "QQQ.NASDAQ", "--bar-spec", "1-DAY-LAST", stdout=StringIO()
        )
    message = str(caught.value)
    assert message.startswith(
        "bad.csv: 5 malformed row(s), nothing imported: line 3: high 9.0 is below open, low or close"
    )
    for fragment in (
        "line 4: close 'abc' is not a number",
        "line 5: date '2020-13-07' is not YYYY-MM-DD",
        "line 6: expected 6 columns, got 4",
        "line 8: date is not after the previous row's",
    ):
        assert fragment in message
    assert "\n" not in message
    assert bar_files(empty_catalog) == [] and catalog_instrument(open_catalog(), "QQQ.NASDAQ") is None


def test_bad_header_and_missing_file(empty_catalog, tmp_path):
    wrong = write_csv(tmp_path / "wrong.csv", ["day,o,h,l,c,v", "2020-01-02,1,1,1,1,1"])
    with pytest.raises(CommandError, match="line 1: header lacks date, open, high, low, close, volume"):
        call_command("import_bars", str(wrong), "--instrument", "QQQ.NASDAQ", "--bar-spec", "1-DAY-LAST")
    with pytest.raises(CommandError, match="no such file"):
        call_command(
            "import_bars", str(tmp_path / "nope.csv"), "--instrument", "QQQ.NASDAQ", "--bar-spec", "1-DAY-LAST"
        )
    with pytest.raises(CommandError, match="malformed bar spec"):
        call_command("import_bars", str(wrong), "--instrument", "QQQ.NASDAQ", "--bar-spec", "DAILY")


def test_intraday_timestamps_are_bar_start_and_end(empty_catalog, tmp_path):
    csv = write_csv(
        tmp_path / "min.csv",
        [
            "timestamp,open,high,low,close,volume",
            "2024-03-01T14:30:00Z,100,101,99,100.5,1000",
            "2024-03-01T09:31:00-05:00,100.5,101,100,100.25,1000",
            "1709303520,100.25,100.5,100,100.5,1000",
        ],
    )
    call_command("import_bars", str(csv), "--instrument", "SPY.ARCA", "--bar-spec", "1-MINUTE-LAST", stdout=StringIO())
    bars = load_bars(open_catalog(), bar_type_for("SPY.ARCA", "1-MINUTE-LAST"))
    start = 1709303400 * 10**9
    assert [(b.ts_event - start, b.ts_init - start) for b in bars] == [
        (0, 60 * 10**9),
        (60 * 10**9, 120 * 10**9),
        (120 * 10**9, 180 * 10**9),
    ]
