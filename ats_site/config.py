"""ATS configuration: read from the environment (and an optional .env), validated once at start-up.

Every problem is a ConfigError whose message is one line naming the variable, so entry points can print
it and exit instead of showing a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import environ

PAPER_ACCOUNT_RE = re.compile(r"^DU\d+$")
LIVE_ACCOUNT_RE = re.compile(r"^U\d+$")
# Nautilus spells rates as "<count>/<HH:MM:SS>", e.g. "10/00:00:01".
RATE_RE = re.compile(r"^(\d+)/(\d{2}):(\d{2}):(\d{2})$")


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message is one line naming the variable."""


@dataclass(frozen=True)
class SubmitRate:
    """An order-submit rate limit: at most `count` orders per `seconds`."""

    count: int
    seconds: int

    @property
    def nautilus(self) -> str:
        """The rate spelled as Nautilus's RiskEngineConfig expects it."""
        h, rest = divmod(self.seconds, 3600)
        m, s = divmod(rest, 60)
        return f"{self.count}/{h:02d}:{m:02d}:{s:02d}"

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


@dataclass(frozen=True)
class RiskCaps:
    """Per-environment risk caps enforced beneath every strategy."""

    max_notional_per_order: Decimal
    max_order_submit_rate: SubmitRate


@dataclass(frozen=True)
class GatewayConfig:
    """Where one IB Gateway (paper or live) listens and which account it must manage."""

    environment: str
    host: str
    port: int
    account_id: str


@dataclass(frozen=True)
class AtsConfig:
    """The validated ATS settings."""

    enable_live_trading: bool
    paper: GatewayConfig
    live: GatewayConfig
    paper_risk: RiskCaps
    live_risk: RiskCaps
    audit_hmac_key: str
    alert_webhook_url: str

    def gateway(self, environment: str) -> GatewayConfig:
        """The gateway settings for 'paper' or 'live'."""
        return {"paper": self.paper, "live": self.live}[environment]

    def risk(self, environment: str) -> RiskCaps:
        """The risk caps for 'paper' or 'live'."""
        return {"paper": self.paper_risk, "live": self.live_risk}[environment]


def parse_rate(name: str, raw: str) -> SubmitRate:
    """Parse a Nautilus rate string like '10/00:00:01'."""
    match = RATE_RE.match(raw.strip())
    if not match:
        raise ConfigError(f"{name}: malformed rate {raw!r}; expected '<count>/HH:MM:SS', e.g. '10/00:00:01'")
    count, h, m, s = (int(g) for g in match.groups())
    if m >= 60 or s >= 60:
        raise ConfigError(f"{name}: malformed rate {raw!r}; minutes and seconds must be below 60")
    seconds = h * 3600 + m * 60 + s
    if count <= 0 or seconds <= 0:
        raise ConfigError(f"{name}: rate {raw!r} must allow at least one order in a positive interval")
    return SubmitRate(count=count, seconds=seconds)


def parse_cap(name: str, raw: str) -> Decimal:
    """Parse a positive money cap."""
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ConfigError(f"{name}: {raw!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise ConfigError(f"{name}: must be a positive amount, got {raw!r}")
    return value


def parse_bool(name: str, raw: str) -> bool:
    """Parse a boolean strictly: a typo in a safety flag must not silently mean 'off' or 'on'."""
    lowered = str(raw).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def parse_port(name: str, raw: str) -> int:
    """Parse a TCP port number."""
    try:
        port = int(str(raw).strip())
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name}: port {port} is out of range 1..65535")
    return port


def _account(name: str, raw: str, pattern: re.Pattern[str], kind: str) -> str:
    value = raw.strip()
    if not pattern.match(value):
        raise ConfigError(f"{name}: {value!r} is not a {kind} account id")
    return value


def check_production_secret_key(key: str) -> None:
    """Refuse a key Django's deploy check would call weak: it signs sessions and password-reset links."""
    if len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure-"):
        raise ConfigError(
            "SECRET_KEY: too weak for DEBUG=false (at least 50 characters, 5 of them distinct, not 'django-insecure-')"
        )


