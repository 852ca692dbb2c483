"""Finding 1: no secret is rendered on a debug page or in the config's repr, even with DEBUG=true."""

from __future__ import annotations

import dataclasses
import logging
import sys

import pytest
from django.test import RequestFactory
from django.views.debug import technical_500_response

HMAC_KEY = "hmac-key-that-must-never-show-5f2c"
WEBHOOK = "https://hooks.example/T000/B000/webhook-secret-9d1e"
DATABASE_URL = "postgres://ats_app:db-password-never-shown@db:5432/ats"
REDIS_URL = "redis://:redis-password-never-shown@redis:6379/0"
SECRETS = (HMAC_KEY, WEBHOOK, "webhook-secret-9d1e", "db-password-never-shown", "redis-password-never-shown")


@pytest.fixture
def secret_settings(settings):
    settings.DEBUG = True
    settings.ATS = dataclasses.replace(settings.ATS, audit_hmac_key=HMAC_KEY, alert_webhook_url=WEBHOOK)
    settings.REDIS_URL = REDIS_URL
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": REDIS_URL}
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "x", "CONFIG": {"hosts": [REDIS_URL]}}}
    return settings


def test_config_repr_masks_secrets_and_still_says_whether_they_are_set(secret_settings):
    shown = repr(secret_settings.ATS)
    assert HMAC_KEY not in shown and "webhook-secret" not in shown
    assert "audit_hmac_key='********'" in shown and "alert_webhook_url='********'" in shown
    assert "account_currency='USD'" in shown  # the rest is still there for debugging
    empty = dataclasses.replace(secret_settings.ATS, audit_hmac_key="")
    assert "audit_hmac_key=''" in repr(empty)


def _debug_page() -> str:
    # META as a WSGI development server fills it: the process environment, secrets included.
    request = RequestFactory().post(
        "/paper/start",
        {"sleeves": "[]"},
        ATS_AUDIT_HMAC_KEY=HMAC_KEY,
        ATS_ALERT_WEBHOOK_URL=WEBHOOK,
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
    )
    try:
        raise TypeError("unhashable type: 'list'")
    except TypeError:
        return technical_500_response(request, *sys.exc_info()).content.decode()


def test_the_debug_page_shows_no_ats_secret(secret_settings):
    page = _debug_page()
    assert "unhashable type" in page  # it is the debug page
    for secret in SECRETS:
        assert secret not in page, f"{secret} is on the debug page"
    assert "ATS_AUDIT_HMAC_KEY" in page and "********************" in page  # named, value hidden


def test_the_startup_summary_and_logged_config_hold_no_secret(secret_settings, caplog):
    from ats_site.config import public_summary

    caplog.set_level(logging.INFO)
    logging.getLogger("ats").info("config %r summary %s", secret_settings.ATS, public_summary(secret_settings.ATS))
    for secret in SECRETS:
        assert secret not in caplog.text
