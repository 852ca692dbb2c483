"""What the page-level browser tests share: daphne serving the console on a throwaway SQLite file whose catalog
holds the bundled QQQ daily bars, Debian's Chromium through Playwright, and a page's console errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import QQQ_CSV
from tests.pages.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, Stack, _free_port, _wait_http

REPO = Path(__file__).resolve().parents[2]


def require_chromium() -> None:
    """Skip (laptop) or fail (CI=true) when Debian's Chromium is not installed."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{CHROMIUM} is missing (CI=true: .ci/run installs it)", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing; `apt-get install -y chromium` to run the browser tests")


@contextmanager
def console(root: Path, users_script: str, prepare: Callable[..., object] | None = None) -> Iterator[Stack]:
    """Migrate a fresh database under root, run users_script, import the QQQ bars, let prepare(manage) add more,
    then serve the console with daphne; the stack's url and manage(*args, check=True) -> stdout are set."""
    require_chromium()
    stack = Stack(root)
    py = sys.executable
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{root / 'ats.sqlite3'}",
            "ATS_CATALOG_DIR": str(root / "catalog"),
            "ATS_ENABLE_LIVE_TRADING": "false",
            "DEBUG": "true",
            "ATS_AUDIT_ANCHOR_FILE": str(root / "audit-anchors.jsonl"),
        }
    )

    def manage(*args: str, check: bool = True) -> str:
        done = subprocess.run([py, "manage.py", *args], cwd=REPO, env=env, check=check, capture_output=True, text=True)
        return done.stdout

    try:
        manage("migrate", "--noinput", "-v0")
        manage("shell", "-c", users_script)
        manage("import_bars", str(QQQ_CSV), "--instrument=QQQ.NASDAQ", "--bar-spec=1-DAY-LAST")
        if prepare is not None:
            prepare(manage)
        port = _free_port()
        stack.spawn(
            "daphne", [py, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "ats_site.asgi:application"], env
        )
        _wait_http(f"http://127.0.0.1:{port}/healthz")
        stack.url = f"http://127.0.0.1:{port}"
        stack.manage = manage
        yield stack
    finally:
        stack.stop()


@contextmanager
def chromium() -> Iterator[object]:
    """Debian's Chromium launched through Playwright (screenshots go to ARTIFACTS)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def watch_errors(page) -> list[str]:
    """A list that fills with the page's console errors and uncaught exceptions."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors
