"""Finding 1: malformed books in --sleeves-json and malformed bar files are one-line CLI errors, nothing written."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEntry
from trading.sessions.models import TradingSession

SLEEVE = {"strategy": "ibs_reversion", "instrument_id": "QQQ.NASDAQ", "bar_spec": "1-DAY-LAST", "params": {}}
HEADER = "date,open,high,low,close,volume"


def _one_line_error(command: str, *args: str) -> str:
    with pytest.raises(CommandError) as info:
        call_command(command, *args, stdout=StringIO())
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content, message",
    [
        (json.dumps([{**SLEEVE, "strategy": ["ibs_reversion"]}]).encode(), "strategy must be a string, got list"),
        (json.dumps([{**SLEEVE, "instrument_id": 7}]).encode(), "instrument_id must be a string, got int"),
        (b"[" * 100_000 + b"]" * 100_000, "characters is too long for a book"),
        (b"[" * 30_000 + b"]" * 30_000, "nested too deeply to be a book of sleeves"),
        ('[{"strategy": "ibs_reversion", "note": "caf\xe9"}]'.encode("latin-1"), "is not UTF-8 text (byte 43)"),
        (b"[1, 2", "not valid JSON (Expecting"),
    ],
)
def test_malformed_sleeves_json_is_a_one_line_error(tmp_path, content, message):
    book = tmp_path / "book.json"
    book.write_bytes(content)
    assert message in _one_line_error("run_paper", "--sleeves-json", str(book))
    assert not TradingSession.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_deep_params_on_the_command_line_are_a_one_line_error():
    args = ["--strategy", "ibs_reversion", "--instrument", "QQQ.NASDAQ"]
    assert "nested too deeply" in _one_line_error("run_paper", *args, "--params", "[" * 50_000 + "]" * 50_000)
    assert "nests deeper than 3 levels" in _one_line_error("run_paper", *args, "--params", '{"buy_threshold": [1]}')
    assert not TradingSession.objects.exists()


def _import(path: Path, bar_spec: str = "1-DAY-LAST") -> str:
    return _one_line_error("import_bars", str(path), "--instrument", "QQQ.NASDAQ", "--bar-spec", bar_spec)


def _bar_files(catalog: Path) -> list[Path]:
    return sorted(Path(catalog).rglob("*.parquet"))


@pytest.mark.parametrize(
    "row, message",
    [
        ("1900-01-02,10,11,9,10,100", "line 3: date '1900-01-02' is outside 1970-01-01 .. tomorrow"),
        ("2236-01-02,10,11,9,10,100", "line 3: date '2236-01-02' is outside 1970-01-01 .. tomorrow"),
        (f"{dt.date.today() + dt.timedelta(days=3)},10,11,9,10,100", "is outside 1970-01-01 .. tomorrow"),
        ("2020-01-03,1e308,1e308,1e308,1e308,100", "line 3: open '1e308' is absurd (above 1e+09)"),
        ("2020-01-03,10,inf,9,10,100", "line 3: high 'inf' is not a finite number"),
        ("2020-01-03,nan,11,9,10,100", "line 3: open 'nan' is not a finite number"),
        ("2020-01-03,10,11,9,10,1e300", "line 3: volume '1e300' is absurd"),
    ],
)
def test_absurd_rows_are_refused_with_their_line_number(empty_catalog, tmp_path, row, message):
    path = tmp_path / "bars.csv"
    path.write_text("\n".join([HEADER, "2020-01-02,10,11,9,10,100", row]) + "\n")
    assert message in _import(path)
    assert _bar_files(empty_catalog) == []


def test_absurd_intraday_timestamps_are_refused(empty_catalog, tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text("timestamp,open,high,low,close,volume\n1e308,10,11,9,10,100\n99999999999999,10,11,9,10,1\n")
    message = _import(path, "1-MINUTE-LAST")
    assert "line 2: timestamp '1e308'" in message or "line 2:" in message
    assert "line 3: timestamp '99999999999999' is outside" in message
    assert _bar_files(empty_catalog) == []


def test_a_file_that_is_not_utf8_is_refused_with_its_line(empty_catalog, tmp_path):
    path = tmp_path / "bars.csv"
    path.write_bytes(f"{HEADER}\n2020-01-02,10,11,9,10,100\n2020-01-03,10,11,9,10,\xff\xfe\n".encode("latin-1"))
    assert _import(path) == "bars.csv: line 3: not UTF-8 text (byte 80), nothing imported"
    assert _bar_files(empty_catalog) == []


def test_a_nul_byte_is_refused_with_its_line(empty_catalog, tmp_path):
    path = tmp_path / "bars.csv"
    path.write_bytes(f"{HEADER}\n2020-01-02,10,11,9,10,100\n2020-01-03,10\x00,11,9,10,1\n".encode())
    assert "line 3: open '10\\x00' is not a number" in _import(path)
    assert _bar_files(empty_catalog) == []
