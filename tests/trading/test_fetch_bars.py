"""fetch_bars against ibsim (the simulated IB gateway speaking the real TWS protocol), via ib_async."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from ibsim import run_in_thread
from trading.marketdata.catalog import catalog_instrument, load_bars, open_catalog
from trading.strategies.params import bar_type_for

QQQ_CSV = Path(__file__).resolve().parents[2] / "data" / "daily" / "QQQ.csv"
DAILY = bar_type_for("QQQ.NASDAQ", "1-DAY-LAST")
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def gateway():
    # ibsim serves data/daily re-dated onto consecutive weekdays ending the weekday before its first day; starting
    # it on 2019-01-01 with a frozen clock makes the last bar 2018-12-31, like the file.
    start = pd.Timestamp("2019-01-01", tz="UTC").timestamp()
    with run_in_thread(accounts=["DU1234567"], port=0, speed=0, start_time=start) as handle:
        yield handle


def fetch(gateway, start: str, end: str) -> str:
    out = StringIO()
    call_command(
        "fetch_bars",
        "--instrument",
        "QQQ.NASDAQ",
        "--bar-spec",
        "1-DAY-LAST",
        "--start",
        start,
        "--end",
        end,
        "--host",
        "127.0.0.1",
        "--port",
        str(gateway.port),
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


def test_fetch_stores_instrument_and_bars_then_is_incremental(gateway, empty_catalog):
    weekdays_2016_2018 = len(pd.bdate_range("2016-01-01", "2018-12-31"))  # ibsim trades every weekday
    weekdays_2015 = len(pd.bdate_range("2015-01-01", "2015-12-31"))
    first = fetch(gateway, "2016-01-01", "2018-12-31")
    assert f"QQQ.NASDAQ-1-DAY-LAST-EXTERNAL: {weekdays_2016_2018} bars received" in first
    assert f"{weekdays_2016_2018} new stored" in first
    instrument = catalog_instrument(open_catalog(), "QQQ.NASDAQ")
    assert instrument.isin == "US46090E1038" and str(instrument.price_increment) == "0.01"  # from the gateway
    bars = load_bars(open_catalog(), DAILY)
    # Prices are the file's, in order (ibsim re-dates them); the gateway sends tick prices it rounded itself,
    # so each close is within half a tick of the 4-decimal file value.
    csv = pd.read_csv(QQQ_CSV)
    np.testing.assert_allclose(
        [b.close.as_double() for b in bars], csv["close"].to_numpy()[-len(bars) :], atol=0.005 + 1e-9
    )
    assert all(pd.Timestamp(b.ts_event, unit="ns").weekday() < 5 for b in bars)

    again = fetch(gateway, "2016-01-01", "2018-12-31")
    assert "already holds 2016-01-01 .. 2018-12-31; nothing to fetch" in again
    files = sorted(Path(empty_catalog).rglob("data/bar/**/*.parquet"))

    wider = fetch(gateway, "2015-01-01", "2018-12-31")  # only 2015 is missing
    assert f"{weekdays_2015} bars received" in wider and f"{weekdays_2015} new stored" in wider
    assert len(sorted(Path(empty_catalog).rglob("data/bar/**/*.parquet"))) == len(files) + 1
    assert len(load_bars(open_catalog(), DAILY)) == weekdays_2016_2018 + weekdays_2015


@pytest.mark.django_db
def test_fetched_bars_backtest(gateway, empty_catalog):
    fetch(gateway, "2017-01-01", "2018-12-31")
    out = StringIO()
    call_command(
        "backtest", "--strategy", "ibs_reversion", "--instrument", "QQQ.NASDAQ", "--bar-spec", "1-DAY-LAST", stdout=out
    )
    assert "trades" in out.getvalue()


def test_unreachable_gateway_and_bad_input_are_one_line_errors(empty_catalog, gateway):
    with pytest.raises(CommandError, match=r"cannot connect to the IB gateway at 127.0.0.1:1"):
        call_command(
            "fetch_bars",
            "--instrument",
            "QQQ.NASDAQ",
            "--bar-spec",
            "1-DAY-LAST",
            "--start",
            "2018-01-01",
            "--end",
            "2018-12-31",
            "--port",
            "1",
        )
    with pytest.raises(CommandError, match="invalid bar spec .7-MINUTE-LAST.: Nautilus does not accept that step"):
        call_command(
            "fetch_bars",
            "--instrument",
            "QQQ.NASDAQ",
            "--bar-spec",
            "7-MINUTE-LAST",
            "--start",
            "2018-01-01",
            "--end",
            "2018-12-31",
            "--port",
            str(gateway.port),
        )
    with pytest.raises(CommandError, match="--start 2018-12-01 is after --end 2018-01-01"):
        call_command(
            "fetch_bars",
            "--instrument",
            "QQQ.NASDAQ",
            "--bar-spec",
            "1-DAY-LAST",
            "--start",
            "2018-12-01",
            "--end",
            "2018-01-01",
            "--port",
            str(gateway.port),
        )
    with pytest.raises(CommandError, match=r"ZZZZ.NASDAQ: the gateway knows no such contract \(IB error 200\)"):
        call_command(
            "fetch_bars",
            "--instrument",
            "ZZZZ.NASDAQ",
            "--bar-spec",
            "1-DAY-LAST",
            "--start",
            "2018-01-01",
            "--end",
            "2018-12-31",
            "--port",
            str(gateway.port),
        )
