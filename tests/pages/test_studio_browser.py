"""Browser test of the Studio: Debian's Chromium through Playwright against daphne on a temporary SQLite file whose
catalog holds the bundled QQQ daily bars. A user builds the RSI(2) pullback with the mouse, sees its entries and
exits on the price chart, saves it, breaks the JSON, then loads the version, changes it, saves version 2 and
follows the links to the gauntlet and paper start forms with the strategy preselected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.pages.console_stack import chromium, console, watch_errors
from tests.pages.test_browser import (
    ARTIFACTS,
    PASSWORD,
    _login,
    _shot,
    _wait_for_true,
)

REPO = Path(__file__).resolve().parents[2]
USERS_SCRIPT = f"""
from django.contrib.auth.models import Permission, User
u = User.objects.create_user("builder", password={PASSWORD!r})
for c in ("view_console", "operate_paper"):
    u.user_permissions.add(Permission.objects.get(codename=c, content_type__app_label="trading"))
"""
TRADES_SCRIPT = """
from trading.services import run_backtest
print(run_backtest("studio:rsi2_mouse@1", "QQQ.NASDAQ", "1-DAY-LAST").metrics["trades"])
"""
NAME = "rsi2_mouse"
RSI2_FILE = REPO / "tests" / "studio" / "rsi2_pullback.json"

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with console(tmp_path_factory.mktemp("studio_stack"), USERS_SCRIPT) as stack:
        yield stack


@pytest.fixture(scope="module")
def browser(stack):
    with chromium() as browser:
        yield browser


def _settled(page, state: str = "ready", timeout: float = 30) -> None:
    """Wait until the preview of the latest change has been drawn (or refused) and check it ended in `state`."""
    _wait_for_true(
        page,
        "() => { const r = document.getElementById('results');"
        " return r.dataset.renderedSeq === r.dataset.changeSeq && ['ready', 'error'].includes(r.dataset.state); }",
        timeout=timeout,
    )
    assert page.locator("#results").get_attribute("data-state") == state, page.locator("#studio-error").inner_text()


def _condition(page, card: str, index: int, left: str, op: str, right: str) -> None:
    """Set one condition row with the selects; a right side given as '#num:<n>' is a number typed in."""
    row = page.locator(f"#{card} .cond-row").nth(index)
    row.locator("select.operand-left").select_option(left)
    row.locator("select.op").select_option(op)
    row = page.locator(f"#{card} .cond-row").nth(index)  # the operator may redraw the row
    if right.startswith("#num:"):
        row.locator("select.operand-right").select_option("#num")
        row.locator("input.number-right").fill(right.split(":", 1)[1])
    else:
        row.locator("select.operand-right").select_option(right)


def _no_horizontal_overflow(page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), "page scrolls sideways"


def test_build_rsi2_pullback_with_the_mouse_and_save_it(stack, browser):
    page = _login(browser, stack.url, "builder")
    page.set_viewport_size({"width": 1280, "height": 900})
    errors = watch_errors(page)
    page.click("#nav-studio")
    page.wait_for_url("**/studio/")
    _settled(page)  # the starter spec runs at once
    page.select_option("#instrument", "QQQ.NASDAQ")
    page.select_option("#bar-spec", "1-DAY-LAST")
    for kind, period in (("rsi", "2"), ("sma", "200")):
        page.select_option("#add-indicator-type", kind)
        page.click("#add-indicator")
        page.fill(f".indicator-row[data-id={kind}] input[name=arg-period]", period)
    page.select_option("#entry-mode", "all")
    _condition(page, "entry", 0, "close", ">", "sma")
    page.click("#entry-add")
    _condition(page, "entry", 1, "rsi", "<", "#num:10")
    page.click("#exit-add")
    _condition(page, "exit", 0, "rsi", ">", "#num:70")
    page.fill("#stop-max_bars_held", "10")
    _settled(page)

    built = json.loads(page.locator("#spec-json").input_value())
    assert built["indicators"] == {"rsi": {"type": "rsi", "period": 2}, "sma": {"type": "sma", "period": 200}}
    assert built["entry"] == {
        "all": [{"left": "close", "op": ">", "right": "sma"}, {"left": "rsi", "op": "<", "right": 10}]
    }
    assert built["exit"] == {"any": [{"left": "rsi", "op": ">", "right": 70}]}
    assert built["stops"] == {"max_bars_held": 10}
    trades = int(page.locator("#metrics [data-metric=trades]").get_attribute("data-value"))
    price = page.locator("#price-chart")
    entries, exits = int(price.get_attribute("data-entries")), int(price.get_attribute("data-exits"))
    assert trades > 50 and exits == trades and entries in (trades, trades + 1)
    assert int(price.get_attribute("data-drawn")) == entries + exits  # every marker painted on the whole range
    assert page.locator("#panes #pane-rsi .uplot").count() == 1
    assert page.locator("#pane-rsi").get_attribute("data-levels") == "10,70"
    assert page.locator("#equity-chart .uplot").count() == 1 and page.locator("#drawdown-chart .uplot").count() == 1
    _no_horizontal_overflow(page)
    _shot(page, "studio", docs=True)  # ATS_UPDATE_DOCS_SCREENSHOTS=1 refreshes the README's

    page.fill("#save-name", NAME)
    page.fill("#save-note", "built with the mouse")
    page.click("#save-button")
    page.wait_for_selector("#save-result.ok")
    assert page.locator("#save-result").inner_text() == f"saved studio:{NAME}@1"
    row = page.locator(f"#versions-body tr[data-strategy='studio:{NAME}@1']")
    assert row.count() == 1 and "built with the mouse" in row.inner_text()
    assert "strategy=studio%3Arsi2_mouse%401" in (page.locator("#link-gauntlet").get_attribute("href") or "")
    # The backend's own backtest of the saved version trades exactly as often as the chart's markers say.
    assert int(stack.manage("shell", "-c", TRADES_SCRIPT).strip().splitlines()[-1]) == trades

    page.fill("#spec-json", '{"schema": 1, "entry": ')
    error = page.locator("#studio-error")
    assert error.is_visible() and error.inner_text().startswith("JSON: ") and "\n" not in error.inner_text()
    broken = {**built, "entry": {"all": [built["entry"]["all"][0], {"left": "rsii", "op": "<", "right": 10}]}}
    page.fill("#spec-json", json.dumps(broken))
    _settled(page, "error")
    assert error.inner_text().startswith("entry.all[1].left: unknown indicator 'rsii'")
    left = page.locator("#entry .cond-row").nth(1).locator("select.operand-left")
    assert left.input_value() == "rsii"  # the forms follow the JSON, the unknown operand kept and marked
    assert "\n" not in error.inner_text()
    page.screenshot(path=str(ARTIFACTS / "studio-error.png"), full_page=True)
    assert [e for e in errors if "status of 400" not in e] == []  # the refused preview's own 400 response
    page.context.close()


def test_a_loaded_version_saves_as_the_next_with_its_parent_and_links_onwards(stack, browser):
    # Saved from the command line: its parameters are decimals (10.0), which the page must keep as written.
    stack.manage("studio_save", "--name=rsi2_pullback", f"--spec={RSI2_FILE}")
    page = _login(browser, stack.url, "builder")
    page.set_viewport_size({"width": 1280, "height": 900})
    errors = watch_errors(page)
    page.goto(f"{stack.url}/studio/?version=studio:rsi2_pullback@1")
    _settled(page)
    assert page.locator("#save-name").input_value() == "rsi2_pullback"
    assert page.locator("#indicators .indicator-row").count() == 2
    assert page.locator("#links-for").inner_text() == "studio:rsi2_pullback@1"
    assert page.locator("#unsaved").is_hidden()  # the page's spec hashes as the stored one
    assert '"oversold": 10.0' in page.locator("#spec-json").input_value()
    page.click("#save-button")
    page.wait_for_selector("#save-result.ok")
    assert page.locator("#save-result").inner_text() == "unchanged: identical to studio:rsi2_pullback@1; nothing saved"

    page.fill(".param-row[data-param=oversold] .param-value", "5.0")
    _settled(page)
    assert page.locator("#unsaved").is_visible()
    assert '"oversold": 5.0' in page.locator("#spec-json").input_value()
    page.fill("#save-note", "oversold 5")
    page.click("#save-button")
    page.wait_for_selector("#save-result.ok:has-text('@2')")
    assert page.locator("#save-result").inner_text() == "saved studio:rsi2_pullback@2"
    row = page.locator("#versions-body tr[data-strategy='studio:rsi2_pullback@2']")
    assert "studio:rsi2_pullback@1" in row.inner_text()  # its parent
    assert page.locator("#unsaved").is_hidden()
    _no_horizontal_overflow(page)

    page.locator("#sweep-fields tr[data-param=oversold] .sweep-pick").check()
    page.fill("#sweep-fields tr[data-param=oversold] .sweep-values", "5, 7.5, 10")
    page.click("#link-gauntlet")
    page.wait_for_url("**/research/new/**")
    assert page.locator("#id_gauntlet-strategy").input_value() == "studio:rsi2_pullback@2"
    assert json.loads(page.locator("#id_gauntlet-grid").input_value()) == {"oversold": [5, 7.5, 10]}
    page.goto(f"{stack.url}/studio/?version=studio:rsi2_pullback@2")
    _settled(page)
    page.click("#link-paper")
    page.wait_for_url("**/paper/**")
    assert page.locator("#id_strategy").input_value() == "studio:rsi2_pullback@2"
    assert page.locator("#id_bar_spec").input_value() == "1-DAY-LAST"
    assert errors == []
    page.context.close()
