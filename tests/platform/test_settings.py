"""Settings are validated at start-up: each problem is one line naming the variable, never a traceback."""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import environ
import pytest

from ats_site.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "variables, message",
    [
        (
            {"ATS_IB_LIVE_ACCOUNT_ID": "DU123"},
            "ATS_IB_LIVE_ACCOUNT_ID: 'DU123' is not a live ('U' + digits) account id",
        ),
        (
            {"ATS_IB_PAPER_ACCOUNT_ID": "U123"},
            "ATS_IB_PAPER_ACCOUNT_ID: 'U123' is not a paper ('DU' + digits) account id",
        ),
        ({"ATS_SESSION_START_TIMEOUT": "soon"}, "ATS_SESSION_START_TIMEOUT: 'soon' is not a whole number"),
        ({"ATS_SESSION_START_TIMEOUT": "0"}, "ATS_SESSION_START_TIMEOUT: must be at least 1, got '0'"),
        (
            {"ATS_NODE_LOG_LEVEL": "loud"},
            "ATS_NODE_LOG_LEVEL: 'loud' is not a log level (DEBUG, INFO, WARNING, ERROR, OFF)",
        ),
        (
            {"ATS_PAPER_RISK_MAX_ORDER_SUBMIT_RATE": "10 per second"},
            "ATS_PAPER_RISK_MAX_ORDER_SUBMIT_RATE: malformed rate",
        ),
        ({"ATS_LIVE_RISK_MAX_ORDER_SUBMIT_RATE": "2/00:61:00"}, "ATS_LIVE_RISK_MAX_ORDER_SUBMIT_RATE: malformed rate"),
        ({"ATS_LIVE_RISK_MAX_ORDER_SUBMIT_RATE": "0/00:00:01"}, "ATS_LIVE_RISK_MAX_ORDER_SUBMIT_RATE: rate"),
        ({"ATS_PAPER_RISK_MAX_NOTIONAL_PER_ORDER": "0"}, "ATS_PAPER_RISK_MAX_NOTIONAL_PER_ORDER: must be a positive"),
        ({"ATS_LIVE_RISK_MAX_NOTIONAL_PER_ORDER": "-5"}, "ATS_LIVE_RISK_MAX_NOTIONAL_PER_ORDER: must be a positive"),
        (
            {"ATS_LIVE_RISK_MAX_NOTIONAL_PER_ORDER": "lots"},
            "ATS_LIVE_RISK_MAX_NOTIONAL_PER_ORDER: 'lots' is not a number",
        ),
        ({"ATS_LIVE_RISK_MAX_NOTIONAL_PER_ORDER": "30000"}, "ATS_LIVE_RISK_MAX_NOTIONAL_PER_ORDER: looser than"),
        ({"ATS_LIVE_RISK_MAX_ORDER_SUBMIT_RATE": "50/00:00:01"}, "ATS_LIVE_RISK_MAX_ORDER_SUBMIT_RATE: looser than"),
        ({"ATS_ENABLE_LIVE_TRADING": "ture"}, "ATS_ENABLE_LIVE_TRADING: expected true or false"),
        ({"ATS_ENABLE_LIVE_TRADING": "true"}, "ATS_IB_LIVE_ACCOUNT_ID: required when ATS_ENABLE_LIVE_TRADING"),
        ({"ATS_IB_PAPER_PORT": "99999"}, "ATS_IB_PAPER_PORT: port 99999 is out of range"),
        ({"ATS_IB_LIVE_PORT": "4002"}, "ATS_IB_LIVE_PORT: must differ from ATS_IB_PAPER_PORT"),
        ({"ATS_PAPER_RISK_MAX_PRICE_DEVIATION": "1.5"}, "ATS_PAPER_RISK_MAX_PRICE_DEVIATION: must be a fraction"),
        ({"ATS_LIVE_RISK_MAX_PRICE_DEVIATION": "20%"}, "ATS_LIVE_RISK_MAX_PRICE_DEVIATION: looser than"),
        ({"ATS_PAPER_RISK_MAX_OPEN_ORDERS": "0"}, "ATS_PAPER_RISK_MAX_OPEN_ORDERS: must be at least 1"),
        ({"ATS_PAPER_RISK_MAX_OPEN_ORDERS": "many"}, "ATS_PAPER_RISK_MAX_OPEN_ORDERS: 'many' is not a whole number"),
        ({"ATS_LIVE_RISK_DUPLICATE_WINDOW": "0.5"}, "ATS_LIVE_RISK_DUPLICATE_WINDOW: looser than"),
        ({"ATS_LIVE_RISK_MAX_DAILY_LOSS": "9999"}, "ATS_LIVE_RISK_MAX_DAILY_LOSS: looser than"),
        ({"ATS_PAPER_RISK_MAX_DRAWDOWN": "-1"}, "ATS_PAPER_RISK_MAX_DRAWDOWN: must be a positive"),
        ({"ATS_ACCOUNT_CURRENCY": "dollars"}, "ATS_ACCOUNT_CURRENCY: 'DOLLARS' is not a three-letter currency code"),
    ],
)
def test_each_bad_value_is_a_one_line_error_naming_the_variable(monkeypatch, variables, message):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_config(environ.Env())
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_defaults_and_an_explicit_override(monkeypatch):
    config = load_config(environ.Env())
    assert config.enable_live_trading is False
    assert (config.paper.port, config.live.port, config.paper.account_id) == (4002, 4001, "DU1234567")
    assert config.paper_risk.max_notional_per_order == 25000 and config.live_risk.max_notional_per_order == 5000
    assert config.live_risk.max_order_submit_rate.nautilus == "2/00:00:01"
    monkeypatch.setenv("ATS_LIVE_RISK_MAX_NOTIONAL_PER_ORDER", "30000")
    monkeypatch.setenv("ATS_ALLOW_LIVE_CAPS_LOOSER", "true")
    assert load_config(environ.Env()).live_risk.max_notional_per_order == 30000


