"""Browser test of the console's layout and theme: Debian's Chromium through Playwright against daphne on a temporary
SQLite file (tests/pages/console_stack.py) holding the QQQ daily bars, one stored backtest and one finished paper
session. Every console page, at 1280 and 390 px, in the light and the dark theme: no sideways scrolling of the page,
no console error, the dark theme really dark, the telemetry indicator named as such; the theme picker remembers its
choice and recolours the charts; a refused form's errors come into view, focused, on a phone."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from tests.pages.console_stack import chromium, console, watch_errors
from tests.pages.format_guard import DJANGO_STYLE, ISO_STAMP, long_float
from tests.pages.test_browser import ARTIFACTS, PASSWORD, _shot, _wait_for_true

USER = "layout"
USERS_SCRIPT = f"""
from django.contrib.auth.models import Permission, User
u = User.objects.create_user({USER!r}, password={PASSWORD!r})
for c in ("view_console", "operate_paper"):
    u.user_permissions.add(Permission.objects.get(codename=c, content_type__app_label="trading"))
"""
PARAMS = {"buy_threshold": 0.15}
BACKTEST = [
    "--strategy=ibs_reversion",
    "--instrument=QQQ.NASDAQ",
    "--bar-spec=1-DAY-LAST",
    f"--params={json.dumps(PARAMS)}",
    "--start=2016-01-01",
    "--end=2017-12-31",
]
# A paper session that ran and stopped: a few bars, a fill, a position, so its page has charts and tables to lay out.
SESSION_SCRIPT = """
import json
from datetime import datetime, timedelta, timezone
from trading.models import BacktestRun
from trading.sessions.models import SessionEvent, TradingSession
s = TradingSession.objects.create(environment="paper", account_id="DU1234567", status="stopped",
    started_by="user:layout", stop_reason="operator stop from the layout test",
    sleeves=[{"strategy": "ibs_reversion", "instrument_id": "QQQ.NASDAQ", "bar_spec": "5-SECOND-LAST",
              "params": {"buy_threshold": 0.9, "sell_threshold": 0.95, "quantity": 10}, "code_hash": "x"}],
    risk_caps={"max_notional_per_order": "25000"})
t0 = datetime(2024, 3, 1, 14, 30, tzinfo=timezone.utc)
def event(i, kind, **payload):
    ts = t0 + timedelta(seconds=5 * i)
    SessionEvent.objects.create(session=s, environment="paper", kind=kind, ts=ts, payload=payload)
event(0, "status", status="running")
for i in range(1, 9):
    ts = int((t0 + timedelta(seconds=5 * i)).timestamp() * 1e9)
    event(i, "bar", bar_type="QQQ.NASDAQ-5-SECOND-LAST-EXTERNAL", close=430 + (i % 3) * 0.25, ts=ts)
    if i == 4:
        event(i, "order", event="OrderSubmitted", client_order_id="O-20240301-0001", instrument_id="QQQ.NASDAQ")
        event(i, "fill", order_side="BUY", last_qty="10", last_px="430.25", instrument_id="QQQ.NASDAQ",
              client_order_id="O-20240301-0001", commission="1.00 USD")
        event(i, "position", event="PositionOpened", instrument_id="QQQ.NASDAQ", strategy_id="IBSReversion-000",
              signed_qty=10, avg_px_open=430.25, realized_pnl="-1.00 USD")
