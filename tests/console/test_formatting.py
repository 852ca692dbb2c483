"""One set of formatting rules: the template filters and static/ats/format.js give the same text for the same input."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from console import formatting
from tests.pages.console_stack import chromium, require_chromium

FORMAT_JS = Path(__file__).resolve().parents[2] / "static" / "ats" / "format.js"

NUMBERS = [0, -0.0001, 0.004999, 0.00001234, -9.99996e-7, 0.1 + 0.2, 296.0, 1e21, 0.031249,
           0.005, -0.005, 1.005, 2.675, 0.125, 1234.5678, -1234.5678, 110000, 1657000000,
           "1657000000.00", "-25.5 USD", "12.50 EUR", "1,234.5", 1e-9, 123456789.123456789, None, "", "abc",
           float("nan"), float("inf")]  # fmt: skip
MOMENTS = ["2026-11-27T08:13:29Z", "2026-07-01T23:59:59.999999+00:00", "2026-03-29T01:30:00+00:00",
           "2026-11-27T08:13:29", 1764231209000, 0, "2005-01-03", "not a date", None]  # fmt: skip
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Adelaide"]
SECONDS = [0, 0.0004, 0.85, 0.9995, 4.24, 9.99, 10, 45.6, 59.99, 60, 725, 3599.9, 3600, 11220, 86399, 360000, -3.5,
           None, "7.5"]  # fmt: skip


def _python_cases() -> list[tuple[str, list[object], str]]:
    cases: list[tuple[str, list[object], str]] = []
    for n in NUMBERS:
        cases += [
            ("num", [n, 2, False], formatting.num(n, 2)),
            ("num", [n, 0, True], formatting.num(n, 0, signed=True)),
            ("money", [n, None, False], formatting.money(n)),
            ("money", [n, "EUR", True], formatting.money(n, "EUR", signed=True)),
            ("pct", [n, 2, True], formatting.pct(n, 2)),
            ("pct", [n, 1, False], formatting.pct(n, 1, signed=False)),
            ("qty", [n], formatting.qty(n)),
            ("sig", [n, 4], formatting.sig(n)),
            ("sig", [n, 2], formatting.sig(n, 2)),
        ]
    for s in SECONDS:
        cases.append(("duration", [s], formatting.duration(s)))
    for m in MOMENTS:
        cases.append(("day", [m], formatting.day(m)))
    return cases


def test_python_rules_read_as_a_trader_expects() -> None:
    assert formatting.money(110000) == "110,000.00 USD"
    assert formatting.money("-25.5 USD") == "-25.50 USD" and formatting.money(Decimal("12.5"), "EUR") == "12.50 EUR"
    assert formatting.money(-0.001) == "0.00 USD"  # no negative zero
    assert formatting.pct(0.0931) == "+9.31%" and formatting.pct(-0.0314) == "-3.14%" and formatting.pct(0) == "0.00%"
    assert formatting.num(1657000000) == "1,657,000,000.00" and formatting.qty(1_000_000) == "1,000,000"
    assert formatting.qty("0.50000") == "0.5"
    assert [formatting.sig(v) for v in (1234.5678, 0.031249, 296.0, 1.5e-7, -2.0, 123456.7)] == [
        "1,235", "0.03125", "296", "1.5e-7", "-2", "123,457"]  # fmt: skip
    assert formatting.when("2026-11-27T08:13:29Z", "Europe/Berlin") == "2026-11-27 09:13:29 UTC+1"
    assert formatting.when("2026-07-27T08:13:29Z", "America/New_York", seconds=False) == "2026-07-27 04:13 UTC-4"
    assert (
        formatting.when(dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC), "Asia/Kolkata")
        == "2026-11-27 13:30:00 UTC+5:30"
    )
    assert formatting.clock("2026-11-27T08:13:29Z", "UTC") == "08:13:29 UTC"
    assert formatting.day(dt.date(2005, 1, 3)) == "2005-01-03"
    assert [formatting.duration(s) for s in (0.85, 4.24, 45.6, 725, 11220, 360000)] == [
        "850 ms", "4.2 s", "45 s", "12m 05s", "3h 07m", "4d 04h"]  # fmt: skip
    assert formatting.duration(dt.timedelta(minutes=2)) == "2m 00s"
    for bad in (None, "", "abc", float("nan"), float("inf")):
        assert formatting.num(bad) == formatting.when(bad) == formatting.duration(bad) == "—"


def test_the_browser_module_writes_exactly_what_the_server_writes() -> None:
    require_chromium()
    cases = _python_cases()
    zoned = [(zone, m) for zone in ZONES for m in MOMENTS]
    with chromium() as browser:
        page = browser.new_page()
        page.set_content("<!doctype html><html><head></head><body></body></html>")
        page.add_script_tag(path=str(FORMAT_JS))
        got = page.evaluate(
            """([cases, zoned]) => {
                 const f = window.ATS.format, out = {plain: [], zoned: []};
                 for (const [name, args] of cases) out.plain.push(f[name](...args));
                 for (const [zone, m] of zoned) {
                   document.documentElement.setAttribute("data-tz", zone);
                   out.zoned.push([f.when(m), f.when(m, false), f.clock(m)]);
                 }
                 return out;
               }""",
            [[[name, _js_args(args)] for name, args, _ in cases], [[z, _js_value(m)] for z, m in zoned]],
        )
    mismatches = [
        f"{name}{tuple(args)!r}: python {want!r} != js {js!r}"
        for (name, args, want), js in zip(cases, got["plain"], strict=True)
        if want != js
    ]
    for (zone, m), js in zip(zoned, got["zoned"], strict=True):
        want = [formatting.when(m, zone), formatting.when(m, zone, seconds=False), formatting.clock(m, zone)]
        if want != js:
            mismatches.append(f"{zone} {m!r}: python {want} != js {js}")
    assert not mismatches, "\n".join(mismatches)


def _js_value(value: object) -> object:
    # JSON has no NaN or Infinity: send them as strings the browser turns back into numbers.
    if isinstance(value, float) and value != value:
        return {"__number__": "NaN"}
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return {"__number__": str(value)}
    return json.loads(json.dumps(value))


def _js_args(args: list[object]) -> list[object]:
    return [_js_value(a) for a in args]


@pytest.fixture(autouse=True)
def _no_db() -> None:
    """These tests need no database."""
