"""The notification settings: validated at start-up in one line naming the variable (never echoing a webhook URL),
documented in .env.example, and never shown: not in the config's repr, the start-up summary or a debug page."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import environ
import pytest

from ats_site.alert_config import load_email_settings, mailer_entry
from ats_site.config import ConfigError, load_config, public_summary

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "T0KEN-never-shown-7f3a9c"
SECRET_URL = f"https://hooks.slack.example/services/{TOKEN}"
SMTP_PASSWORD = "smtp-pa55word-never-shown-41d2"
VARIABLES = (
    "ATS_ALERT_WEBHOOK_URL",
    "ATS_ALERT_SLACK_WEBHOOK_URL",
    "ATS_ALERT_DISCORD_WEBHOOK_URL",
    "ATS_ALERT_EMAIL_TO",
    "ATS_ALERT_MAX_ATTEMPTS",
    "ATS_ALERT_RETRY_BASE_SECONDS",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "EMAIL_TIMEOUT",
    "DEFAULT_FROM_EMAIL",
)


@pytest.fixture
def clean_env(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    "variables, message",
    [
        (
            {"ATS_ALERT_SLACK_WEBHOOK_URL": "ftp://hooks/T0KEN-never-shown-7f3a9c"},
            "ATS_ALERT_SLACK_WEBHOOK_URL: must be",
        ),
        (
            {"ATS_ALERT_DISCORD_WEBHOOK_URL": "discord.com/api/T0KEN-never-shown-7f3a9c"},
            "ATS_ALERT_DISCORD_WEBHOOK_URL",
        ),
        ({"ATS_ALERT_WEBHOOK_URL": "http://host:port/T0KEN-never-shown-7f3a9c"}, "ATS_ALERT_WEBHOOK_URL: not a valid"),
        ({"ATS_ALERT_EMAIL_TO": "ops@example.com, risk desk"}, "ATS_ALERT_EMAIL_TO: 'risk desk' is not an email"),
        ({"ATS_ALERT_MAX_ATTEMPTS": "0"}, "ATS_ALERT_MAX_ATTEMPTS: must be at least 1"),
        ({"ATS_ALERT_RETRY_BASE_SECONDS": "soon"}, "ATS_ALERT_RETRY_BASE_SECONDS: 'soon' is not a number of seconds"),
        ({"ATS_ALERT_RETRY_BASE_SECONDS": "-1"}, "ATS_ALERT_RETRY_BASE_SECONDS: must be a positive number"),
    ],
)
def test_each_bad_alert_setting_is_one_line_naming_it_and_no_token(clean_env, variables, message):
    for name, value in variables.items():
        clean_env.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_config(environ.Env())
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
    assert "T0KEN" not in str(info.value)


@pytest.mark.parametrize(
    "variables, message",
    [
        ({"EMAIL_PORT": "70000"}, "EMAIL_PORT: port 70000 is out of range"),
        (
            {"EMAIL_USE_TLS": "true", "EMAIL_USE_SSL": "true"},
            "EMAIL_USE_SSL: cannot be true together with EMAIL_USE_TLS",
        ),
        ({"EMAIL_USE_TLS": "maybe"}, "EMAIL_USE_TLS: expected true or false"),
        ({"EMAIL_TIMEOUT": "0"}, "EMAIL_TIMEOUT: must be at least 1 second"),
        ({"EMAIL_HOST": " "}, "EMAIL_HOST: must not be empty"),
        ({"DEFAULT_FROM_EMAIL": "ats"}, "DEFAULT_FROM_EMAIL: 'ats' is not an email address"),
    ],
)
def test_each_bad_mail_setting_is_one_line_naming_it(clean_env, variables, message):
    for name, value in variables.items():
        clean_env.setenv(name, value)
    env = environ.Env()
    with pytest.raises(ConfigError, match=f"^{message}"):
        load_email_settings(lambda name, default: str(env.str(name, default=default)))


def test_defaults_are_off_and_values_are_read(clean_env):
    config = load_config(environ.Env())
    assert (config.alert_webhook_url, config.alert_slack_webhook_url, config.alert_discord_webhook_url) == ("", "", "")
    assert config.alert_email_to == () and config.alert_max_attempts == 6 and config.alert_retry_base_seconds == 5.0
    clean_env.setenv("ATS_ALERT_EMAIL_TO", " ops@example.com,risk@example.com ,")
    clean_env.setenv("ATS_ALERT_SLACK_WEBHOOK_URL", SECRET_URL)
    clean_env.setenv("ATS_ALERT_RETRY_BASE_SECONDS", "0.5")
    config = load_config(environ.Env())
    assert config.alert_email_to == ("ops@example.com", "risk@example.com")
    assert config.alert_slack_webhook_url == SECRET_URL and config.alert_retry_base_seconds == 0.5
    env = environ.Env()
    email = load_email_settings(lambda name, default: str(env.str(name, default=default)))
    assert mailer_entry(email) == {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": "localhost",
            "port": 25,
            "username": "",
            "password": "",
            "use_tls": False,
            "use_ssl": False,
            "timeout": 10,
        },
    }
    assert email.from_email == "ats@localhost"


def test_a_bad_value_stops_manage_py_with_one_line():
    env = {**os.environ, "EMAIL_PORT": "smtp", "ATS_ALERT_DISCORD_WEBHOOK_URL": "x"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "configuration error: ATS_ALERT_DISCORD_WEBHOOK_URL: must be an http:// or https:// URL with a host "
        "(value not shown)"
    )


def test_env_example_documents_every_variable_with_its_default():
    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = dict(line.split("=", 1) for line in lines if line and not line.startswith("#") and "=" in line)
    for name in VARIABLES:
        assert name in documented, f"{name} is not in .env.example"
    assert documented["ATS_ALERT_MAX_ATTEMPTS"] == "6" and documented["ATS_ALERT_RETRY_BASE_SECONDS"] == "5"
    assert documented["EMAIL_PORT"] == "25" and documented["DEFAULT_FROM_EMAIL"] == "ats@localhost"


def test_no_secret_in_the_repr_the_summary_or_a_debug_page(settings):
    from django.test import RequestFactory
    from django.views.debug import technical_500_response

    settings.DEBUG = True
    settings.ATS = dataclasses.replace(
        settings.ATS, alert_slack_webhook_url=SECRET_URL, alert_discord_webhook_url=SECRET_URL
    )
    settings.MAILERS = {"default": {"OPTIONS": {"host": "smtp.example.com", "password": SMTP_PASSWORD}}}
    shown = repr(settings.ATS) + str(public_summary(settings.ATS))
    assert TOKEN not in shown and "alert_slack_webhook_url='********'" in shown
    request = RequestFactory().get("/", ATS_ALERT_SLACK_WEBHOOK_URL=SECRET_URL, EMAIL_HOST_PASSWORD=SMTP_PASSWORD)
    try:
        raise TypeError("boom")
    except TypeError:
        page = technical_500_response(request, *sys.exc_info()).content.decode()
    assert "boom" in page and TOKEN not in page and SMTP_PASSWORD not in page
