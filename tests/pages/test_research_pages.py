"""The Research pages through the Django test client: ladder, gauntlet reports with progress, the start forms
(the commands' checks, one-line refusals, nothing stored), and the sortable backtest list with its params."""

from __future__ import annotations

import re

import numpy as np
import pytest

from research.models import GauntletReport, RungResult
from research.stats.monte_carlo import monte_carlo_drawdown
from research.stats.pbo import probability_of_backtest_overfitting
from research.stats.stability import check_parameter_stability
from research.stats.thresholds import GauntletThresholds
from research.stats.walk_forward import judge_walk_forward, walk_forward_from_sweep, walk_forward_windows
from tests.conftest import QQQ_CSV
from tests.pages.conftest import make_session, make_user
from trading.marketdata.catalog import open_catalog
from trading.marketdata.importer import import_bars_file
from trading.models import BacktestRun
from trading.strategies.params import canonical_params, params_key
from trading.strategies.registry import code_hash

pytestmark = pytest.mark.django_db

STRATEGY, INSTRUMENT, BARS = "ibs_reversion", "QQQ.NASDAQ", "1-DAY-LAST"
WINDOW = {"start": "2016-01-01", "end": "2017-12-31"}


@pytest.fixture(scope="module")
def qqq_dir(tmp_path_factory):
    """QQQ.NASDAQ daily bars from data/daily/QQQ.csv, imported once for this module."""
    path = tmp_path_factory.mktemp("research_pages_qqq")
    import_bars_file(QQQ_CSV, INSTRUMENT, BARS, open_catalog(path))
    return path


@pytest.fixture
def qqq(qqq_dir, settings):
    settings.ATS_CATALOG_DIR = qqq_dir
    return qqq_dir


@pytest.fixture
def empty(tmp_path, settings):
    settings.ATS_CATALOG_DIR = tmp_path / "catalog"
    return settings.ATS_CATALOG_DIR


@pytest.fixture
def enqueued(monkeypatch):
    """Every queue call the start forms make, recorded instead of reaching a django-q cluster."""
    calls: list[tuple] = []
    monkeypatch.setattr("trading.tasks.enqueue_backtest", lambda *a, **k: calls.append(("backtest", a, k)) or "t1")
    monkeypatch.setattr("trading.tasks.enqueue_sweep", lambda *a, **k: calls.append(("sweep", a, k)) or ["t1", "t2"])
    monkeypatch.setattr("research.services.enqueue_jobs", lambda report_id: calls.append(("gauntlet", report_id)))
    return calls


def post(kind: str, **fields) -> dict:
    """A start form's POST data, prefixed as the page renders it."""
    data = {
        "strategy": STRATEGY,
        "instrument_id": INSTRUMENT,
        "bar_spec": BARS,
        "params": '{"buy_threshold": 0.15}',
        "start": WINDOW["start"],
        "end": WINDOW["end"],
        "capital": "100000",
        "commission_per_share": "0.005",
        "commission_min": "1.0",
        "commission_max_pct": "0.01",
        "slippage_prob": "0",
        "fill_convention": "next_open",
        "grid": '{"buy_threshold": [0.15, 0.2]}',
        "thresholds": "",
        **fields,
    }
    return {f"{kind}-{k}": v for k, v in data.items()}


def finished_report(**extra) -> GauntletReport:
    """A finished report whose rungs are the real statistics of synthetic sweeps (no backtest run)."""
    params = canonical_params(STRATEGY, INSTRUMENT, BARS, {"buy_threshold": 0.15})
    rng = np.random.default_rng(7)
    matrix = rng.normal(0.0005, 0.01, size=(600, 6))
    grid = [{**params, "buy_threshold": b, "sell_threshold": s} for s in (0.8, 0.9) for b in (0.1, 0.15, 0.2)]
    limits = GauntletThresholds(min_trades=50)
    windows = walk_forward_windows(list(np.arange(600).astype(str)), 300, 100)
    results, _ = walk_forward_from_sweep(matrix, windows, params=grid)
    sharpes = list(matrix.mean(axis=0) / matrix.std(axis=0) * 252**0.5)
    report = GauntletReport.objects.create(
        actor="user:test",
        strategy=STRATEGY,
        instrument_id=INSTRUMENT,
        bar_spec=BARS,
        params=params,
        params_key=params_key(params),
        code_hash=code_hash(STRATEGY),
        grid={"buy_threshold": [0.1, 0.15, 0.2], "sell_threshold": [0.8, 0.9]},
        thresholds=limits.as_dict(),
        status="finished",
        verdict="fail",
        reason="1 of 4 rungs passed",
        tasks_total=6,
        tasks_done=6,
        **extra,
    )
    verdicts = [
        check_parameter_stability(grid, sharpes, 1, thresholds=limits),
        judge_walk_forward(results, thresholds=limits),
        probability_of_backtest_overfitting(matrix, thresholds=limits),
        monte_carlo_drawdown(matrix[:, 1], thresholds=limits),
    ]
    for i, v in enumerate(verdicts):
        RungResult.objects.create(
            report=report, position=i, rung=v.rung, verdict=v.verdict.value, reason=v.reason,
            numbers=v.numbers, thresholds=v.thresholds,
        )  # fmt: skip
    return report