event(9, "status", status="stopped", reason="operator stop from the layout test")
print(json.dumps({"session": s.pk, "backtest": BacktestRun.objects.latest("pk").pk}))
"""

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.timeout(420)]


@dataclass(frozen=True)
class Page:
    """One console page to check: its path ({backtest} and {session} are filled in), a JS function that is true when
    it has settled (charts drawn, socket connected), and the status it answers with."""

    name: str
    path: str
    ready: str | None = None
    status: int = 200
    anonymous: bool = False


CONNECTED = "document.getElementById('conn').textContent === 'telemetry: connected'"  # the page's socket is open
# Every console page, in one place: add a page here and every viewport and theme checks it.
PAGES = [
    Page("login", "/login/", anonymous=True),
    Page("home", "/"),
    Page("research", "/research/"),
    Page("backtest", "/research/{backtest}/", ready="() => !!document.querySelector('#equity-chart canvas')"),
    Page("research-start", "/research/new/"),
    Page("reports", "/research/gauntlets/"),
    Page(
        "ladder",
        "/research/ladder/?"
        + urllib.parse.urlencode(
            {
                "strategy": "ibs_reversion",
                "instrument": "QQQ.NASDAQ",
                "bar_spec": "1-DAY-LAST",
                "params": json.dumps(PARAMS),
            }
        ),
    ),
    Page(
        "studio",
        "/studio/",
        ready="() => { const r = document.getElementById('results');"
        " return r.dataset.renderedSeq === r.dataset.changeSeq && ['ready', 'error'].includes(r.dataset.state); }",
    ),
    Page(
        "paper",
        "/paper/",
        # Connected, and the stopped session's telemetry (sent after the socket opens) is on the page.
        ready=f"() => {CONNECTED} && document.getElementById('env-log').innerText.includes('STATUS stopped')",
    ),
    Page(
        "paper-session",
        "/paper/sessions/{session}/",
        ready=f"() => {CONNECTED} && ATS.sessionState().bars >= 8 && ATS.sessionState().fills === 1",
    ),
    Page("approvals", "/approvals/"),
    Page("audit", "/audit/"),
    Page("gateways", "/gateways/"),
    Page("audit-filtered", "/audit/?action=auth.login&page=1"),
    Page("settings", "/settings/"),
    Page("not-found", "/no/such/page/", status=404),
]
PAGES_BY_NAME = {p.name: p for p in PAGES}
VIEWPORTS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}
# Dark at 1280 is chosen with the top bar's picker (remembered in localStorage); dark at 390 follows the system
# setting (emulated prefers-color-scheme). Light at both: the system's light with no choice stored.
LOOKS = [(1280, "light", "light", None), (1280, "dark", "light", "dark"), (390, "light", "light", None),
         (390, "dark", "dark", None)]  # fmt: skip
DOCS_SHOTS = {("paper", 1280, "light"), ("paper", 390, "dark"), ("backtest", 1280, "dark"), ("backtest", 1280, "light")}
BODY_BG = "() => getComputedStyle(document.body).backgroundColor"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    ids: dict[str, int] = {}

    def prepare(manage) -> None:
        manage("backtest", *BACKTEST)
        ids.update(json.loads(manage("shell", "-c", SESSION_SCRIPT).strip().splitlines()[-1]))

    with console(tmp_path_factory.mktemp("layout_stack"), USERS_SCRIPT, prepare) as stack:
        stack.ids = ids
        yield stack


@pytest.fixture(scope="module")
def browser(stack):
    with chromium() as browser:
        yield browser


def luminance(css_color: str) -> float:
    """0 (black) to 1 (white) for an rgb()/rgba() computed colour."""
    r, g, b = (int(v) for v in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@contextmanager
def session_page(browser, width: int, color_scheme: str) -> Iterator[object]:
    """A page of a new browser context (nothing stored yet) at this width and system colour scheme."""
    context = browser.new_context(viewport=VIEWPORTS[width], color_scheme=color_scheme)
    try:
        yield context.new_page()
    finally:
        context.close()


def log_in(page, base: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", USER)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def visit(page, base: str, spec: Page, ids: dict[str, int]) -> None:
    """Open one page and wait until it has settled."""
    response = page.goto(base + spec.path.format(**ids))
    assert response.status == spec.status, (spec.name, response.status)
    if spec.ready:
        _wait_for_true(page, spec.ready, timeout=30)


def canvas_light_pixels(page, selector: str) -> int:
    """How many pixels of the first chart canvas under selector are light grey-to-white (axis text on a dark page)."""
    return page.evaluate(
        """(sel) => { const c = document.querySelector(sel + ' canvas'); const d = c.getContext('2d')
             .getImageData(0, 0, c.width, c.height).data; let n = 0;
           for (let i = 0; i < d.length; i += 4)
             if (d[i + 3] > 200 && d[i] > 150 && d[i + 1] > 150 && d[i + 2] > 150) n++;
           return n; }""",
        selector,
    )


WIDE = """() => {
  const clipped = (e) => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement)
    if (getComputedStyle(a).overflowX !== 'visible') return true; return false; };
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  return Array.from(document.querySelectorAll('body *'))
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5 && !clipped(e))
    .map((e) => name(e) + ' ' + Math.round(e.getBoundingClientRect().right)).slice(-8);
}"""


def wide(page) -> list[str]:
    """The elements that stick out on the right (the innermost few), to say what made a page scroll sideways."""
    return page.evaluate(WIDE)


def check_page(page, spec: Page, width: int, theme: str, errors: list[str]) -> None:
    """The open page fits the width, wears the theme, shows no raw stamp or long float, and logged no error; a
    screenshot of it goes to ARTIFACTS."""
    where = f"{spec.name} at {width} px, {theme}"
    assert page.evaluate("() => document.documentElement.dataset.theme") == theme, where
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= page.evaluate("() => window.innerWidth"), f"{where}: scrolls sideways ({scroll} px): {wide(page)}"
    background = page.evaluate(BODY_BG)
    if theme == "dark":
        assert luminance(background) < 0.15, (where, background)
        assert luminance(page.evaluate("() => getComputedStyle(document.body).color")) > 0.7, where
    else:
        assert luminance(background) > 0.9, (where, background)
    text = page.evaluate("() => document.body.innerText")  # as drawn, after the page's scripts ran
    for search in (ISO_STAMP.search, long_float, DJANGO_STYLE.search):
        found = search(text)
        assert not found, f"{where}: {found.group(0)!r} in …{text[max(0, found.start() - 60) : found.end() + 60]}…"
    if spec.status == 404:  # the browser reports the 404 response itself as a console error
        errors[:] = [e for e in errors if "status of 404" not in e]
    assert errors == [], (where, errors)
    name = f"layout-{spec.name}-{width}-{theme}"
    _shot(page, name, docs=(spec.name, width, theme) in DOCS_SHOTS)
    if width == 390:
        page.screenshot(path=str(ARTIFACTS / f"{name}-full.png"), full_page=True)


@pytest.mark.parametrize(("width", "theme", "scheme", "pick"), LOOKS, ids=[f"{w}-{t}" for w, t, _, _ in LOOKS])
def test_every_page_fits_the_screen_in_both_themes_without_errors(stack, browser, width, theme, scheme, pick):
    base = stack.url
    with session_page(browser, width, scheme) as page:
        errors = watch_errors(page)
        for spec in (p for p in PAGES if p.anonymous):
            if pick:
                page.goto(base + spec.path)
                page.select_option("#theme-select", pick)  # chosen once in the top bar; every page keeps it
                assert page.evaluate("() => localStorage.getItem('ats-theme')") == pick
            visit(page, base, spec, stack.ids)
            check_page(page, spec, width, theme, errors)
        log_in(page, base)
        for spec in (p for p in PAGES if not p.anonymous):
            visit(page, base, spec, stack.ids)
            check_page(page, spec, width, theme, errors)

        visit(page, base, PAGES_BY_NAME["paper"], stack.ids)
        indicator = page.locator("#conn")
        assert indicator.inner_text() == "telemetry: connected" and "ok" in (indicator.get_attribute("class") or "")
        assert "FILL BUY 10 QQQ.NASDAQ @ 430.25" in page.locator("#env-log").inner_text()  # the session's telemetry
        # With no telemetry (as before any session) the log says so instead of showing an empty black bar.
        empty = "() => { const log = document.getElementById('env-log'); log.textContent = '';"
        empty += " return [getComputedStyle(log, '::before').content, getComputedStyle(log).backgroundColor]; }"
        words, background = page.evaluate(empty)
        assert "No telemetry yet — it appears here when a session starts." in words
        assert luminance(background) > 0.85 if theme == "light" else 0.08 < luminance(background) < 0.3
        if theme == "dark":  # charts on canvas take the theme's axis colours: light axis text on the dark page
            visit(page, base, PAGES_BY_NAME["backtest"], stack.ids)
            assert canvas_light_pixels(page, "#equity-chart") > 50
        assert errors == []


def test_the_picker_remembers_the_choice_and_recolours_charts_on_the_fly(stack, browser):
    base = stack.url
    with session_page(browser, 1280, "dark") as page:
        errors = watch_errors(page)
        log_in(page, base)
        assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"  # system: dark
        assert page.locator("#theme-select").input_value() == "system"
        dark_bg = page.evaluate(BODY_BG)
        page.goto(f"{base}/research/{stack.ids['backtest']}/")
        _wait_for_true(page, PAGES_BY_NAME["backtest"].ready, timeout=15)
        light_text = canvas_light_pixels(page, "#equity-chart")
        assert light_text > 50 and page.evaluate("() => ATS.theme.colors().axis") == "#c3cad6"
        page.evaluate(
            "() => { window.themeEvents = [];"
            " document.addEventListener('ats:themechange', (e) => window.themeEvents.push(e.detail.theme)); }"
        )
        page.select_option("#theme-select", "light")  # no reload: the page and its chart follow at once
        assert page.evaluate("() => window.themeEvents") == ["light"]
        assert page.evaluate("() => document.documentElement.dataset.theme") == "light"
        assert luminance(page.evaluate(BODY_BG)) > 0.9 and page.evaluate(BODY_BG) != dark_bg
        assert page.evaluate("() => ATS.theme.colors().axis") == "#3a4150"
        assert canvas_light_pixels(page, "#equity-chart") < light_text / 4  # the axis text redrawn dark
        _shot(page, "layout-theme-switched-to-light")
        page.reload()
        _wait_for_true(page, PAGES_BY_NAME["backtest"].ready, timeout=15)
        assert page.evaluate("() => document.documentElement.dataset.theme") == "light"  # remembered
        assert page.locator("#theme-select").input_value() == "light"
        page.select_option("#theme-select", "system")
        assert page.evaluate("() => [document.documentElement.dataset.theme, localStorage.getItem('ats-theme')]") == [
            "dark",
            None,
        ]
        icon = page.request.get(f"{base}/favicon.ico")
        assert icon.status == 200 and icon.body()[:4] == b"\x00\x00\x01\x00"
        assert errors == []


def test_a_refused_start_on_a_phone_brings_its_errors_into_view_focused(stack, browser):
    base = stack.url
    with session_page(browser, 390, "light") as page:
        log_in(page, base)
        page.goto(f"{base}/paper/")
        page.fill("#id_instrument_id", "QQQ.NASDAQ")
        page.fill("#id_bar_spec", "5-SECOND-LAST")
        page.fill("#id_params", '{"buy_threshold": 1.5}')
        page.click("#start-button")
        page.wait_for_selector("#form-errors")
        focused = page.evaluate("() => document.activeElement.id")
        box = (
            "() => { const r = document.getElementById('form-errors').getBoundingClientRect(); return [r.top,"
            " r.bottom]; }"
        )
        top, bottom = page.evaluate(box)
        assert focused == "form-errors" and top >= 0 and bottom <= 844, (focused, top, bottom)  # in view
        assert "buy_threshold: must be between 0 and 1, got 1.5" in page.locator("#form-errors").inner_text()
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        _shot(page, "layout-paper-start-refused-390")
