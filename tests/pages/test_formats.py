"""Every main page is written once, by the server, in the console's formats: money with its currency, signed
percentages, times in the operator's zone with the offset; no raw ISO stamps, long floats or Django date styles."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from audit.models import Action
from audit.services import record
from console.services import do_set_time_zone
from research.models import PaperRungCheck
from tests.pages.conftest import add_event, make_session
from tests.pages.format_guard import DJANGO_STYLE, ISO_STAMP, long_float, visible_text
from tests.pages.test_research_pages import BARS, INSTRUMENT, STRATEGY, empty, finished_report  # noqa: F401
from trading.models import BacktestRun
from trading.monitoring.models import GatewayHealth

pytestmark = pytest.mark.django_db

WINTER = dt.datetime(2026, 1, 15, 12, 34, 56, tzinfo=dt.UTC)


def run(**extra) -> BacktestRun:
    fields = {
        "strategy": STRATEGY, "instrument_id": INSTRUMENT, "bar_spec": BARS, "params": {"buy_threshold": 0.15},
        "data_start": dt.datetime(2005, 1, 3, 21, tzinfo=dt.UTC),
        "data_end": dt.datetime(2024, 12, 31, 21, tzinfo=dt.UTC),
        "bar_count": 5031, "code_hash": "c0de", "trade_count": 296, "total_return": 0.0931, "cagr": 0.01,
        "sharpe": 1.23456, "max_drawdown": -0.0314, "duration_seconds": 0.95, "created_at": WINTER,
    }  # fmt: skip
    return BacktestRun.objects.create(**{**fields, **extra})


@pytest.fixture
def stocked(viewer, empty, known_instruments):  # noqa: F811
    """A bit of everything the pages show, stamped 12:34:56 UTC on a winter day."""
    from approvals.services import do_approve_live

    session = make_session("paper", created_at=WINTER)
    add_event(session, "pnl", realized="110000.00", unrealized="-12.5", commissions="1.00", total="109986.50")
    make_session("paper", status="stopped", stopped_at=WINTER, stop_reason="done")
    backtest = run()
    report = finished_report()
    PaperRungCheck.objects.create(
        actor="user:test", strategy=STRATEGY, instrument_id=INSTRUMENT, bar_spec="5-SECOND-LAST",
        params=report.params, params_key=report.params_key, code_hash=report.code_hash, verdict="fail",
        reason="1 of 2 fills matched", session=session, matched=1, session_trades=2, backtest_trades=1,
        rows=[{"status": "matched", "side": "BUY", "quantity": 1000, "backtest_ts": 1768480496000000000,
               "backtest_price": 100.123456, "session_ts": 1768480497000000000, "session_price": 100.2,
               "price_difference": 0.076544, "note": ""}],
    )  # fmt: skip
    do_approve_live(
        strategy=STRATEGY, instrument_id=INSTRUMENT, note="paper ok", actor="user:approver", bar_spec=BARS,
        params=report.params, override_ladder="the desk accepts the risk",
    )  # fmt: skip
    record(
        Action.ORDER_DENIED,
        actor="system:session-1",
        target=f"session:{session.pk}",
        payload={"session": session.pk, "rule": "notional", "notional": "1657000000.00", "cap": "25000",
                 "at": WINTER.isoformat(), "ratio": 0.123456789},
    )  # fmt: skip
    GatewayHealth.objects.create(environment="paper", healthy=True, checked_at=WINTER, changed_at=WINTER)
    return {"session": session, "report": report, "backtest": backtest}


def main_pages(stocked) -> list[str]:
    ladder = f"/research/ladder/?strategy={STRATEGY}&instrument={INSTRUMENT}&bar_spec={BARS}&params=%7B%7D"
    return [
        "/", "/paper/", f"/paper/sessions/{stocked['session'].pk}/", "/research/", "/research/gauntlets/",
        f"/research/gauntlets/{stocked['report'].pk}/", ladder, "/research/new/", "/audit/", "/approvals/",
        "/gateways/", "/studio/", "/settings/", f"/research/{stocked['backtest'].pk}/",
    ]  # fmt: skip


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
def test_no_page_shows_a_raw_stamp_a_long_float_or_a_django_date(client, paper_operator, stocked, zone):
    do_set_time_zone(paper_operator, zone)
    client.force_login(paper_operator)
    offset = "UTC" if zone == "UTC" else "UTC+1"
    for url in main_pages(stocked):
        response = client.get(url)
        assert response.status_code == 200, url
        text = visible_text(response.content.decode())
        for search in (ISO_STAMP.search, long_float, DJANGO_STYLE.search):
            found = search(text)
            assert not found, f"{url}: {found.group(0)!r} in …{text[max(0, found.start() - 80) : found.end() + 80]}…"
        for stamp in re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)? (UTC[+-]?[\d:]*)", text):
            assert stamp == offset, f"{url}: a time in {stamp}, not {offset}"


def test_pages_write_money_percentages_and_times_in_the_chosen_zone(client, paper_operator, stocked):
    do_set_time_zone(paper_operator, "Europe/Berlin")
    client.force_login(paper_operator)
    research = visible_text(client.get("/research/").content.decode())
    for text in ("+9.31%", "+1.00%", "1.23", "-3.14%", "2026-01-15 13:34:56 UTC+1", "2005-01-03 → 2024-12-31"):
        assert text in research, text
    runs = client.get("/research/").content.decode()
    assert 'data-value="0.0931"' in runs and 'data-value="-0.0314"' in runs  # sorting keeps the raw numbers
    session = visible_text(client.get(f"/paper/sessions/{stocked['session'].pk}/").content.decode())
    for text in ("+109,999.00 USD", "-12.50 USD", "1.00 USD", "+109,986.50 USD", "2026-01-15 13:34:56 UTC+1"):
        assert text in session, text
    paper = visible_text(client.get("/paper/").content.decode())
    assert "+109,986.50 USD" in paper and "2026-01-15 13:34:56 UTC+1" in paper
    assert "100,000.00 USD" in paper and "25,000.00 USD per order" in paper and "10 orders per 1 s" in paper
    audit = visible_text(client.get("/audit/").content.decode())
    assert "notional=1,657,000,000.00, cap=25,000" in audit and "at=2026-01-15 13:34:56 UTC+1" in audit
    ladder = f"/research/ladder/?strategy={STRATEGY}&instrument={INSTRUMENT}&bar_spec={BARS}&params=%7B%7D"
    match = visible_text(client.get(ladder).content.decode())
    assert "1,000" in match and "100.12" in match and "0.0765" in match
    gateways = visible_text(client.get("/gateways/").content.decode())
    assert gateways.count("2026-01-15 13:34:56 UTC+1") == 2


def test_an_order_denial_writes_its_notional_as_money():
    from decimal import Decimal

    from ats_site.config import RiskCaps, SubmitRate
    from trading.sessions.risk_rules import DuplicateWindow, InstrumentState, OrderView, SleeveScope, check_order

    caps = RiskCaps(
        max_notional_per_order=Decimal(25000), max_order_submit_rate=SubmitRate(10, 1),
        max_price_deviation=Decimal("0.1"), max_position_notional=Decimal(10**12), max_gross_exposure=Decimal(10**12),
        max_open_orders=20, duplicate_window_seconds=Decimal(1), max_daily_loss=Decimal(1), max_drawdown=Decimal(1),
        max_account_daily_loss=Decimal(1), max_account_drawdown=Decimal(1),
    )  # fmt: skip
    order = OrderView("c1", "S-1", "QQQ.NASDAQ", 1, Decimal(1000), "MARKET")
    denial = check_order(
        order, {"QQQ.NASDAQ": InstrumentState(reference_price=Decimal(1657000))},
        {"S-1": SleeveScope("QQQ.NASDAQ")}, caps, 0, DuplicateWindow(Decimal(1)), 0, currency="EUR",
    )  # fmt: skip
    assert denial is not None
    assert denial.reason == "notional 1,657,000,000.00 EUR (1,000 x 1,657,000) exceeds the cap 25,000.00 EUR"


def test_research_runs_are_paged_by_a_hundred_and_the_sweep_filter_is_kept(client, viewer):
    template = run()
    fields = {f.attname: getattr(template, f.attname) for f in BacktestRun._meta.concrete_fields if f.attname != "id"}
    BacktestRun.objects.bulk_create(
        [BacktestRun(**{**fields, "sweep": "s1" if i < 150 else "", "total_return": i / 1000}) for i in range(204)]
    )
    client.force_login(viewer)
    first = client.get("/research/").content.decode()
    rows = re.findall(r'<tr><td data-value="(\d+)">', first)
    assert len(rows) == 100 and "Runs 1–100 of 205." in first and "page 1 of 3" in first
    last = client.get("/research/", {"page": "3"}).content.decode()
    assert len(re.findall(r'<tr><td data-value="(\d+)">', last)) == 5
    sweep = client.get("/research/", {"sweep": "s1", "page": "2"}).content.decode()
    assert len(re.findall(r'<tr><td data-value="(\d+)">', sweep)) == 50 and "page 2 of 2" in sweep
    assert 'href="?sweep=s1&amp;page=1" rel="first"' in sweep
    bad = client.get("/research/", {"page": "9"})
    assert bad.status_code == 400 and "page &#x27;9&#x27; does not exist: the pages are 1 to 3" in bad.content.decode()


def test_research_runs_sort_across_every_page_by_a_columns_link(client, viewer, empty):  # noqa: F811
    template = run()
    fields = {f.attname: getattr(template, f.attname) for f in BacktestRun._meta.concrete_fields if f.attname != "id"}
    sharpes = [None if i % 10 == 0 else (i * 37 % 101) / 10 for i in range(150)]
    BacktestRun.objects.bulk_create([BacktestRun(**{**fields, "sweep": "s2", "sharpe": sharpe}) for sharpe in sharpes])
    client.force_login(viewer)

    def sharpe_column(query: dict) -> list[str]:
        html = client.get("/research/", query).content.decode()
        # The Sharpe cell: the number before Max DD's, which the (non-numeric) Sweep cell follows.
        return re.findall(r'<td class="num" data-value="([^"]*)">[^<]*</td><td class="num" data-value="[^"]*">[^<]*'
                          r"</td><td>", html)  # fmt: skip

    ranked = sorted((x for x in [*sharpes, template.sharpe] if x is not None), reverse=True)
    best = sharpe_column({"sort": "-sharpe"}) + sharpe_column({"sort": "-sharpe", "page": "2"})
    assert [float(v) for v in best if v] == ranked  # the best of all 151 runs first, across both pages
    assert best[-1] == "" and best.count("") == 15  # runs without a Sharpe go last
    worst = sharpe_column({"sort": "sharpe"})
    assert float(worst[0]) == min(ranked)
    page = client.get("/research/", {"sort": "-sharpe", "sweep": "s2"}).content.decode()
    assert 'href="?sweep=s2&amp;sort=sharpe#' not in page  # headings carry no anchor here
    assert '<th class="num" aria-sort="descending"><a href="?sweep=s2&amp;sort=sharpe">Sharpe</a></th>' in page
    assert '<a href="?sweep=s2&amp;sort=-trades">Trades</a>' in page  # another column: best first
    assert 'href="?sort=-sharpe&amp;sweep=s2&amp;page=2" rel="next"' in page  # page links keep the order
    bad = client.get("/research/", {"sort": "sharpe;drop"})
    assert bad.status_code == 200 and "Unknown sort &#x27;sharpe;drop&#x27;: sorted by When" in bad.content.decode()