def test_report_page_shows_rungs_thresholds_heatmap_windows_and_histograms(client, viewer, empty):
    report = finished_report()
    client.force_login(viewer)
    html = client.get(f"/research/gauntlets/{report.pk}/").content.decode()
    assert html.count('class="rung-row') == 4
    assert 'data-rung="parameter_stability"' in html and 'data-rung="monte_carlo"' in html
    # min_trades 50 differs from the default 100: marked in the thresholds table.
    assert re.search(r'<tr class="changed"><td>min_trades</td><td class="num">50</td><td class="num">100</td>', html)
    assert 'id="heatmap"' in html and html.count("cell chosen") == 1
    assert 'id="wf-table"' in html and "→" in html
    assert 'id="mc-histogram"' in html and 'id="pbo-histogram"' in html
    listing = client.get("/research/gauntlets/").content.decode()
    assert f'href="/research/gauntlets/{report.pk}/"' in listing and "buy_threshold=0.15" in listing
    progress = client.get(f"/research/gauntlets/{report.pk}/progress.json").json()
    assert progress["status"] == "finished" and len(progress["rungs"]) == 4
    assert client.get("/research/gauntlets/999999/").status_code == 404


def test_ladder_page_shows_rungs_override_in_red_and_the_paper_match_table(client, viewer, empty, known_instruments):
    from approvals.services import do_approve_live
    from research.models import PaperRungCheck

    report = finished_report()
    session = make_session("paper", status="stopped")
    PaperRungCheck.objects.create(
        actor="user:test", strategy=STRATEGY, instrument_id=INSTRUMENT, bar_spec="5-SECOND-LAST",
        params=report.params, params_key=report.params_key, code_hash=report.code_hash, verdict="fail",
        reason="1 of 2 fills matched", session=session, matched=1, session_trades=2, backtest_trades=1,
        rows=[
            {"status": "matched", "side": "BUY", "quantity": 10, "backtest_ts": 1, "backtest_price": 100.0,
             "session_ts": 1, "session_price": 100.0, "price_difference": 0.0, "note": ""},
            {"status": "session only", "side": "SELL", "quantity": 10, "backtest_ts": None, "backtest_price": None,
             "session_ts": 2, "session_price": 101.0, "price_difference": None, "note": "no such backtest fill"},
        ],
    )  # fmt: skip
    do_approve_live(
        strategy=STRATEGY, instrument_id=INSTRUMENT, note="paper ok", actor="user:approver", bar_spec=BARS,
        params=report.params, override_ladder="the desk accepts the risk",
    )  # fmt: skip
    client.force_login(viewer)
    response = client.get(
        "/research/ladder/", {"strategy": STRATEGY, "instrument": INSTRUMENT, "bar_spec": BARS, "params": "{}"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert [m for m in re.findall(r'class="ladder-row [^"]*" data-rung="(\w+)"', html)] == [
        "research",
        "gauntlet",
        "paper",
        "approved",
    ]
    assert re.search(r'<strong class="override">LADDER OVERRIDDEN by user:approver: the desk accepts', html)
    assert f'href="/research/gauntlets/{report.pk}/"' in html and 'id="heatmap"' in html
    assert html.count('<tr class="mismatch">') == 1 and html.count('<tr class="matched">') == 1
    bad = client.get("/research/ladder/", {"strategy": STRATEGY, "params": '{"buy_threshold": 2}'})
    assert bad.status_code == 400 and "buy_threshold: must be between 0 and 1" in bad.content.decode()


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        ("gauntlet", {"grid": '{"buy_threshold": [0.1, 0.2]}'}, "params: buy_threshold 0.15 is not on the grid"),
        ("gauntlet", {"thresholds": "{min_trades"}, "thresholds: not valid JSON"),
        ("gauntlet", {"thresholds": '{"min_trade": 5}'}, "thresholds: min_trade: unknown gauntlet threshold"),
        ("backtest", {"params": "{buy"}, "params: not valid JSON"),
        ("backtest", {"start": "2016-13-01"}, "start"),
        ("sweep", {"strategy": "no_such"}, "unknown strategy"),
        ("sweep", {"grid": "[1]"}, "grid: expected a JSON object of lists"),
        ("backtest", {"capital": "lots"}, "capital: Enter a number."),
    ],
)
def test_start_forms_refuse_bad_input_in_one_line_and_store_nothing(
    client, paper_operator, empty, enqueued, kind, fields, message
):
    client.force_login(paper_operator)
    response = client.post(f"/research/new/{kind}", post(kind, **fields))
    assert response.status_code == 400
    error = re.search(rf'<p class="refusal" id="{kind}-error">(.*?)</p>', response.content.decode())
    assert error and message in error.group(1) and "\n" not in error.group(1)
    assert enqueued == [] and not GauntletReport.objects.exists() and not BacktestRun.objects.exists()


