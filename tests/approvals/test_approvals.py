"""Go-live approvals: CLI and admin, audited, append-only, bound to the strategy's code hash."""

from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command

from approvals.models import Decision, GoLiveApproval
from approvals.services import may_trade_live
from audit.models import Action, AuditEntry
from tests.conftest import TEST_OVERRIDE
from trading.strategies.registry import code_hash

# No gateway runs here: approve_live's instrument check answers from ibsim's contract table (tests/conftest.py).
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("known_instruments"),
]


def _approve(*args: str) -> str:
    """approve_live of demo on QQQ.NASDAQ daily bars with an override: these tests are about the mechanics."""
    base = ("--strategy", "demo", "--instrument", "QQQ.NASDAQ", "--bar-spec", "1-DAY-LAST")
    return _cli("approve_live", *base, "--override-ladder", TEST_OVERRIDE, *args)


def _cli(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_approve_then_revoke_from_the_cli_is_audited(demo_strategy):
    out = _approve("--note", "2w paper, 14 trades")
    assert "approved demo on QQQ.NASDAQ" in out
    gate = may_trade_live("demo", "QQQ.NASDAQ")
    assert gate.allowed, gate.reason
    approval = GoLiveApproval.objects.get()
    assert approval.code_hash == code_hash("demo") and approval.decided_by.startswith("cli:")
    entry = AuditEntry.objects.get(action=Action.APPROVE_LIVE)
    assert entry.target == "demo@QQQ.NASDAQ" and entry.payload["code_hash"] == approval.code_hash

    _cli("revoke_live", "--strategy", "demo", "--instrument", "QQQ.NASDAQ", "--note", "drawdown over limit")
    gate = may_trade_live("demo", "QQQ.NASDAQ")
    assert not gate.allowed and "revoked" in gate.reason and "drawdown over limit" in gate.reason
    assert GoLiveApproval.objects.count() == 2  # the revocation is a new row; the approval is untouched
    assert GoLiveApproval.objects.get(pk=approval.pk).decision == Decision.APPROVE
    assert AuditEntry.objects.filter(action=Action.REVOKE_LIVE).count() == 1


def test_changing_the_strategy_or_its_dependency_requires_re_approval(approved_demo, demo_strategy):
    assert may_trade_live("demo", "QQQ.NASDAQ").allowed
    (demo_strategy / "helpers.py").write_text("SCALE = 2\n")  # a project module the strategy imports
    gate = may_trade_live("demo", "QQQ.NASDAQ")
    assert not gate.allowed and "re-approval required" in gate.reason
    _approve("--note", "re-checked after change")
    assert may_trade_live("demo", "QQQ.NASDAQ").allowed
    (demo_strategy / "demo.py").write_text("THRESHOLD = 0.2\n")
    assert "re-approval required" in may_trade_live("demo", "QQQ.NASDAQ").reason


def test_no_approval_means_no_live():
    gate = may_trade_live("ibs_reversion", "SPY.ARCA")
    assert not gate.allowed and gate.reason == "ibs_reversion on SPY.ARCA has no go-live approval"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--strategy", "nope", "--instrument", "QQQ.NASDAQ", "--note", "n"], "unknown strategy 'nope'"),
        (["--strategy", "demo", "--instrument", "qqq", "--note", "n"], "malformed instrument id 'qqq'"),
        (["--strategy", "demo", "--instrument", "QQQ.NASDAQ", "--note", "  "], "a note is required"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(demo_strategy, args, message):
    for command in ("approve_live", "revoke_live"):
        bars = ["--bar-spec", "1-DAY-LAST"] if command == "approve_live" else []
        with pytest.raises(CommandError, match=message) as info:
            _cli(command, *args, *bars)
        assert "\n" not in str(info.value)
    assert GoLiveApproval.objects.count() == 0 and AuditEntry.objects.count() == 0


def test_revoking_what_is_not_approved_and_approving_twice_are_refused(demo_strategy):
    with pytest.raises(CommandError, match="is not approved for live trading: nothing to revoke"):
        _cli("revoke_live", "--strategy", "demo", "--instrument", "QQQ.NASDAQ", "--note", "n")
    _approve("--note", "n")
    with pytest.raises(CommandError, match="already approved for this code"):
        _approve("--note", "again")
    _cli("revoke_live", "--strategy", "demo", "--instrument", "QQQ.NASDAQ", "--note", "stop")
    with pytest.raises(CommandError, match="nothing to revoke"):
        _cli("revoke_live", "--strategy", "demo", "--instrument", "QQQ.NASDAQ", "--note", "again")
    assert GoLiveApproval.objects.count() == 2
    assert AuditEntry.objects.filter(action__in=[Action.APPROVE_LIVE, Action.REVOKE_LIVE]).count() == 2


def _staff(username: str, *perms: str) -> User:
    user = User.objects.create_user(username, password="pw-long-enough-123", is_staff=True)
    for perm in ("approvals.view_goliveapproval", *perms):
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return user


def test_approver_approves_and_revokes_in_the_admin_and_it_is_audited(client, demo_strategy):
    client.force_login(_staff("approver", "approvals.approve_live"))
    url = "/admin/approvals/goliveapproval/add/"
    response = client.post(
        url,
        {
            "strategy": "demo",
            "instrument_id": "QQQ.NASDAQ",
            "bar_spec": "1-DAY-LAST",
            "params": "{}",
            "decision": "approve",
            "note": "paper matched backtest",
            "ladder_override": TEST_OVERRIDE,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    approval = GoLiveApproval.objects.get()
    assert approval.decided_by == "user:approver" and approval.code_hash == code_hash("demo")
    assert AuditEntry.objects.filter(action=Action.APPROVE_LIVE, actor="user:approver").count() == 1

    response = client.post(url, {"strategy": "demo", "instrument_id": "QQQ.NASDAQ", "decision": "revoke", "note": ""})
    assert response.status_code == 200 and GoLiveApproval.objects.count() == 1  # empty note: form error
    response = client.post(
        url, {"strategy": "demo", "instrument_id": "QQQ.NASDAQ", "decision": "revoke", "note": "pausing"}
    )
    assert response.status_code == 302
    assert not may_trade_live("demo", "QQQ.NASDAQ").allowed
    assert AuditEntry.objects.filter(action=Action.REVOKE_LIVE, actor="user:approver").count() == 1


def test_admin_refusals_show_the_reason(client, demo_strategy):
    client.force_login(_staff("approver", "approvals.approve_live"))
    response = client.post(
        "/admin/approvals/goliveapproval/add/",
        {"strategy": "demo", "instrument_id": "QQQ.NASDAQ", "decision": "revoke", "note": "n"},
    )
    assert response.status_code == 200
    assert "nothing to revoke" in response.content.decode()
    assert GoLiveApproval.objects.count() == 0


def test_admin_has_no_edit_or_delete_and_add_needs_the_approver_permission(client, approved_demo):
    viewer = _staff("viewer")
    client.force_login(viewer)
    assert client.get("/admin/approvals/goliveapproval/add/").status_code == 403
    change = client.post(f"/admin/approvals/goliveapproval/{approved_demo.pk}/change/", {"note": "edited"})
    assert GoLiveApproval.objects.get().note == approved_demo.note and change.status_code in (200, 403)
    assert (
        client.post(f"/admin/approvals/goliveapproval/{approved_demo.pk}/delete/", {"post": "yes"}).status_code == 403
    )

    superuser = User.objects.create_superuser("root", password="pw-long-enough-123")
    client.force_login(superuser)
    assert (
        client.post(f"/admin/approvals/goliveapproval/{approved_demo.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert (
        client.post(f"/admin/audit/auditentry/{AuditEntry.objects.first().pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    assert GoLiveApproval.objects.count() == 1
