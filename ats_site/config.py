"""ATS configuration: read from the environment (and an optional .env), validated once at start-up.

Every problem is a ConfigError whose message is one line naming the variable, so entry points can print
it and exit instead of showing a traceback.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import environ

from ats_site.alert_config import parse_positive_seconds, parse_recipients, parse_webhook_url
from ats_site.config_parsing import ConfigError, parse_bool, parse_count, parse_port
from ats_site.vnc_config import DEFAULT_TIMEOUT, VncAddress, parse_vnc_address, parse_vnc_timeout, vnc_setting

__all__ = [
    "ConfigError",
    "parse_bool",
    "parse_count",
    "parse_port",
]  # re-exported: settings and callers import them here

PAPER_ACCOUNT_RE = re.compile(r"^DU\d+$")
LIVE_ACCOUNT_RE = re.compile(r"^U\d+$")
# Nautilus spells rates as "<count>/<HH:MM:SS>", e.g. "10/00:00:01".
RATE_RE = re.compile(r"^(\d+)/(\d{2}):(\d{2}):(\d{2})$")


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
    """Per-environment risk limits enforced beneath every strategy; money is in the account currency."""

    max_notional_per_order: Decimal  # one order, valued at the worse of its own price and the market
    max_order_submit_rate: SubmitRate  # Nautilus's RiskEngine throttle
    max_price_deviation: Decimal  # a limit or stop price further than this fraction from the market is refused
    max_position_notional: Decimal  # per instrument, working orders counted as if filled
    max_gross_exposure: Decimal  # the session's instruments together, working orders counted as if filled
    max_open_orders: int  # working orders at the broker, this order included
    duplicate_window_seconds: Decimal  # the same instrument, side and quantity again from a sleeve within this
    max_daily_loss: Decimal  # realized + unrealized since the trading day's start: the loss breaker trips
    max_drawdown: Decimal  # from the session's equity peak: the loss breaker trips
    max_account_daily_loss: Decimal  # every session on the account together, since the day's start
    max_account_drawdown: Decimal  # every session on the account together, from the day's peak

    def as_dict(self) -> dict[str, str]:
        """The limits as strings, as a session records the ones in force."""
        return {field: _shown(getattr(self, field)) for field, *_ in RISK_LIMITS}

    @classmethod
    def from_dict(cls, values: dict[str, str]) -> RiskCaps:
        """The limits a session recorded (see as_dict); a record missing one is refused, never filled in."""
        missing = [name for name in cls.__dataclass_fields__ if name not in values]
        if missing:
            raise ConfigError(f"the session recorded no {', '.join(missing)} limit; start a new session")
        return cls(**{field: parse(field, values[field]) for field, _, _, _, parse, _ in RISK_LIMITS})


@dataclass(frozen=True)
class GatewayConfig:
    """Where one IB Gateway (paper or live) listens and which account it must manage."""

    environment: str
    host: str
    port: int
    account_id: str
    vnc: VncAddress | None = None  # the gateway's screen over VNC (ATS_IB_<ENV>_VNC); None = not configured


# Fields of AtsConfig that are secrets: never rendered, logged or shown on a debug page.
SECRET_FIELDS = frozenset(
    {"audit_hmac_key", "alert_webhook_url", "alert_slack_webhook_url", "alert_discord_webhook_url"}
)


@dataclass(frozen=True, repr=False)
class AtsConfig:
    """The validated ATS settings."""

    enable_live_trading: bool
    paper: GatewayConfig
    live: GatewayConfig
    paper_risk: RiskCaps
    live_risk: RiskCaps
    account_currency: str
    audit_hmac_key: str
    alert_webhook_url: str
    audit_anchor_file: str = ""  # append-only file the audit chain head is published to ("" = not published)
    db_app_role: str = ""  # PostgreSQL role the app runs as; migrate grants it least privilege ("" = no grants)
    session_start_timeout: int = 90  # seconds a node gets to reconcile and start trading before the session fails
    node_log_level: str = "INFO"  # the Nautilus node's log level in session hosts
    alert_slack_webhook_url: str = ""  # Slack-compatible incoming webhook ({"text": ...}); "" = off
    alert_discord_webhook_url: str = ""  # Discord-compatible webhook ({"content": ...}); "" = off
    alert_email_to: tuple[str, ...] = ()  # alert recipients, sent with the default mailer (EMAIL_* variables); () = off
    alert_max_attempts: int = 6  # delivery attempts per alert and channel before it is given up (and audited so)
    alert_retry_base_seconds: float = 5.0  # the first retry's delay; each next one doubles (capped)
    vnc_timeout: float = DEFAULT_TIMEOUT  # seconds a gateway screenshot may take before it is given up

    def __repr__(self) -> str:
        """Every field, with secrets reduced to whether they are set (debug pages and logs show this repr)."""
        shown = (
            f"{f.name}={_masked(getattr(self, f.name)) if f.name in SECRET_FIELDS else repr(getattr(self, f.name))}"
            for f in fields(self)
        )
        return f"AtsConfig({', '.join(shown)})"

    def gateway(self, environment: str) -> GatewayConfig:
        """The gateway settings for 'paper' or 'live'."""
        return {"paper": self.paper, "live": self.live}[environment]

    def risk(self, environment: str) -> RiskCaps:
        """The risk caps for 'paper' or 'live'."""
        return {"paper": self.paper_risk, "live": self.live_risk}[environment]


def _masked(value: str) -> str:
    return "'********'" if value else "''"


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


def parse_fraction(name: str, raw: str) -> Decimal:
    """Parse a fraction in (0, 1), written 0.1 or 10%."""
    text = str(raw).strip()
    percent = text.endswith("%")
    try:
        value = Decimal(text.removesuffix("%").strip())
    except InvalidOperation:
        raise ConfigError(f"{name}: {raw!r} is not a number") from None
    if percent:
        value /= 100
    if not value.is_finite() or not 0 < value < 1:
        raise ConfigError(f"{name}: must be a fraction between 0 and 1 (e.g. 0.10 or 10%), got {raw!r}")
    return value


# Each limit: (field, environment-variable suffix, paper default, live default, parser, label). Live is tighter.
# console/limits.py writes each value for the pages ("25,000.00 USD per order").
RISK_LIMITS: tuple[tuple[str, str, str, str, Callable[[str, str], Any], str], ...] = (
    ("max_notional_per_order", "MAX_NOTIONAL_PER_ORDER", "25000", "5000", parse_cap, "max notional"),
    ("max_order_submit_rate", "MAX_ORDER_SUBMIT_RATE", "10/00:00:01", "2/00:00:01", parse_rate, "max submit rate"),
    ("max_price_deviation", "MAX_PRICE_DEVIATION", "0.10", "0.05", parse_fraction, "price collar"),
    ("max_position_notional", "MAX_POSITION_NOTIONAL", "50000", "10000", parse_cap, "max position"),
    ("max_gross_exposure", "MAX_GROSS_EXPOSURE", "100000", "20000", parse_cap, "max gross exposure"),
    ("max_open_orders", "MAX_OPEN_ORDERS", "20", "5", parse_count, "max open orders"),
    ("duplicate_window_seconds", "DUPLICATE_WINDOW", "1", "1", parse_cap, "duplicate-order window"),
    ("max_daily_loss", "MAX_DAILY_LOSS", "2500", "500", parse_cap, "max daily loss (breaker)"),
    ("max_drawdown", "MAX_DRAWDOWN", "5000", "1000", parse_cap, "max drawdown (breaker)"),
    ("max_account_daily_loss", "MAX_ACCOUNT_DAILY_LOSS", "5000", "1000", parse_cap, "account max daily loss (breaker)"),
    ("max_account_drawdown", "MAX_ACCOUNT_DRAWDOWN", "10000", "2000", parse_cap, "account max drawdown (breaker)"),
)


def _looseness(field: str, value: Any) -> Decimal:
    """A number that grows as the limit loosens, to compare live against paper."""
    if isinstance(value, SubmitRate):
        return Decimal(value.count) / Decimal(value.seconds)
    if field == "duplicate_window_seconds":  # a shorter window lets more duplicates through
        return -Decimal(value)
    return Decimal(value)


def _account(name: str, raw: str, pattern: re.Pattern[str], kind: str) -> str:
    value = raw.strip()
    if not pattern.match(value):
        raise ConfigError(f"{name}: {value!r} is not a {kind} account id")
    return value


def development_secret_key(path: Path) -> str:
    """The installation's development key: read from `path`, or made at random and written there (0600) once,
    atomically, so processes starting together agree on it."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(50))
    try:
        os.link(candidate, path)  # fails if another process won the race: then its key is the key
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    return path.read_text().strip()


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

    paper_risk = _risk_caps(raw, "PAPER")
    live_risk = _risk_caps(raw, "LIVE")
    allow_looser = parse_bool("ATS_ALLOW_LIVE_CAPS_LOOSER", raw("ATS_ALLOW_LIVE_CAPS_LOOSER", "false"))
    if not allow_looser:
        for field, suffix, *_ in RISK_LIMITS:
            live, paper = getattr(live_risk, field), getattr(paper_risk, field)
            if _looseness(field, live) > _looseness(field, paper):
                raise ConfigError(
                    f"ATS_LIVE_RISK_{suffix}: looser than ATS_PAPER_RISK_{suffix} ({_shown(live)} vs {_shown(paper)}); "
                    "set ATS_ALLOW_LIVE_CAPS_LOOSER=true to allow it"
                )
    paper_vnc, live_vnc = (parse_vnc_address(vnc_setting(e), raw(vnc_setting(e), "")) for e in ("paper", "live"))
    if paper_vnc and live_vnc and paper_vnc.port == live_vnc.port:  # loopback both: one port is one screen
        raise ConfigError(
            f"ATS_IB_LIVE_VNC: must differ from ATS_IB_PAPER_VNC (both on port {live_vnc.port}): "
            "the live gateway's screen must not show as paper's"
        )
    currency = raw("ATS_ACCOUNT_CURRENCY", "USD").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ConfigError(f"ATS_ACCOUNT_CURRENCY: {currency!r} is not a three-letter currency code")

    return AtsConfig(
        enable_live_trading=enable_live,
        paper=GatewayConfig("paper", host, paper_port, paper_account, paper_vnc),
        live=GatewayConfig("live", host, live_port, live_account, live_vnc),
        paper_risk=paper_risk,
        live_risk=live_risk,
        account_currency=currency,
        audit_hmac_key=raw("ATS_AUDIT_HMAC_KEY", ""),
        alert_webhook_url=parse_webhook_url("ATS_ALERT_WEBHOOK_URL", raw("ATS_ALERT_WEBHOOK_URL", "")),
        audit_anchor_file=raw("ATS_AUDIT_ANCHOR_FILE", "var/audit-anchors.jsonl").strip(),
        db_app_role=_role_name("ATS_DB_APP_ROLE", raw("ATS_DB_APP_ROLE", "")),
        session_start_timeout=parse_count("ATS_SESSION_START_TIMEOUT", raw("ATS_SESSION_START_TIMEOUT", "90")),
        node_log_level=_log_level("ATS_NODE_LOG_LEVEL", raw("ATS_NODE_LOG_LEVEL", "INFO")),
        alert_slack_webhook_url=parse_webhook_url(
            "ATS_ALERT_SLACK_WEBHOOK_URL", raw("ATS_ALERT_SLACK_WEBHOOK_URL", "")
        ),
        alert_discord_webhook_url=parse_webhook_url(
            "ATS_ALERT_DISCORD_WEBHOOK_URL", raw("ATS_ALERT_DISCORD_WEBHOOK_URL", "")
        ),
        alert_email_to=parse_recipients("ATS_ALERT_EMAIL_TO", raw("ATS_ALERT_EMAIL_TO", "")),
        alert_max_attempts=parse_count("ATS_ALERT_MAX_ATTEMPTS", raw("ATS_ALERT_MAX_ATTEMPTS", "6")),
        alert_retry_base_seconds=parse_positive_seconds(
            "ATS_ALERT_RETRY_BASE_SECONDS", raw("ATS_ALERT_RETRY_BASE_SECONDS", "5")
        ),
        vnc_timeout=parse_vnc_timeout("ATS_VNC_TIMEOUT", raw("ATS_VNC_TIMEOUT", f"{DEFAULT_TIMEOUT:g}")),
    )