def load_config(env: environ.Env) -> AtsConfig:
    """Read and validate every ATS_* variable; raise ConfigError with a one-line message on the first problem."""

    def raw(name: str, default: str) -> str:
        return str(env.str(name, default=default))

    enable_live = parse_bool("ATS_ENABLE_LIVE_TRADING", raw("ATS_ENABLE_LIVE_TRADING", "false"))
    host = raw("ATS_IB_HOST", "127.0.0.1").strip()
    if not host:
        raise ConfigError("ATS_IB_HOST: must not be empty")
    paper_port = parse_port("ATS_IB_PAPER_PORT", raw("ATS_IB_PAPER_PORT", "4002"))
    live_port = parse_port("ATS_IB_LIVE_PORT", raw("ATS_IB_LIVE_PORT", "4001"))
    if paper_port == live_port:
        raise ConfigError(f"ATS_IB_LIVE_PORT: must differ from ATS_IB_PAPER_PORT (both are {live_port})")
    paper_account = _account(
        "ATS_IB_PAPER_ACCOUNT_ID",
        raw("ATS_IB_PAPER_ACCOUNT_ID", "DU1234567"),
        PAPER_ACCOUNT_RE,
        "paper ('DU' + digits)",
    )
    live_raw = raw("ATS_IB_LIVE_ACCOUNT_ID", "").strip()
    if live_raw:
        live_account = _account("ATS_IB_LIVE_ACCOUNT_ID", live_raw, LIVE_ACCOUNT_RE, "live ('U' + digits)")
    elif enable_live:
        raise ConfigError("ATS_IB_LIVE_ACCOUNT_ID: required when ATS_ENABLE_LIVE_TRADING is true")
    else:
        live_account = ""

    paper_risk = RiskCaps(
        parse_cap("ATS_PAPER_RISK_MAX_NOTIONAL_PER_ORDER", raw("ATS_PAPER_RISK_MAX_NOTIONAL_PER_ORDER", "25000")),
        parse_rate("ATS_PAPER_RISK_MAX_ORDER_SUBMIT_RATE", raw("ATS_PAPER_RISK_MAX_ORDER_SUBMIT_RATE", "10/00:00:01")),
    )
    live_risk = RiskCaps(
        parse_cap("ATS_LIVE_RISK_MAX_NOTIONAL_PER_ORDER", raw("ATS_LIVE_RISK_MAX_NOTIONAL_PER_ORDER", "5000")),
        parse_rate("ATS_LIVE_RISK_MAX_ORDER_SUBMIT_RATE", raw("ATS_LIVE_RISK_MAX_ORDER_SUBMIT_RATE", "2/00:00:01")),
    )
    allow_looser = parse_bool("ATS_ALLOW_LIVE_CAPS_LOOSER", raw("ATS_ALLOW_LIVE_CAPS_LOOSER", "false"))
    if not allow_looser:
        if live_risk.max_notional_per_order > paper_risk.max_notional_per_order:
            raise ConfigError(
                "ATS_LIVE_RISK_MAX_NOTIONAL_PER_ORDER: looser than ATS_PAPER_RISK_MAX_NOTIONAL_PER_ORDER "
                f"({live_risk.max_notional_per_order} > {paper_risk.max_notional_per_order}); "
                "set ATS_ALLOW_LIVE_CAPS_LOOSER=true to allow it"
            )
        if live_risk.max_order_submit_rate.per_second > paper_risk.max_order_submit_rate.per_second:
            raise ConfigError(
                "ATS_LIVE_RISK_MAX_ORDER_SUBMIT_RATE: looser than ATS_PAPER_RISK_MAX_ORDER_SUBMIT_RATE; "
                "set ATS_ALLOW_LIVE_CAPS_LOOSER=true to allow it"
            )

    return AtsConfig(
        enable_live_trading=enable_live,
        paper=GatewayConfig("paper", host, paper_port, paper_account),
        live=GatewayConfig("live", host, live_port, live_account),
        paper_risk=paper_risk,
        live_risk=live_risk,
        audit_hmac_key=raw("ATS_AUDIT_HMAC_KEY", ""),
        alert_webhook_url=raw("ATS_ALERT_WEBHOOK_URL", "").strip(),
    )


def public_summary(config: AtsConfig) -> dict[str, Any]:
    """The settings worth recording at start-up, with every secret reduced to whether it is set."""
    return {
        "enable_live_trading": config.enable_live_trading,
        "paper": {"host": config.paper.host, "port": config.paper.port, "account_id": config.paper.account_id},
        "live": {"host": config.live.host, "port": config.live.port, "account_id": config.live.account_id},
        "paper_risk": {
            "max_notional_per_order": str(config.paper_risk.max_notional_per_order),
            "max_order_submit_rate": config.paper_risk.max_order_submit_rate.nautilus,
        },
        "live_risk": {
            "max_notional_per_order": str(config.live_risk.max_notional_per_order),
            "max_order_submit_rate": config.live_risk.max_order_submit_rate.nautilus,
        },
        "audit_hmac_key": "set" if config.audit_hmac_key else "unset",
        "alert_webhook": "set" if config.alert_webhook_url else "unset",
    }
