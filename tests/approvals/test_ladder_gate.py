"""approve_live needs a climbed research ladder for the exact code, bars and params (or an audited override), and
the live runner refuses anything else."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from approvals.models import GoLiveApproval
from approvals.services import may_trade_live
from audit.models import Action, AuditEntry
from audit.services import record
from research.evidence import current_data_hash
from research.models import GauntletReport, PaperRungCheck, ReportStatus, RungOutcome
from research.selectors import RungState, ladder_for
from trading.sessions.guards import SessionRefused, Sleeve, check_live_approvals
from trading.sessions.models import TradingSession
from trading.strategies.params import canonical_params, params_key
from trading.strategies.registry import code_hash

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("known_instruments", "own_catalog"),
]


@pytest.fixture
def own_catalog(tmp_path, settings):
    """An empty catalog of this test's own: the gauntlet rung compares its report's bars with the catalog's."""
    settings.ATS_CATALOG_DIR = tmp_path / "catalog"


WHERE = {"strategy": "ibs_reversion", "instrument_id": "QQQ.NASDAQ"}
CHOSEN = {"buy_threshold": 0.1}


def _approve(*args: str, params: dict = CHOSEN) -> str:
    out = StringIO()
    call_command(
        "approve_live",
        "--strategy",
        "ibs_reversion",
        "--instrument",
        "QQQ.NASDAQ",
        "--bar-spec",
        "1-DAY-LAST",
        "--params",
        json.dumps(params),
        *args,
        stdout=out,
    )
    return out.getvalue()


def _evidence(
    params: dict = CHOSEN,
    *,
    gauntlet: str = RungOutcome.PASS,
    paper: str = RungOutcome.PASS,
    code=None,
    data=None,
    audited: bool = True,
):
    """Stored evidence as the gauntlet and the paper-rung check leave it, audit entries included (their own tests
    run them for real); audited=False forges the rows around the services."""
    canonical = canonical_params("ibs_reversion", "QQQ.NASDAQ", "1-DAY-LAST", params)
    key = {
        **WHERE,
        "params": canonical,
        "params_key": params_key(canonical),
        "code_hash": code or code_hash("ibs_reversion"),
        "actor": "cli:test",
    }
    report = GauntletReport.objects.create(
        **key,
        bar_spec="1-DAY-LAST",
        data_hash=data or current_data_hash("QQQ.NASDAQ", "1-DAY-LAST"),
        status=ReportStatus.FINISHED,
        verdict=gauntlet,
        reason="10 of 10 rungs passed" if gauntlet == RungOutcome.PASS else "deflated_sharpe failed: DSR 0.41 < 0.95",
    )
    session = TradingSession.objects.create(
        environment="paper", account_id="DU1234567", sleeves=[], risk_caps={}, started_by="cli:test", status="stopped"
    )
    check = PaperRungCheck.objects.create(
        **key,
        bar_spec="5-SECOND-LAST",
        session=session,
        verdict=paper,
        reason="24 of 24 trades matched" if paper == RungOutcome.PASS else "17 of 24 trades matched (71% < 95%)",
    )
    if audited:
        same = {"verdict": gauntlet, "params_key": report.params_key, "code_hash": report.code_hash}
        record(Action.GAUNTLET_FINISHED, actor="cli:test", payload={"report_id": report.pk, **same})
        same = {"verdict": paper, "params_key": check.params_key, "code_hash": check.code_hash}
        record(Action.PAPER_RUNG_CHECKED, actor="cli:test", payload={"paper_rung": check.pk, **same})
    return report, check


def test_no_ladder_no_approval_and_the_refusal_names_the_rung():
    with pytest.raises(
        CommandError, match=r"research ladder is not climbed: gauntlet rung not run \(no gauntlet report\)"
    ) as info:
        _approve("--note", "looks good")
    assert "\n" not in str(info.value)
    assert not GoLiveApproval.objects.exists() and not AuditEntry.objects.filter(action=Action.APPROVE_LIVE).exists()


def test_unknown_instrument_is_refused_even_with_an_override():
    with pytest.raises(CommandError, match="FOO.BAR"):
        call_command(
            "approve_live",
            *("--strategy", "ibs_reversion", "--instrument", "FOO.BAR", "--bar-spec", "1-DAY-LAST"),
            *("--note", "n", "--override-ladder", "I know better"),
            stdout=StringIO(),
        )
    assert not GoLiveApproval.objects.exists()


@pytest.mark.parametrize(
    "gauntlet, paper, refusal",
    [
        (RungOutcome.FAIL, RungOutcome.PASS, "gauntlet rung failed"),
        (RungOutcome.PASS, RungOutcome.FAIL, "paper rung failed"),
    ],
)
def test_a_failed_rung_refuses_the_approval(gauntlet, paper, refusal):
    _evidence(gauntlet=gauntlet, paper=paper)
    with pytest.raises(CommandError, match=refusal):
        _approve("--note", "n")
    assert not GoLiveApproval.objects.exists()


def test_a_climbed_ladder_is_approved_and_the_approval_names_its_evidence():
    report, check = _evidence()
    out = _approve("--note", "gauntlet and paper passed")
    assert f"gauntlet #{report.pk}, paper rung #{check.pk}" in out
    approval = GoLiveApproval.objects.get()
    assert (approval.gauntlet_report_id, approval.paper_rung_id, approval.ladder_override) == (report.pk, check.pk, "")
    assert approval.params["buy_threshold"] == 0.1 and approval.params["sell_threshold"] == 0.8  # defaults included
    entry = AuditEntry.objects.get(action=Action.APPROVE_LIVE)
    assert entry.payload["gauntlet_report"] == report.pk and entry.payload["paper_rung"] == check.pk
    assert entry.payload["params_key"] == approval.params_key

    ladder = ladder_for(**WHERE, bar_spec="1-DAY-LAST", params=CHOSEN, code_hash=code_hash("ibs_reversion"))
    assert ladder.rung("approved").state == RungState.PASSED


