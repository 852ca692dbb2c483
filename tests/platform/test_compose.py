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
                assert "${POSTGRES_PASSWORD" in value
