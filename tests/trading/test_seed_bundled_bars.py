"""make run's demo catalog: the bundled daily bars go into an empty catalog and never over bars it holds."""

from io import StringIO

from django.core.management import call_command

from trading.marketdata.catalog import load_bars, open_catalog
from trading.strategies.params import bar_type_for


def _seed() -> str:
    out = StringIO()
    call_command("seed_bundled_bars", stdout=out)
    return out.getvalue()


def test_an_empty_catalog_gets_the_bundled_bars_once(settings, tmp_path):
    settings.ATS_CATALOG_DIR = tmp_path / "catalog"
    first = _seed()
    assert "QQQ.NASDAQ-1-DAY-LAST-EXTERNAL: 5031 bundled bars, 1999-01-04 .. 2018-12-31" in first
    assert "GOOG.NASDAQ-1-DAY-LAST-EXTERNAL: 2148 bundled bars" in first
    again = _seed()
    assert again.count("already holds these bars; left as they are") == 3
    assert len(load_bars(open_catalog(), bar_type_for("SPY.ARCA", "1-DAY-LAST"))) == 5031


def test_bars_the_catalog_holds_are_left_alone(settings, tmp_path):
    from trading.marketdata.importer import import_bars_file

    settings.ATS_CATALOG_DIR = tmp_path / "catalog"
    mine = tmp_path / "qqq.csv"
    mine.write_text("date,open,high,low,close,volume\n2020-01-02,100,101,99,100.5,1000\n")
    import_bars_file(mine, "QQQ.NASDAQ", "1-DAY-LAST", open_catalog())
    out = _seed()
    assert "QQQ.NASDAQ-1-DAY-LAST-EXTERNAL: the catalog already holds these bars" in out
    assert len(load_bars(open_catalog(), bar_type_for("QQQ.NASDAQ", "1-DAY-LAST"))) == 1
