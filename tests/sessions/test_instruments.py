"""Every instrument is resolved at the gateway before anything is written: an unknown one (FOO.BAR) is refused in
one line naming it by the start panel, do_create_session, approve_live and the host's own preflight, within seconds
rather than after the node's 30 s connect timeout; a gateway that cannot be reached refuses too (fail closed)."""

from __future__ import annotations

import dataclasses
import io
import time

import pytest
from django.core.management import CommandError, call_command

from approvals.models import GoLiveApproval
from audit.models import Action, AuditEntry
from tests.pages.conftest import make_user
from tests.sessions.conftest import finish
from trading import gateway
from trading.sessions.guards import SessionRefused
from trading.sessions.models import SessionStatus, TradingSession
from trading.sessions.node import client_ids
from trading.sessions.services import do_create_session

FOO = {"strategy": "sma_cross", "instrument_id": "FOO.BAR", "bar_spec": "1-DAY-LAST", "params": {}}
QQQ = {"strategy": "sma_cross", "instrument_id": "QQQ.NASDAQ", "bar_spec": "1-DAY-LAST", "params": {}}
UNKNOWN = "FOO.BAR: the gateway knows no such contract (IB error 200)"
FORM = {"mode": "sleeve", "strategy": "sma_cross", "instrument_id": "FOO.BAR", "bar_spec": "1-DAY-LAST", "params": "{}"}


def refusals() -> list[str]:
    return [e.payload["reason"] for e in AuditEntry.objects.filter(action=Action.SESSION_REFUSED)]


def contract_requests(sim) -> list[dict]:
    return sim.received("REQ_CONTRACT_DATA")


def test_do_create_session_refuses_an_unknown_instrument_naming_it(paper_stack):
    started = time.monotonic()
    with pytest.raises(SessionRefused) as refused:
        do_create_session(environment="paper", sleeves=[QQQ, FOO], actor="user:tester")
    assert str(refused.value) == UNKNOWN
    assert time.monotonic() - started < 5
    assert not TradingSession.objects.exists()
    assert refusals() == [UNKNOWN]
    assert not AuditEntry.objects.filter(action=Action.SESSION_START).exists()
    # It asked the gateway, on a read-only connection of its own (never a session's client ids).
    asked = {m["client_id"] for m in contract_requests(paper_stack.sim)}
    assert asked and all(cid in gateway.CHECK_CLIENT_IDS for cid in asked)


def test_a_known_instrument_still_starts(paper_stack):
    session = do_create_session(environment="paper", sleeves=[QQQ], actor="user:tester")
    assert session.status == SessionStatus.STARTING and session.sleeves[0]["instrument_id"] == "QQQ.NASDAQ"
    assert contract_requests(paper_stack.sim)  # resolved at the gateway, not waved through
    assert refusals() == []


def test_the_start_panel_refuses_an_unknown_instrument_naming_it(paper_stack, client, monkeypatch):
    enqueued = []
    monkeypatch.setattr("trading.sessions.tasks.enqueue_session", enqueued.append)
    client.force_login(make_user("paperop", "view_console", "operate_paper"))
    response = client.post("/paper/start", FORM)
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [UNKNOWN]
    assert UNKNOWN in response.content.decode()
    assert not TradingSession.objects.exists() and enqueued == [] and refusals() == [UNKNOWN]
    # The same panel starts a known instrument.
    response = client.post("/paper/start", {**FORM, "instrument_id": "QQQ.NASDAQ"})
    assert response.status_code == 302 and TradingSession.objects.count() == 1


def test_run_paper_refuses_an_unknown_instrument_naming_it(paper_stack):
    with pytest.raises(CommandError) as refused:
        call_command("run_paper", "--strategy", "sma_cross", "--instrument", "FOO.BAR", stdout=io.StringIO())
    assert str(refused.value) == UNKNOWN
    assert not TradingSession.objects.exists()