def test_backtest_refused_without_data_stores_and_queues_nothing(client, paper_operator, empty, enqueued):
    client.force_login(paper_operator)
    response = client.post("/research/new/backtest", post("backtest"))
    assert response.status_code == 400 and "no instrument QQQ.NASDAQ in the catalog" in response.content.decode()
    assert enqueued == []


def test_starting_needs_operate_paper(client, viewer, enqueued):
    client.force_login(viewer)
    page = client.get("/research/new/").content.decode()
    assert "needs the operate paper permission" in page and 'id="gauntlet-button" disabled' in page
    for kind in ("backtest", "sweep", "gauntlet"):
        assert client.post(f"/research/new/{kind}", post(kind)).status_code == 403
    assert enqueued == [] and not GauntletReport.objects.exists()
    client.force_login(make_user("nobody"))
    assert client.get("/research/gauntlets/").status_code == 403


def test_start_page_forms_submit_once_with_csrf(client, paper_operator):
    client.force_login(paper_operator)
    html = client.get("/research/new/").content.decode()
    for kind in ("backtest", "sweep", "gauntlet"):
        form = re.search(rf'<form [^>]*id="{kind}-form"[^>]*>', html)
        assert form and "data-submit-once" in form.group(0)
    assert html.count("csrfmiddlewaretoken") >= 3


def test_backtest_and_sweep_are_queued_after_the_commands_checks(client, paper_operator, qqq, enqueued):
    client.force_login(paper_operator)
    response = client.post("/research/new/backtest", post("backtest", fill_convention="signal_close"))
    assert response.status_code == 302 and response["Location"] == "/research/"
    kind, args, kwargs = enqueued[0]
    assert kind == "backtest" and args[:4] == (STRATEGY, INSTRUMENT, BARS, {"buy_threshold": 0.15})
    assert kwargs["fill_convention"] == "signal_close" and kwargs["actor"] == "user:paperop"
    response = client.post("/research/new/sweep", post("sweep"))
    assert response.status_code == 302 and response["Location"].startswith("/research/?sweep=ibs_reversion-")
    kind, args, kwargs = enqueued[1]
    assert kind == "sweep" and [p["buy_threshold"] for p in args[3]] == [0.15, 0.2]


def test_gauntlet_started_from_the_form_runs_and_its_page_follows_it(
    client, paper_operator, qqq, enqueued, django_capture_on_commit_callbacks
):
    from research.tasks import run_gauntlet_job

    client.force_login(paper_operator)
    data = post("gauntlet", thresholds='{"min_trades": 5}', token="one-form")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/research/new/gauntlet", data)
    report = GauntletReport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/research/gauntlets/{report.pk}/"
    assert enqueued == [("gauntlet", report.pk)] and report.actor == "user:paperop"
    again = client.post("/research/new/gauntlet", data)  # the same form posted twice starts once
    assert again["Location"] == response["Location"] and GauntletReport.objects.count() == 1
    running = client.get(response["Location"]).content.decode()
    assert 'data-status="running"' in running
    assert f'data-progress-url="/research/gauntlets/{report.pk}/progress.json"' in running
    progress = client.get(f"/research/gauntlets/{report.pk}/progress.json").json()
    assert progress["status"] == "running" and progress["tasks_done"] == 0 and progress["rungs"] == []
    assert {j["status"] for j in progress["jobs"]} == {"pending"}
    for job_id in report.jobs.order_by("index").values_list("pk", flat=True):
        run_gauntlet_job(job_id)
    progress = client.get(f"/research/gauntlets/{report.pk}/progress.json").json()
    assert progress["status"] == "finished" and progress["tasks_done"] == progress["tasks_total"]
    assert {j["status"] for j in progress["jobs"]} == {"done"} and len(progress["rungs"]) == 11
    html = client.get(response["Location"]).content.decode()
    assert html.count('class="rung-row') == 11 and 'id="heatmap"' in html and html.count("cell chosen") == 1
    assert 'id="equity-data"' in html and "min_trades <b>5</b> (default 100)" in html
    runs = client.get("/research/").content.decode()
    assert (
        'id="runs-table"' in runs
        and 'aria-sort="descending"><a href="?sort=when">When</a>' in runs
        and "buy_threshold=0.2" in runs
        and "ladder</a>" in runs
    )
    swept = client.get(f"/research/?sweep=gauntlet-{report.pk}").content.decode()
    assert swept.count("/research/ladder/?") == 2
