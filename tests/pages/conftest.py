"""Fixtures for the operator pages: users with console permissions, live on/off, sessions and telemetry rows."""

from __future__ import annotations

import dataclasses

import pytest
from django.contrib.auth.models import Permission, User

from ats_site.config import GatewayConfig

LIVE_ACCOUNT = "U7654321"


def make_user(username: str, *codenames: str, superuser: bool = False) -> User:
    user = User.objects.create_user(username, password="pw-" + username + "-123", is_superuser=superuser)
    for code in codenames:
        user.user_permissions.add(Permission.objects.get(codename=code, content_type__app_label="trading"))
    return User.objects.get(pk=user.pk)  # fresh: no stale permission cache


@pytest.fixture
def viewer(db):
    return make_user("viewer", "view_console")


@pytest.fixture
def paper_operator(db):
    return make_user("paperop", "view_console", "operate_paper")


@pytest.fixture
def live_operator(db):
    return make_user("liveop", "view_console", "operate_paper", "operate_live")


@pytest.fixture
def nobody(db):
    return make_user("nobody")


TEST_HMAC_KEY = "test-only-audit-hmac-key-0123456789abcdef"


@pytest.fixture
def live_on(settings):
    """ATS_ENABLE_LIVE_TRADING=true with a live account configured."""
    ats = settings.ATS
    settings.ATS = dataclasses.replace(
        ats,
        enable_live_trading=True,
        live=GatewayConfig("live", ats.live.host, ats.live.port, LIVE_ACCOUNT),
        audit_hmac_key=TEST_HMAC_KEY,  # live refuses to start without one
    )
    return settings.ATS


@pytest.fixture
def live_off(settings):
    settings.ATS = dataclasses.replace(settings.ATS, enable_live_trading=False)
    return settings.ATS


def make_session(environment: str = "paper", status: str = "running", **extra):
    from trading.sessions.models import TradingSession

    extra.setdefault("account_id", "DU1234567" if environment == "paper" else LIVE_ACCOUNT)
    return TradingSession.objects.create(
        environment=environment,
        status=status,
        started_by="user:test",
        sleeves=[
            {
                "strategy": "ibs_reversion",
                "instrument_id": "QQQ.NASDAQ",
                "bar_spec": "5-SECOND-LAST",
                "params": {},
                "code_hash": "x",
            }
        ],
        risk_caps={"max_notional_per_order": "25000", "max_order_submit_rate": "10/00:00:01"},
        **extra,
    )


def add_event(session, kind: str = "status", **payload):
    from django.utils import timezone

    from trading.sessions.models import SessionEvent

    return SessionEvent.objects.create(
        session=session, environment=session.environment, kind=kind, ts=timezone.now(), payload=payload
    )
