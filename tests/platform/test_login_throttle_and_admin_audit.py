"""Finding 5: login brute force is throttled and audited; admin permission changes name the administrator."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User

from audit.models import Action, AuditEntry

pytestmark = pytest.mark.django_db


def test_repeated_wrong_passwords_lock_the_account_out_and_are_audited(client, settings):
    User.objects.create_user("alice", password="correct-horse-battery")
    statuses = [client.post("/login/", {"username": "alice", "password": f"wrong-{i}"}).status_code for i in range(60)]
    limit = settings.AXES_FAILURE_LIMIT
    assert statuses[: limit - 1] == [200] * (limit - 1)  # the form again, with its error
    assert set(statuses[limit:]) == {429}  # then locked out
    # Locked out means locked out: the right password does not get in either, from this address or another.
    response = client.post("/login/", {"username": "alice", "password": "correct-horse-battery"})
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    response = client.post(
        "/login/", {"username": "alice", "password": "correct-horse-battery"}, REMOTE_ADDR="10.9.8.7"
    )
    assert response.status_code == 429
    assert not AuditEntry.objects.filter(action=Action.LOGIN).exists()
    lockouts = AuditEntry.objects.filter(action=Action.LOGIN_LOCKED_OUT)
    assert lockouts.exists() and lockouts.first().payload["username"] == "alice"
    assert lockouts.first().payload["ip"] == "127.0.0.1"
    assert AuditEntry.objects.filter(action=Action.LOGIN_FAILED, target="user:alice").count() >= limit


def test_admin_permission_and_group_changes_name_the_acting_administrator(client):
    root = User.objects.create_superuser("root", password="root-password-long-1")
    bob = User.objects.create_user("bob", password="bob-password-long-1")
    traders = Group.objects.create(name="traders")
    operate_live = Permission.objects.get(codename="operate_live")
    client.force_login(root)
    response = client.post(
        f"/admin/auth/user/{bob.pk}/change/",
        {
            "username": "bob",
            "is_active": "on",
            "is_staff": "on",
            "groups": [traders.pk],
            "user_permissions": [operate_live.pk],
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    changes = AuditEntry.objects.filter(action=Action.PERMISSION_CHANGE, target="user:bob")
    kinds = {(e.payload.get("kind"), tuple(e.payload.get("items", ()))) for e in changes}
    assert ("permissions", ("trading.operate_live",)) in kinds and ("groups", ("traders",)) in kinds
    assert {e.actor for e in changes} == {"user:root"}
    response = client.post(
        f"/admin/auth/group/{traders.pk}/change/", {"name": "traders", "permissions": [operate_live.pk]}
    )
    assert response.status_code == 302
    group_change = AuditEntry.objects.filter(action=Action.PERMISSION_CHANGE, target="group:traders").last()
    assert group_change.actor == "user:root" and group_change.payload["items"] == ["trading.operate_live"]


def test_changes_outside_a_request_stay_the_systems():
    bob = User.objects.create_user("bob", password="bob-password-long-1")
    bob.user_permissions.add(Permission.objects.get(codename="operate_paper"))
    assert AuditEntry.objects.filter(action=Action.PERMISSION_CHANGE).last().actor == "system:auth"
