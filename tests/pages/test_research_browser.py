"""Browser test of the Research pages: Debian's Chromium through Playwright against daphne on a temporary SQLite
file whose catalog holds QQQ daily bars; a finished gauntlet (run_gauntlet --sync) and one started from the page,
whose jobs run in another process while the page follows them without reloading."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pages.console_stack import chromium, console, watch_errors
from tests.pages.format_guard import DJANGO_STYLE, ISO_STAMP, long_float
from tests.pages.test_backtest_browser import check_axes
from tests.pages.test_browser import (
    ARTIFACTS,
    PASSWORD,
    _login,
    _wait_for_true,
)

REPO = Path(__file__).resolve().parents[2]
GAUNTLET = [
    "--strategy=ibs_reversion",
    "--instrument=QQQ.NASDAQ",
    "--bar-spec=1-DAY-LAST",
    '--params={"buy_threshold": 0.15}',
    '--grid={"buy_threshold": [0.1, 0.15, 0.2], "sell_threshold": [0.8, 0.9]}',
    "--start=2016-01-01",
    "--end=2017-12-31",
]
USERS_SCRIPT = f"""
from django.contrib.auth.models import Permission, User
u = User.objects.create_user("researcher", password={PASSWORD!r})
for c in ("view_console", "operate_paper"):
    u.user_permissions.add(Permission.objects.get(codename=c, content_type__app_label="trading"))
"""
RUN_JOBS_SCRIPT = """
import time
from research.models import GauntletReport
from research.tasks import run_gauntlet_job
report = GauntletReport.objects.order_by("-id").first()
for job_id in report.jobs.order_by("index").values_list("pk", flat=True):
    run_gauntlet_job(job_id)
    time.sleep(0.2)
