"""Guards a session passes before anything connects: each refusal is one line, audited, and starts nothing."""

import dataclasses
import io

import pytest
from django.core.management import CommandError, call_command

from approvals.services import do_approve_live
from ats_site.config import GatewayConfig
from audit.models import Action, AuditEntry
from tests.conftest import TEST_OVERRIDE
from tests.sessions.conftest import LIVE_ACCOUNT, TEST_HMAC_KEY, finish, wait_until
from trading.gateway import CHECK_CLIENT_IDS
from trading.sessions.guards import SessionRefused, check_gateway_accounts
from trading.sessions.models import SessionStatus, TradingSession
from trading.sessions.node import client_ids
from trading.sessions.services import do_create_session

pytestmark = pytest.mark.django_db(transaction=True)

IBS = {
    "strategy": "ibs_reversion",
    "instrument_id": "QQQ.NASDAQ",
    "bar_spec": "1-DAY-LAST",
    "params": {"buy_threshold": 0.15},
}


@pytest.fixture
def live_enabled(settings):
    settings.ATS = dataclasses.replace(
        settings.ATS,
        enable_live_trading=True,
        live=dataclasses.replace(settings.ATS.live, account_id=LIVE_ACCOUNT),
        audit_hmac_key=TEST_HMAC_KEY,
    )


def _refusals() -> list[str]:
    return [e.payload["reason"] for e in AuditEntry.objects.filter(action=Action.SESSION_REFUSED)]


def _run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_paper_refuses_a_live_account():
    with pytest.raises(SessionRefused, match=r"paper sessions need a paper account \('DU' \+ digits\), got 'U123'"):
        do_create_session(environment="paper", sleeves=[IBS], actor="user:t", account_id="U123")
    assert not TradingSession.objects.exists() and len(_refusals()) == 1


def test_live_refuses_a_paper_account(live_enabled, known_instruments):
    do_approve_live(
        strategy="ibs_reversion",
        instrument_id="QQQ.NASDAQ",
        note="ok",
        actor="user:a",
        bar_spec="1-DAY-LAST",
        override_ladder=TEST_OVERRIDE,
    )
    with pytest.raises(SessionRefused, match=r"live sessions need a live account \('U' \+ digits\), got 'DU1'"):
        do_create_session(environment="live", sleeves=[IBS], actor="user:t", account_id="DU1")
    assert not TradingSession.objects.exists()


def test_live_is_impossible_while_the_flag_is_off():
    with pytest.raises(CommandError, match="live trading is disabled: ATS_ENABLE_LIVE_TRADING is false"):
        _run("run_live", "--strategy", "ibs_reversion", "--instrument", "QQQ.NASDAQ", "--i-understand", "U1")
    with pytest.raises(SessionRefused, match="live trading is disabled"):
        do_create_session(environment="live", sleeves=[IBS], actor="user:t")
    assert not TradingSession.objects.exists() and len(_refusals()) == 2


def test_live_needs_an_approval_for_every_sleeve(live_enabled, known_instruments):
    with pytest.raises(SessionRefused, match="live refused: ibs_reversion on QQQ.NASDAQ has no go-live approval"):
        do_create_session(environment="live", sleeves=[IBS], actor="user:t")
    do_approve_live(
        strategy="ibs_reversion",
        instrument_id="QQQ.NASDAQ",
        note="ok",
        actor="user:a",
        bar_spec="1-DAY-LAST",
        override_ladder=TEST_OVERRIDE,
    )
    book = [IBS, {**IBS, "strategy": "sma_cross", "params": {}}]
    with pytest.raises(SessionRefused, match="sma_cross on QQQ.NASDAQ has no go-live approval"):
        do_create_session(environment="live", sleeves=book, actor="user:t")
    assert not TradingSession.objects.exists()


