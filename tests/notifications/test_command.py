"""manage.py send_test_alert: one line per channel and its exit code; a command that exits right after raising an
alert still gets it out (the courier's first attempts are waited for at exit)."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import Action, AuditEntry
from notifications.models import Alert
from tests.notifications.conftest import TOKEN, HttpReceiver, finished, point_channels

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]
ROOT = Path(__file__).resolve().parents[2]


def test_it_prints_each_channel_and_succeeds_when_all_delivered(all_channels):
    receivers, _ = all_channels
    out = StringIO()
    call_command("send_test_alert", "--wait", "10", stdout=out)
    alert = Alert.objects.get(kind="test")
    lines = out.getvalue().splitlines()
    assert lines[0] == f"test notification #{alert.pk}"
    assert [line.split()[0] for line in lines[1:]] == ["webhook", "email", "slack", "discord"]
    assert all(line.split()[1] == "delivered" for line in lines[1:])
    assert f"  slack delivered (http://127.0.0.1:{receivers['slack'].port})" in lines
    assert TOKEN not in out.getvalue() and alert.actor.startswith("cli:")


def test_it_fails_naming_the_channel_that_did_not_deliver(all_channels):
    receivers, _ = all_channels
    receivers["webhook"].statuses = [503]
    with pytest.raises(CommandError, match=r"webhook FAILED after 3 attempt\(s\): HTTP 503") as info:
        call_command("send_test_alert", "--wait", "10", stdout=StringIO())
    assert info.value.returncode == 1


def test_without_a_channel_it_says_which_variables_to_set(settings, transactional_db):
    point_channels(settings)
    with pytest.raises(CommandError, match="no notification channel is configured: set ATS_ALERT_WEBHOOK_URL"):
        call_command("send_test_alert")


def test_a_process_that_exits_at_once_still_gets_its_alert_out(transactional_db):
    receiver = HttpReceiver()
    try:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
            "ATS_ALERT_WEBHOOK_URL": receiver.url,
        }
        result = subprocess.run(
            [sys.executable, "manage.py", "send_test_alert", "--wait", "0"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode in (0, 1), result.stderr  # 1: not known delivered when it stopped waiting
        assert "Traceback" not in result.stderr and TOKEN not in result.stdout + result.stderr
        (body,) = receiver.bodies()  # delivered before the process ended, by its courier
        alert = finished(body["alert"], timeout=2)
        assert alert is not None and alert.kind == "test"
        assert AuditEntry.objects.get(target=f"alert:{alert.pk}").action == Action.NOTIFICATION_DELIVERED
    finally:
        receiver.close()