def test_evidence_for_other_params_or_other_code_does_not_count():
    _evidence(params={"buy_threshold": 0.2})
    with pytest.raises(CommandError, match="gauntlet rung not run"):
        _approve("--note", "n")
    GauntletReport.objects.all().delete()
    _evidence(code="f" * 64)
    with pytest.raises(CommandError, match=r"gauntlet rung invalidated \(gauntlet #\d+ ran other code"):
        _approve("--note", "n")
    GauntletReport.objects.all().delete()
    _evidence(data="d" * 64)  # the catalog's bars are not the ones the gauntlet judged
    with pytest.raises(CommandError, match=r"gauntlet rung invalidated \(gauntlet #\d+ used other bars \(dddddddddddd"):
        _approve("--note", "n")
    assert not GoLiveApproval.objects.exists()


def test_evidence_written_around_the_services_does_not_count():
    report, check = _evidence(audited=False)  # raw rows saying "pass", no audit entry of their verdicts
    with pytest.raises(CommandError, match=rf"gauntlet rung invalidated \(gauntlet #{report.pk} has no audit entry"):
        _approve("--note", "n")
    record(
        Action.GAUNTLET_FINISHED,
        actor="cli:test",
        payload={"report_id": report.pk, "verdict": "fail", "params_key": report.params_key, "code_hash": "x"},
    )  # an entry that says something else
    with pytest.raises(CommandError, match=rf"gauntlet #{report.pk} differs from its audit entry"):
        _approve("--note", "n")
    assert not GoLiveApproval.objects.exists()


def test_the_live_runner_refuses_params_or_bars_other_than_the_approved():
    _evidence()
    _approve("--note", "n")
    approved = Sleeve("ibs_reversion", "QQQ.NASDAQ", "1-DAY-LAST", {"buy_threshold": 0.1})
    assert check_live_approvals([approved])[0]["gauntlet_report"] is not None
    with pytest.raises(
        SessionRefused, match=r"params differ from approval #\d+'s: buy_threshold 0.12 \(approved 0.1\)"
    ):
        check_live_approvals([Sleeve("ibs_reversion", "QQQ.NASDAQ", "1-DAY-LAST", {"buy_threshold": 0.12})])
    with pytest.raises(SessionRefused, match="bars 5-SECOND-LAST differ from approval"):
        check_live_approvals([Sleeve("ibs_reversion", "QQQ.NASDAQ", "5-SECOND-LAST", {"buy_threshold": 0.1})])
    # The same params spelled differently (a default written out) are the same params.
    assert check_live_approvals(
        [Sleeve("ibs_reversion", "QQQ.NASDAQ", "1-DAY-LAST", {**CHOSEN, "sell_threshold": 0.8})]
    )


def test_an_override_is_audited_as_such_and_shown_in_red():
    out = _approve("--note", "n", "--override-ladder", "hedging sleeve, backtest meaningless")
    assert "LADDER OVERRIDDEN: hedging sleeve" in out
    approval = GoLiveApproval.objects.get()
    assert approval.gauntlet_report_id is None and approval.ladder_override.startswith("hedging")
    entry = AuditEntry.objects.get(action=Action.APPROVE_LIVE)
    assert entry.payload["ladder_override"] == "hedging sleeve, backtest meaningless"
    gate = may_trade_live(**WHERE, bar_spec="1-DAY-LAST", params=approval.params)
    assert gate.allowed, gate.reason
    ladder = ladder_for(**WHERE, bar_spec="1-DAY-LAST", params=CHOSEN, code_hash=code_hash("ibs_reversion"))
    assert ladder.rung("approved").reason.startswith("LADDER OVERRIDDEN")


def test_an_override_reason_must_be_one_line():
    with pytest.raises(CommandError, match="one line"):
        _approve("--note", "n", "--override-ladder", "first\nsecond")
    assert not GoLiveApproval.objects.exists()


def test_an_approval_from_before_the_ladder_binds_no_params_and_does_not_count():
    with transaction.atomic():  # as the service wrote them before approvals named bars and params
        old = GoLiveApproval.objects.create(
            **WHERE,
            decision="approve",
            code_hash=code_hash("ibs_reversion"),
            decided_by="cli:old",
            note="old",
            created_at=timezone.now(),
        )
        record(
            Action.APPROVE_LIVE,
            actor="cli:old",
            target="ibs_reversion@QQQ.NASDAQ",
            payload={"approval_id": old.pk, "code_hash": old.code_hash, "note": "old"},
        )
    gate = may_trade_live(**WHERE)
    assert not gate.allowed and gate.reason == (
        f"approval #{old.pk} predates the research ladder and names no params: re-approval required"
    )


def test_pages_that_show_an_approval_show_an_override_in_red(client, django_user_model):
    _approve("--note", "n", "--override-ladder", "hedging sleeve")
    client.force_login(django_user_model.objects.create_superuser("boss", password="pw-long-enough-123"))
    for url in ("/", "/approvals/", "/admin/approvals/goliveapproval/"):
        html = client.get(url).content.decode()
        assert '<strong class="override">LADDER OVERRIDDEN: hedging sleeve</strong>' in html, url