def _manage(*args, **env):
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_manage_py_prints_one_line_and_no_traceback():
    result = _manage("check", ATS_IB_LIVE_ACCOUNT_ID="DU999")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "configuration error: ATS_IB_LIVE_ACCOUNT_ID: 'DU999' is not a live ('U' + digits) account id"
    )
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_secret_key_in_production_is_one_line():
    result = _manage("check", DEBUG="false", SECRET_KEY="")
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: SECRET_KEY: required when DEBUG is false"


@pytest.mark.parametrize("key", ["   ", "short-key", "a" * 60, "django-insecure-" + "Zq9-x!v" * 10])
def test_a_weak_secret_key_in_production_is_one_line(key):
    result = _manage("check", DEBUG="false", SECRET_KEY=key)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("configuration error: SECRET_KEY: too weak for DEBUG=false")


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY="k" + "Zq9-x!v" * 10,
        ALLOWED_HOSTS="ats.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        ATS_AUDIT_HMAC_KEY="h" * 48,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_warns_without_an_audit_hmac_key(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        DEBUG="false",
        SECRET_KEY="k" + "Zq9-x!v" * 10,
        ALLOWED_HOSTS="ats.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        ATS_AUDIT_HMAC_KEY="",
    )
    assert "(audit.W001) ATS_AUDIT_HMAC_KEY is not set" in result.stderr + result.stdout


def _without(*names: str) -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in names}


def test_debug_is_off_by_default_so_no_secret_key_refuses_to_start():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=_without("DEBUG", "SECRET_KEY"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: SECRET_KEY: required when DEBUG is false"


SHOW_KEYS = (
    "import subprocess, sys; from django.conf import settings; print(settings.SECRET_KEY); "
    "print(subprocess.run([sys.executable, '-c', 'import os; print(os.environ[\"SECRET_KEY\"])'], "
    "capture_output=True, text=True, check=True).stdout.strip())"
)


def test_debug_without_a_key_shares_one_random_key_per_installation():
    keys = []
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", SHOW_KEYS],
            cwd=ROOT,
            env={**_without("SECRET_KEY"), "DEBUG": "true"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        own, child = result.stdout.split()
        assert own == child  # a process it starts (daphne, a worker, a session host) signs with the same key
        assert len(own) >= 50
        keys.append(own)
    # A command in another terminal (queueing a sweep or a gauntlet for make run's workers) signs as they check.
    assert keys[0] == keys[1]
    key_file = ROOT / "var" / "dev-secret-key"
    assert key_file.read_text().strip() == keys[0] and key_file.stat().st_mode & 0o777 == 0o600


def test_the_development_key_is_random_per_installation_and_one_under_a_race(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from ats_site.config import development_secret_key

    first, second = tmp_path / "a" / "dev-secret-key", tmp_path / "b" / "dev-secret-key"
    with ThreadPoolExecutor(8) as pool:
        racing = set(pool.map(lambda _: development_secret_key(first), range(16)))
    assert len(racing) == 1 and development_secret_key(second) not in racing  # never a fixed, known key
    assert sorted(p.name for p in first.parent.iterdir()) == ["dev-secret-key"]  # no temporary file left


def test_risk_limits_round_trip_and_a_session_record_missing_one_is_refused():
    caps = load_config(environ.Env()).paper_risk
    assert type(caps).from_dict(caps.as_dict()) == caps
    with pytest.raises(ConfigError, match="the session recorded no max_price_deviation, max_position_notional"):
        type(caps).from_dict({"max_notional_per_order": "25000", "max_order_submit_rate": "10/00:00:01"})


def test_a_collar_written_as_a_percentage_is_a_fraction(monkeypatch):
    monkeypatch.setenv("ATS_PAPER_RISK_MAX_PRICE_DEVIATION", "7.5%")
    assert load_config(environ.Env()).paper_risk.max_price_deviation == Decimal("0.075")
