"""The production compose file: the services and profiles, loopback-only ports, no inline secrets."""

import re
from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.yml"
SECRETS = ("PASSWORD", "SECRET", "TWS_USERID", "HMAC")


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_services_and_gateway_profiles():
    services = _compose()["services"]
    assert {"postgres", "redis", "web", "worker", "ib-gateway-paper", "ib-gateway-live"} <= set(services)
    assert services["ib-gateway-paper"]["profiles"] == ["ib"]
    assert services["ib-gateway-live"]["profiles"] == ["ib-live"]
    assert services["ib-gateway-paper"]["environment"]["TRADING_MODE"] == "paper"
    assert services["ib-gateway-live"]["environment"]["TRADING_MODE"] == "live"
    assert "4002:4004" in " ".join(services["ib-gateway-paper"]["ports"])
    assert "4001:4003" in " ".join(services["ib-gateway-live"]["ports"])
    for name in ("postgres", "redis", "web", "ib-gateway-paper", "ib-gateway-live"):
        assert "healthcheck" in services[name], name
    for name in ("ib-gateway-paper", "ib-gateway-live"):
        env = services[name]["environment"]
        for key in (
            "TWS_USERID",
            "TWS_PASSWORD",
            "VNC_SERVER_PASSWORD",
            "TWOFA_TIMEOUT_ACTION",
            "AUTO_RESTART_TIME",
            "RELOGIN_AFTER_TWOFA_TIMEOUT",
        ):
            assert key in env, (name, key)


def test_every_published_port_binds_loopback():
    for name, service in _compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_no_secret_is_inline():
    for name, service in _compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in SECRETS):
                assert re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]*|:-)?\}", str(value)), f"{name}.{key} is inline"
        for key, value in (service.get("environment") or {}).items():
            if key == "DATABASE_URL":
                assert "${ATS_DB_" in value and "POSTGRES_PASSWORD" not in value, f"{name} connects as the superuser"


def test_migrations_run_as_the_owner_and_the_app_as_the_least_privileged_role():
    services = _compose()["services"]
    assert services["migrate"]["environment"]["DATABASE_URL"].startswith("postgres://ats_owner:")
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    for name in ("web", "worker"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://ats_app:") and env["ATS_DB_APP_ROLE"] == "ats_app"
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert "migrate" not in " ".join(services[name]["command"])
        assert env["ATS_AUDIT_ANCHOR_FILE"].startswith("/anchors/") and "anchors:/anchors" in services[name]["volumes"]
    assert "./postgres-init:/docker-entrypoint-initdb.d:ro" in services["postgres"]["volumes"]
    init = (COMPOSE.parent / "postgres-init" / "10-ats-roles.sh").read_text()
    assert "CREATE ROLE ats_app LOGIN NOSUPERUSER" in init and "ALTER DATABASE ats OWNER TO ats_owner" in init