def test_live_refuses_when_the_code_changed_since_approval(live_enabled, monkeypatch, known_instruments):
    do_approve_live(
        strategy="ibs_reversion",
        instrument_id="QQQ.NASDAQ",
        note="ok",
        actor="user:a",
        bar_spec="1-DAY-LAST",
        override_ladder=TEST_OVERRIDE,
    )
    from trading.sessions import guards

    monkeypatch.setattr("trading.strategies.registry.code_hash", lambda name: "f" * 64)
    with pytest.raises(SessionRefused, match="code changed since approval .* re-approval required"):
        guards.check_live_approvals(guards.parse_sleeves([IBS]))


def test_run_live_requires_the_typed_account_id(live_enabled, known_instruments):
    do_approve_live(
        strategy="ibs_reversion",
        instrument_id="QQQ.NASDAQ",
        note="2w paper",
        actor="user:approver",
        bar_spec="1-DAY-LAST",
        override_ladder=TEST_OVERRIDE,
    )
    for answer, message in (("U999", "the typed account id did not match"), ("", "no account id typed")):
        with pytest.raises(CommandError, match=f"live start aborted: {message}"):
            _run("run_live", "--strategy", "ibs_reversion", "--instrument", "QQQ.NASDAQ", "--i-understand", answer)
    assert not TradingSession.objects.exists()
    assert [r for r in _refusals() if "live start aborted" in r] == [
        "live start aborted: the typed account id did not match",
        "live start aborted: no account id typed",
    ]


def test_run_live_prints_the_summary_before_asking(live_enabled, capsys, known_instruments):
    do_approve_live(
        strategy="ibs_reversion",
        instrument_id="QQQ.NASDAQ",
        note="2w paper, 14 trades",
        actor="user:approver",
        bar_spec="1-DAY-LAST",
        params={"buy_threshold": 0.2},
        override_ladder=TEST_OVERRIDE,
    )
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "run_live",
            "--strategy",
            "ibs_reversion",
            "--instrument",
            "QQQ.NASDAQ",
            "--params",
            '{"buy_threshold": 0.2}',
            "--i-understand",
            "nope",
            stdout=out,
        )
    summary = out.getvalue()
    for expected in (
        "REAL MONEY",
        LIVE_ACCOUNT,
        "ibs_reversion on QQQ.NASDAQ",
        "buy_threshold",
        "0.2",
        "approved by: user:approver",
        "2w paper, 14 trades",
        "risk limits  : money in USD",
    ):
        assert expected in summary, expected
    # Every limit in force, by name and value.
    for label, value in [
        ("max notional", "5,000.00 USD per order"),
        ("max submit rate", "2 orders per 1 s"),
        ("price collar", "5.00% from the market"),
        ("max position", "10,000.00 USD per instrument"),
        ("max gross exposure", "20,000.00 USD"),
        ("max open orders", "5 working orders"),
        ("duplicate-order window", "1.0 s"),
        ("max daily loss (breaker)", "500.00 USD"),
        ("max drawdown (breaker)", "1,000.00 USD"),
    ]:
        assert f"  {label:<27}: {value}\n" in summary, label


@pytest.mark.parametrize(
    "params, message",
    [
        ('{"buy_threshold": 1.5}', "buy_threshold: must be between 0 and 1, got 1.5"),
        ('{"buy_treshold": 0.1}', "unknown parameter 'buy_treshold'"),
        ("{not json", "--params: not valid JSON"),
    ],
)
def test_bad_parameters_are_one_line_errors(params, message):
    with pytest.raises(CommandError, match=message) as info:
        _run("run_paper", "--strategy", "ibs_reversion", "--instrument", "QQQ.NASDAQ", "--params", params)
    assert "\n" not in str(info.value)
    assert not TradingSession.objects.exists()