def _log_level(name: str, raw: str) -> str:
    level = raw.strip().upper()
    if level not in ("TRACE", "DEBUG", "INFO", "WARNING", "WARN", "ERROR", "OFF"):
        raise ConfigError(f"{name}: {raw!r} is not a log level (DEBUG, INFO, WARNING, ERROR, OFF)")
    return level


def _role_name(name: str, raw: str) -> str:
    """A PostgreSQL role name, plain identifiers only: it is spliced into GRANT statements."""
    value = raw.strip()
    if value and not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
        raise ConfigError(f"{name}: {value!r} is not a plain lowercase role name (letters, digits, underscore)")
    return value


def _shown(value: Any) -> str:
    return value.nautilus if isinstance(value, SubmitRate) else str(value)


def _risk_caps(raw: Callable[[str, str], str], environment: str) -> RiskCaps:
    """Read one environment's limits (ATS_PAPER_RISK_* or ATS_LIVE_RISK_*)."""
    values = {}
    for field, suffix, paper_default, live_default, parse, _ in RISK_LIMITS:
        name = f"ATS_{environment}_RISK_{suffix}"
        values[field] = parse(name, raw(name, paper_default if environment == "PAPER" else live_default))
    return RiskCaps(**values)


def public_summary(config: AtsConfig) -> dict[str, Any]:
    """The settings worth recording at start-up, with every secret reduced to whether it is set."""
    return {
        "enable_live_trading": config.enable_live_trading,
        "paper": _gateway_summary(config.paper),
        "live": _gateway_summary(config.live),
        "paper_risk": config.paper_risk.as_dict(),
        "live_risk": config.live_risk.as_dict(),
        "account_currency": config.account_currency,
        "audit_hmac_key": "set" if config.audit_hmac_key else "unset",
        "alert_webhook": "set" if config.alert_webhook_url else "unset",
        "alert_slack_webhook": "set" if config.alert_slack_webhook_url else "unset",
        "alert_discord_webhook": "set" if config.alert_discord_webhook_url else "unset",
        "alert_email_to": list(config.alert_email_to),
        "alert_retries": {"max_attempts": config.alert_max_attempts, "base_seconds": config.alert_retry_base_seconds},
        "audit_anchor_file": config.audit_anchor_file,
        "db_app_role": config.db_app_role,
        "vnc_timeout": config.vnc_timeout,
    }


def _gateway_summary(gateway: GatewayConfig) -> dict[str, Any]:
    return {
        "host": gateway.host,
        "port": gateway.port,
        "account_id": gateway.account_id,
        "vnc": str(gateway.vnc) if gateway.vnc else "",
    }
