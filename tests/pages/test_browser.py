"""Browser tests: Debian's Chromium driven by Playwright against daphne + the sessions django-q cluster + ibsim.

The stack runs as subprocesses on a temporary SQLite file (the embedded default, no Redis): one daphne with live
trading off, one with it on, both on the same database. Screenshots go to artifacts/screenshots/ (git-ignored);
with ATS_UPDATE_DOCS_SCREENSHOTS=1 the Paper and Live page shots are also copied to docs/screenshots/ for the README.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "artifacts" / "screenshots"
DOCS = REPO / "docs" / "screenshots"
PAPER_ACCOUNT, LIVE_ACCOUNT = "DU1234567", "U7654321"
PASSWORD = "browser-test-pw-1"
PARAMS = '{"buy_threshold": 0.9, "sell_threshold": 0.95, "quantity": 10}'

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.timeout(240)]

USERS_SCRIPT = f"""
from django.contrib.auth.models import Permission, User
def make(name, *codes):
    u = User.objects.create_user(name, password={PASSWORD!r})
    for c in codes:
        u.user_permissions.add(Permission.objects.get(codename=c, content_type__app_label="trading"))
make("operator", "view_console", "operate_paper", "operate_live")
make("paperop", "view_console", "operate_paper")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def _control(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return json.loads(response.read())


class Stack:
    def __init__(self, root: Path):
        self.root = root
        self.procs: list[subprocess.Popen] = []

    def spawn(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        with open(self.root / f"{name}.log", "w") as log:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(
                args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)  # our own process group (start_new_session)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing (CI=true: .ci/run installs it)", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing; `apt-get install -y chromium` to run the browser tests")
    root = tmp_path_factory.mktemp("browser_stack")
    stack = Stack(root)
    py = sys.executable
    try:
        ibsim = stack.spawn(
            "ibsim",
            [py, "-u", "-m", "ibsim", "--port", "0", "--control-port", "0", "--speed", "1", "--account", PAPER_ACCOUNT],
            dict(os.environ),
        )
        deadline, ib_port, control_port = time.monotonic() + 20, None, None
        while time.monotonic() < deadline and not (ib_port and control_port):
            text = (root / "ibsim.log").read_text()
            if m := re.search(r"ibsim listening on [\d.]+:(\d+)", text):
                ib_port = int(m.group(1))
            if m := re.search(r"ibsim control on http://[\d.]+:(\d+)", text):
                control_port = int(m.group(1))
            if ibsim.poll() is not None:
                raise RuntimeError(f"ibsim exited: {text}")
            time.sleep(0.1)
        assert ib_port and control_port, "ibsim did not report its ports"
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
        env.update(
            {
                "DATABASE_URL": f"sqlite:///{root / 'ats.sqlite3'}",
                "ATS_IB_PAPER_PORT": str(ib_port),
                "ATS_IB_PAPER_ACCOUNT_ID": PAPER_ACCOUNT,
                "ATS_ENABLE_LIVE_TRADING": "false",
                "DEBUG": "true",
                "ATS_NODE_LOG_LEVEL": "WARNING",
                "ATS_AUDIT_ANCHOR_FILE": str(root / "audit-anchors.jsonl"),
            }
        )
        subprocess.run([py, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True)
        subprocess.run([py, "manage.py", "shell", "-c", USERS_SCRIPT], cwd=REPO, env=env, check=True)
        stack.spawn("qcluster", [py, "manage.py", "qcluster"], {**env, "Q_CLUSTER_NAME": "sessions"})
        if (REPO / "trading" / "management" / "commands" / "monitor_gateways.py").exists():
            stack.spawn("monitor", [py, "manage.py", "monitor_gateways", "--interval", "2"], env)
        off_port, on_port = _free_port(), _free_port()
        stack.spawn(
            "daphne-off", [py, "-m", "daphne", "-b", "127.0.0.1", "-p", str(off_port), "ats_site.asgi:application"], env
        )
        live_env = {
            **env,
            "ATS_ENABLE_LIVE_TRADING": "true",
            "ATS_IB_LIVE_ACCOUNT_ID": LIVE_ACCOUNT,
            "ATS_IB_LIVE_PORT": str(_free_port()),
        }
        stack.spawn(
            "daphne-on",
            [py, "-m", "daphne", "-b", "127.0.0.1", "-p", str(on_port), "ats_site.asgi:application"],
            live_env,
        )
        _wait_http(f"http://127.0.0.1:{off_port}/healthz")
        _wait_http(f"http://127.0.0.1:{on_port}/healthz")
        stack.urls = {"off": f"http://127.0.0.1:{off_port}", "on": f"http://127.0.0.1:{on_port}"}
        stack.control_port = control_port
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def browser(stack):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _login(browser, base: str, username: str):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def _wait_for_true(page, function: str, timeout: float) -> None:
    """Poll a JS function until it returns true. Not wait_for_function: its in-page polling evaluates strings,
    which the pages' Content-Security-Policy (no 'unsafe-eval') rightly refuses; page.evaluate is not subject to it."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(function):
        if time.monotonic() > deadline:
            raise AssertionError(f"{function} not true within {timeout:g}s")
        time.sleep(0.2)


def _shot(page, name: str, docs: bool = False) -> None:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    if docs and os.environ.get("ATS_UPDATE_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / f"{name}.png")


def test_paper_session_trades_live_and_kill_cancels_at_the_broker(stack, browser):
    base = stack.urls["off"]
    page = _login(browser, base, "operator")
    assert page.locator("#nav-live").count() == 0  # live trading off: no Live tab, even for a live operator
    page.click("#nav-paper")
    page.select_option("#id_strategy", "ibs_reversion")
    page.fill("#id_instrument_id", "QQQ.NASDAQ")
    page.fill("#id_bar_spec", "5-SECOND-LAST")
    page.fill("#id_params", '{"buy_threshold": 1.5}')
    page.click("#start-button")
    assert "buy_threshold: must be between 0 and 1, got 1.5" in page.locator("#start-form").inner_text()
    page.fill("#id_params", PARAMS)
    page.click("#start-button")
    page.wait_for_url(re.compile(r"/paper/sessions/\d+/$"))
    session_url = page.url
    # Without reloading: the session starts, trades, and the fill appears in the table and on the chart.
    page.wait_for_selector("#session-status[data-status=running]", timeout=90_000)
    # A working order at the broker that the kill must cancel (placed outside our strategy, like a TWS order).
    seeded = _control(
        stack.control_port,
        f"/seed-order?account={PAPER_ACCOUNT}&symbol=QQQ&action=BUY&qty=5&order_type=LMT&lmt_price=1",
    )["order"]
    page.wait_for_selector("#fills-body tr.fill-row", timeout=60_000)
    assert page.url == session_url
    assert "BUY" in page.locator("#fills-body").inner_text()
    _wait_for_true(page, "() => ATS.sessionState().bars >= 3", timeout=20)  # a few bars on the chart
    _shot(page, "paper-session", docs=True)
    listing = page.context.new_page()  # the Paper page, with the session running and telemetry streaming in
    listing.goto(f"{base}/paper/")
    listing.wait_for_selector("#conn.ok")
    listing.wait_for_selector("#sessions-body tr[data-session]")
    _wait_for_true(listing, "() => document.getElementById('env-log').textContent.length > 0", timeout=15)
    _shot(listing, "paper", docs=True)
    listing.close()

    page.click("#kill-button")
    assert "Positions are kept" in page.locator("#kill-dialog .what").inner_text()
    page.check("#kill-dialog input[name=flatten][value='1']")
    assert "FLATTEN" in page.locator("#kill-dialog .what").inner_text()
    page.check("#kill-dialog input[name=flatten][value='0']")
    page.fill("#kill-dialog-reason", "browser test kill")
    page.click("#kill-dialog button[name=confirm]")
    page.wait_for_selector("#session-status[data-status=killed]", timeout=45_000)
    log = page.locator("#session-log").inner_text()
    assert "STATUS halting" in log and "STATUS halted" in log
    assert page.locator("#controls").is_hidden()
    assert "No working orders." in page.locator("#working-body").inner_text()
    state = _control(stack.control_port, "/state")
    status = {o["order_id"]: o["status"] for o in state["orders"]}
    assert status[seeded["order_id"]] == "Cancelled", status
    assert not [s for s in status.values() if s in ("Submitted", "PreSubmitted")], status
    _shot(page, "paper-session-killed")

    page.click("#nav-paper")
    page.wait_for_selector("#history-body a")
    page.wait_for_selector("#conn.ok")
    _shot(page, "paper-history")
    page.goto(f"{base}/audit/")
    assert "verify_audit: OK" in page.locator("#verify-status").inner_text()
    assert "session.kill" in page.content()
    _shot(page, "audit")
    page.goto(f"{base}/research/")
    _shot(page, "research")
    assert page.goto(f"{base}/live/").status == 404
    page.context.close()


def test_live_page_real_money_and_refused_without_approval(stack, browser):
    base = stack.urls["on"]
    page = _login(browser, base, "operator")
    page.click("#nav-live")
    page.wait_for_url(f"{base}/live/")
    assert page.title().startswith("REAL MONEY")
    assert page.locator("#real-money-badge").is_visible()
    page.select_option("#id_strategy", "ibs_reversion")
    page.fill("#id_params", PARAMS)
    page.click("#start-button")
    assert "live refused" in page.locator("#start-form").inner_text()
    assert page.title().startswith("REAL MONEY")
    page.wait_for_selector("#conn.ok")
    _shot(page, "live", docs=True)
    page.context.close()


def test_user_without_live_permission_sees_no_live_tab(stack, browser):
    base = stack.urls["on"]
    page = _login(browser, base, "paperop")
    assert page.locator("#nav-paper").count() == 1
    assert page.locator("#nav-live").count() == 0
    assert page.goto(f"{base}/live/").status == 403
    page.context.close()


def test_pages_run_under_the_content_security_policy(stack, browser):
    base = stack.urls["on"]
    context = browser.new_context()
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: violations.append(str(e)))
    response = page.goto(f"{base}/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    for path in ("/", "/paper/", "/live/", "/research/", "/approvals/", "/audit/", "/gateways/"):
        response = page.goto(f"{base}{path}")
        assert response.status == 200 and "script-src 'self'" in response.headers["content-security-policy"], path
    page.goto(f"{base}/paper/")
    page.wait_for_selector("#conn.ok")  # the page's script ran and its websocket connected under the policy
    assert violations == []
    context.close()