def test_gateway_accounts_must_include_ours_and_be_of_the_right_kind():
    def gateway(environment, account_id):
        return GatewayConfig(environment, "127.0.0.1", 4002, account_id)

    check_gateway_accounts(gateway("paper", "DU1"), ["DU1"])
    with pytest.raises(SessionRefused, match="a paper gateway is on the live port 127.0.0.1:4002"):
        check_gateway_accounts(gateway("live", "U2"), ["DU1"])
    with pytest.raises(
        SessionRefused, match=r"account U2 is not managed by the gateway at 127.0.0.1:4002 \(it manages U3\)"
    ):
        check_gateway_accounts(gateway("live", "U2"), ["U3"])
    with pytest.raises(
        SessionRefused, match="a live gateway is on the paper port 127.0.0.1:4002: it manages live account U9"
    ):
        check_gateway_accounts(gateway("paper", "DU1"), ["DU1", "U9"])
    with pytest.raises(SessionRefused, match="manages X1, not paper accounts"):
        check_gateway_accounts(gateway("paper", "DU1"), ["DU1", "X1"])


@pytest.mark.timeout(120)
def test_a_paper_gateway_on_the_live_port_is_refused_before_any_order(make_stack):
    stack = make_stack(["DU1234567"], live=True)
    do_approve_live(
        strategy="ibs_reversion",
        instrument_id="QQQ.NASDAQ",
        note="ok",
        actor="user:a",
        bar_spec="1-DAY-LAST",
        override_ladder=TEST_OVERRIDE,
    )
    session = do_create_session(environment="live", sleeves=[IBS], actor="user:t")
    assert finish(stack.host(session.pk)) == 0
    session.refresh_from_db()
    assert session.status == SessionStatus.FAILED
    assert session.stop_reason == (
        f"a paper gateway is on the live port 127.0.0.1:{stack.sim.port}: it manages paper account DU1234567"
    )
    # Only read-only checks ever spoke to the gateway (the approval's and the start's instrument checks, the host's
    # preflight); no node connected, no order was sent.
    talked = {m["client_id"] for m in stack.sim.received()} - {client_ids(session.pk)[2], None}
    assert talked and all(cid in CHECK_CLIENT_IDS for cid in talked)
    assert stack.sim.received("PLACE_ORDER") == []


@pytest.mark.timeout(120)
def test_a_gateway_managing_foreign_kinds_of_accounts_is_refused(make_stack):
    stack = make_stack(["DU1234567", "U7654321"])
    session = do_create_session(environment="paper", sleeves=[IBS], actor="user:t")
    finish(stack.host(session.pk))
    session.refresh_from_db()
    assert session.status == SessionStatus.FAILED
    assert session.stop_reason == (
        f"a live gateway is on the paper port 127.0.0.1:{stack.sim.port}: it manages live account U7654321"
    )
    assert stack.sim.received("PLACE_ORDER") == []


def test_an_unreachable_gateway_refuses_the_start_in_one_line(settings):
    settings.ATS = dataclasses.replace(settings.ATS, paper=dataclasses.replace(settings.ATS.paper, port=1))
    with pytest.raises(SessionRefused) as refused:
        do_create_session(environment="paper", sleeves=[IBS], actor="user:t")
    reason = (
        "cannot check the instruments at the paper gateway: connection refused at 127.0.0.1:1: no gateway is listening"
    )
    assert str(refused.value) == reason
    assert not TradingSession.objects.exists() and _refusals() == [reason]


def test_an_unreachable_gateway_fails_the_session_with_the_reason(settings, known_instruments):
    from trading.sessions.host import run_session

    # The session was checked at a gateway (the stub) that is gone by the time a host picks it up.
    session = do_create_session(environment="paper", sleeves=[IBS], actor="user:t")
    assert known_instruments == ["QQQ.NASDAQ"]
    settings.ATS = dataclasses.replace(settings.ATS, paper=dataclasses.replace(settings.ATS.paper, port=1))
    assert run_session(session.pk) == SessionStatus.FAILED
    session.refresh_from_db()
    assert session.stop_reason == (
        "cannot reach the paper gateway: connection refused at 127.0.0.1:1: no gateway is listening"
    )
    wait_until(lambda: AuditEntry.objects.filter(action=Action.SESSION_FAILED).exists(), 5, message="audit")
