"""Login everywhere; login, logout, failed logins and permission changes are audited."""

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command

from audit.models import Action, AuditEntry

pytestmark = pytest.mark.django_db


def test_pages_require_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith("/login/")
    assert client.get("/login/").status_code == 200
    assert client.get("/admin/").status_code == 302


def test_login_logout_and_failed_login_are_audited(client):
    alice = User.objects.create_user("alice", password="correct-horse-battery")
    alice.user_permissions.add(Permission.objects.get(codename="view_console"))
    assert not client.login(username="alice", password="wrong")
    failed = AuditEntry.objects.get(action=Action.LOGIN_FAILED)
    assert failed.payload["username"] == "alice" and "wrong" not in str(failed.payload)

    response = client.post("/login/", {"username": "alice", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action=Action.LOGIN, actor="user:alice").count() == 1
    assert client.get("/").status_code == 200
    client.post("/logout/")
    assert AuditEntry.objects.filter(action=Action.LOGOUT, actor="user:alice").count() == 1


def test_permission_changes_are_audited():
    user = User.objects.create_user("bob", password="x-long-password-1")
    perm = Permission.objects.get(codename="operate_live")
    user.user_permissions.add(perm)
    entry = AuditEntry.objects.filter(action=Action.PERMISSION_CHANGE).last()
    assert entry.target == "user:bob" and entry.payload["items"] == ["trading.operate_live"]
    assert entry.payload["change"] == "add"
    user.is_superuser = True
    user.save()
    assert AuditEntry.objects.filter(action=Action.PERMISSION_CHANGE).last().payload["is_superuser"] is True


def test_console_permissions_exist():
    codenames = set(Permission.objects.values_list("codename", flat=True))
    assert {"view_console", "operate_paper", "operate_live", "approve_live"} <= codenames


def test_create_admin_generates_a_password_once(capsys):
    call_command("create_admin", "--if-none")
    out = capsys.readouterr().out
    password = out.split("password: ")[1].split()[0]
    assert User.objects.get(username="admin").check_password(password)
    call_command("create_admin", "--if-none")
    assert "users exist already" in capsys.readouterr().out
    with pytest.raises(CommandError, match="exists already"):
        call_command("create_admin")


def test_health_endpoint_needs_no_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok"