"""

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # run_gauntlet exits 1 when the verdict is a fail: a finished report either way.
    with console(
        tmp_path_factory.mktemp("research_stack"),
        USERS_SCRIPT,
        lambda manage: manage("run_gauntlet", *GAUNTLET, "--sync", check=False),
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def browser(stack):
    with chromium() as browser:
        yield browser


def test_finished_report_renders_and_the_runs_table_sorts(stack, browser):
    page = _login(browser, stack.url, "researcher")
    errors = watch_errors(page)
    page.goto(f"{stack.url}/research/gauntlets/")
    page.click("#reports-table tbody a")
    page.wait_for_selector("#rung-table")
    assert page.locator("#rung-body tr.rung-row").count() == 11
    assert page.locator("#report-status").inner_text() == "finished"
    assert page.locator("#heatmap tbody tr").count() == 2  # sell_threshold rows x buy_threshold columns
    assert page.locator("#heatmap td.cell").count() == 6 and page.locator("#heatmap td.chosen").count() == 1
    assert page.locator("#equity-chart .uplot").count() == 1 and page.locator("#drawdown-chart .uplot").count() == 1
    check_axes(page, "equity-chart")  # sized to their labels, drawn whole
    assert all(v.endswith("%") for v in check_axes(page, "drawdown-chart")[0]["values"])  # signed percentages
    text = page.evaluate("() => document.body.innerText")  # a real gauntlet's reasons and numbers, as drawn
    for search in (ISO_STAMP.search, long_float, DJANGO_STYLE.search):
        found = search(text)
        assert not found, f"{found.group(0)!r} in …{text[max(0, found.start() - 60) : found.end() + 60]}…"
    assert page.locator("#mc-histogram .bar").count() == 25
    page.screenshot(path=str(ARTIFACTS / "research-gauntlet.png"), full_page=True)
    page.click("#ladder-link")
    page.wait_for_selector("#ladder-table")
    assert page.locator("#ladder-table tr.ladder-row").count() == 4
    assert page.locator("#heatmap td.chosen").count() == 1  # the ladder shows its gauntlet report too
    page.screenshot(path=str(ARTIFACTS / "research-ladder.png"), full_page=True)

    page.goto(f"{stack.url}/research/")
    headers = [h.strip(" ▲▼") for h in page.locator("#runs-table thead th").all_inner_texts()]
    index = headers.index("Sharpe")

    def column() -> list[float]:
        cells = page.locator(f"#runs-table tbody tr td:nth-child({index + 1})").all()
        return [float(c.get_attribute("data-value") or "nan") for c in cells]

    page.click("#runs-table thead th a:text-is('Sharpe')")  # the server sorts every run: best first
    page.wait_for_url("**sort=-sharpe")
    best_first = column()
    assert len(best_first) == 6 and best_first == sorted(best_first, reverse=True)
    page.click("#runs-table thead th a:text-is('Sharpe')")  # again: the other way
    page.wait_for_url("**sort=sharpe")
    assert column() == sorted(best_first)
    assert "buy_threshold=0.2" in page.locator("#runs-table").inner_text()
    page.screenshot(path=str(ARTIFACTS / "research-runs.png"), full_page=True)
    assert errors == []
    page.context.close()


def test_gauntlet_started_in_the_browser_shows_progress_without_reloading(stack, browser):
    page = _login(browser, stack.url, "researcher")
    errors = watch_errors(page)
    page.goto(f"{stack.url}/research/new/")
    page.fill("#id_gauntlet-grid", '{"buy_threshold": [0.1, 0.2]}')
    page.fill("#id_gauntlet-start", "2016-01-01")
    page.fill("#id_gauntlet-end", "2017-12-31")
    page.fill("#id_gauntlet-params", '{"buy_threshold": 0.15}')
    page.click("#gauntlet-button")
    assert "params: buy_threshold 0.15 is not on the grid" in page.locator("#gauntlet-error").inner_text()
    page.screenshot(path=str(ARTIFACTS / "research-start-refused.png"), full_page=True)
    errors.clear()  # the refusal's own 400 response
    page.fill("#id_gauntlet-grid", '{"buy_threshold": [0.15, 0.2]}')
    page.click("#gauntlet-button")
    page.wait_for_url("**/research/gauntlets/*/")
    assert page.locator("#report-status").inner_text() == "running"
    page.evaluate("() => { window.notReloaded = true; }")
    stack.manage("shell", "-c", RUN_JOBS_SCRIPT)  # a worker elsewhere runs every job
    _wait_for_true(page, "() => document.getElementById('report-status').textContent === 'finished'", timeout=30)
    assert page.evaluate("() => window.notReloaded === true")
    done, total = page.locator("#progress-done").inner_text(), page.locator("#progress-total").inner_text()
    assert done == total and int(total) > 2
    assert page.locator("#rung-body tr.rung-row").count() == 11
    assert page.locator("#finished-note").is_visible()
    assert errors == []
    page.context.close()


def test_times_follow_the_browsers_zone_until_the_operator_chooses_one(stack, browser):
    import datetime as dt
    import re
    from zoneinfo import ZoneInfo

    from console.formatting import offset_label

    def offset(zone: str) -> str:
        return offset_label(dt.datetime.now(ZoneInfo(zone)).utcoffset())

    context = browser.new_context(viewport={"width": 1360, "height": 900}, timezone_id="America/New_York")
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(f"{stack.url}/login/")  # format.js hands the server the browser's zone (cookie ats_tz) here
    page.fill("#id_username", "researcher")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.url}/")
    page.goto(f"{stack.url}/research/")
    assert page.get_attribute("html", "data-tz") == "America/New_York"
    when = page.locator("#runs-table tbody tr td:nth-child(2)").all_inner_texts()
    assert when and all(re.fullmatch(rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d {re.escape(offset('America/New_York'))}", w)
                        for w in when), when  # fmt: skip
    returns = page.locator("#runs-table tbody tr td:nth-child(10)").all_inner_texts()
    assert all(re.fullmatch(r"[+-]?\d+\.\d\d%", r) for r in returns), returns

    page.click("#user-settings")
    page.select_option("#time-zone", "Asia/Kolkata")
    page.click("#time-zone-save")
    page.wait_for_selector("#zone-in-force")
    assert "Asia/Kolkata" in page.locator("#zone-in-force").inner_text()
    assert page.locator("#zone-now").inner_text().endswith("UTC+5:30")
    page.goto(f"{stack.url}/research/")
    assert page.get_attribute("html", "data-tz") == "Asia/Kolkata"
    assert page.locator("#runs-table tbody tr td:nth-child(2)").first.inner_text().endswith(" UTC+5:30")
    # What the browser adds live is written by ATS.format in the same zone: it agrees with the server's text.
    server = page.locator("#runs-table tbody tr td:nth-child(2)").first.inner_text()
    stamp = page.locator("#runs-table tbody tr td:nth-child(2)").first.get_attribute("data-value")
    assert page.evaluate("(s) => ATS.format.when(Number(s) * 1000)", stamp) == server
    assert errors == []
    context.close()
