"""Audit of authentication and permission changes."""

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from audit.middleware import acting_actor
from audit.models import Action
from audit.services import record, system_actor, user_actor

# Changes made outside a logged-in request (shell, data migrations, management commands) are the system's.
SYSTEM_AUTH = "auth"


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


@receiver(user_logged_in, dispatch_uid="audit.login")
def _on_login(sender, request, user, **kwargs):
    record(
        Action.LOGIN, actor=user_actor(user), target=f"user:{user.get_username()}", payload={"ip": _client_ip(request)}
    )


@receiver(user_logged_out, dispatch_uid="audit.logout")
def _on_logout(sender, request, user, **kwargs):
    if user is not None:
        record(
            Action.LOGOUT,
            actor=user_actor(user),
            target=f"user:{user.get_username()}",
            payload={"ip": _client_ip(request)},
        )


@receiver(user_login_failed, dispatch_uid="audit.login_failed")
def _on_login_failed(sender, credentials, request=None, **kwargs):
    # credentials are already scrubbed of the password by Django; keep only the username.
    username = str(credentials.get("username", ""))[:150]
    record(
        Action.LOGIN_FAILED,
        actor=system_actor("auth"),
        target=f"user:{username}",
        payload={"username": username, "ip": _client_ip(request)},
    )


@receiver(user_locked_out, dispatch_uid="audit.login_locked_out")
def _on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    username = str(username or "")[:150]
    record(
        Action.LOGIN_LOCKED_OUT,
        actor=system_actor("auth"),
        target=f"user:{username}",
        payload={"username": username, "ip": str(ip_address or _client_ip(request))},
    )


def _permission_change(instance, kind: str, action: str, pk_set) -> None:
    from django.contrib.auth.models import Group, Permission

    if not action.startswith("post_"):
        return
    if kind == "permissions":
        names = sorted(
            f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.filter(pk__in=pk_set or [])
        )
    else:
        names = sorted(Group.objects.filter(pk__in=pk_set or []).values_list("name", flat=True))
    label = instance.get_username() if hasattr(instance, "get_username") else f"group:{instance.name}"
    record(
        Action.PERMISSION_CHANGE,
        actor=acting_actor(system_actor(SYSTEM_AUTH)),
        target=f"user:{label}" if hasattr(instance, "get_username") else label,
        payload={"change": action.removeprefix("post_"), "kind": kind, "items": names},
    )


@receiver(m2m_changed, dispatch_uid="audit.user_permissions")
def _on_m2m(sender, instance, action, pk_set, **kwargs):
    user_model = get_user_model()
    from django.contrib.auth.models import Group

    if sender is user_model.user_permissions.through:
        _permission_change(instance, "permissions", action, pk_set)
    elif sender is user_model.groups.through:
        _permission_change(instance, "groups", action, pk_set)
    elif sender is Group.permissions.through:
        _permission_change(instance, "permissions", action, pk_set)


@receiver(post_save, dispatch_uid="audit.user_saved")
def _on_user_saved(sender, instance, created, update_fields=None, **kwargs):
    if sender is not get_user_model():
        return
    if created:
        record(
            Action.USER_CREATED,
            actor=acting_actor(system_actor(SYSTEM_AUTH)),
            target=f"user:{instance.get_username()}",
            payload={"is_staff": instance.is_staff, "is_superuser": instance.is_superuser},
        )
    elif update_fields is None or {"is_superuser", "is_staff", "is_active"} & set(update_fields):
        # Flags that grant or remove power are permission changes too; last_login-only saves are not.
        record(
            Action.PERMISSION_CHANGE,
            actor=acting_actor(system_actor(SYSTEM_AUTH)),
            target=f"user:{instance.get_username()}",
            payload={
                "kind": "flags",
                "is_staff": instance.is_staff,
                "is_superuser": instance.is_superuser,
                "is_active": instance.is_active,
            },
        )