@pytest.mark.timeout(60)
def test_the_host_preflight_names_an_unknown_instrument_at_once(paper_stack, monkeypatch):
    # A gateway that knew FOO.BAR when the session was written (say, before a restart that lost it): the host must
    # report the real cause before building a node, not "did not connect in time" 30 s later.
    monkeypatch.setattr(gateway, "resolve_instruments", lambda config, ids: dict.fromkeys(ids, ""))
    session = do_create_session(environment="paper", sleeves=[FOO], actor="user:tester")
    started = time.monotonic()
    assert finish(paper_stack.host(session.pk), timeout=30) == 0
    elapsed = time.monotonic() - started
    session.refresh_from_db()
    assert session.status == SessionStatus.FAILED and session.stop_reason == UNKNOWN
    assert elapsed < 15, f"the host took {elapsed:.1f}s to refuse"
    # Only the read-only preflight spoke to the gateway: no node connected.
    assert {m["client_id"] for m in paper_stack.sim.received()} <= {client_ids(session.pk)[2], None}
    assert AuditEntry.objects.filter(action=Action.SESSION_REFUSED, payload__reason=UNKNOWN).exists()


def test_approve_live_refuses_an_unknown_instrument(paper_stack, settings, tmp_path):
    settings.ATS_CATALOG_DIR = tmp_path / "catalog"  # an empty catalog: only the gateway can vouch
    with pytest.raises(CommandError) as refused:
        call_command(
            "approve_live",
            "--strategy",
            "sma_cross",
            "--instrument",
            "FOO.BAR",
            "--note",
            "n",
            "--bar-spec",
            "1-DAY-LAST",
            "--override-ladder",
            "instrument check test",
            stdout=io.StringIO(),
        )
    assert str(refused.value) == f"{UNKNOWN}, and the data catalog has no definition of it"
    assert not GoLiveApproval.objects.exists()
    assert not AuditEntry.objects.filter(action=Action.APPROVE_LIVE).exists()
    out = io.StringIO()
    call_command(
        "approve_live",
        "--strategy",
        "sma_cross",
        "--instrument",
        "QQQ.NASDAQ",
        "--note",
        "n",
        "--bar-spec",
        "1-DAY-LAST",
        "--override-ladder",
        "instrument check test",
        stdout=out,
    )
    assert GoLiveApproval.objects.get().instrument_id == "QQQ.NASDAQ"


# -- approve_live without a gateway: the data catalog vouches for what a gateway defined ----------------------------


@pytest.fixture
def no_gateway(settings, tmp_path):
    settings.ATS = dataclasses.replace(settings.ATS, paper=dataclasses.replace(settings.ATS.paper, port=1))
    settings.ATS_CATALOG_DIR = tmp_path / "catalog"


def _approve(instrument_id: str) -> str:
    out = io.StringIO()
    call_command(
        "approve_live",
        "--strategy",
        "sma_cross",
        "--instrument",
        instrument_id,
        "--note",
        "n",
        "--bar-spec",
        "1-DAY-LAST",
        "--override-ladder",
        "instrument check test",
        stdout=out,
    )
    return out.getvalue()


@pytest.mark.django_db
def test_approve_live_accepts_an_instrument_the_catalog_holds_from_a_gateway(no_gateway):
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.identifiers import InstrumentId, Symbol
    from nautilus_trader.model.instruments import Equity
    from nautilus_trader.model.objects import Price, Quantity

    from trading.marketdata.catalog import open_catalog, store_instrument

    fetched = Equity(  # as fetch_bars stores it: the gateway's definition, with its ISIN
        instrument_id=InstrumentId.from_str("QQQ.NASDAQ"),
        raw_symbol=Symbol("QQQ"),
        currency=USD,
        price_precision=2,
        price_increment=Price.from_str("0.01"),
        lot_size=Quantity.from_int(1),
        isin="US46090E1038",
        ts_event=1,
        ts_init=1,
    )
    store_instrument(open_catalog(), fetched)
    assert "approved sma_cross on QQQ.NASDAQ" in _approve("QQQ.NASDAQ")


@pytest.mark.django_db
def test_approve_live_refuses_in_one_line_when_neither_catalog_nor_gateway_can_vouch(no_gateway):
    from trading.marketdata.catalog import assumed_us_equity, open_catalog, store_instrument

    store_instrument(open_catalog(), assumed_us_equity("FOO.BAR"))  # bars imported from a CSV prove nothing
    with pytest.raises(CommandError) as refused:
        _approve("FOO.BAR")
    assert str(refused.value) == (
        "FOO.BAR is not in the data catalog and cannot be checked at the paper gateway: "
        "connection refused at 127.0.0.1:1: no gateway is listening"
    )
    assert not GoLiveApproval.objects.exists()
