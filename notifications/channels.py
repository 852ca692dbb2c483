"""The channels configured in this process and how one alert is handed to each: HTTP for the webhooks, Django's
mail framework (its default mailer, MAILERS, made from the EMAIL_* variables) for email. Addresses and secrets are
read from the settings when used, never stored; what is shown or stored is the redacted destination."""

from __future__ import annotations

import hashlib
import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage

from notifications.models import Channel
from notifications.payloads import (
    AlertMessage,
    discord_body,
    email_body,
    email_subject,
    slack_body,
    webhook_body,
)
from notifications.redact import redacted, secret_parts

HTTP_TIMEOUT_SECONDS = 5.0  # a webhook that has not answered by then is retried later
RETRYABLE_HTTP_4XX = frozenset({408, 425, 429})  # a client error worth trying again; every other 4xx is final
# Kinds that go to the ATS webhook only and are not audited: the audit head itself (auditing its delivery would
# move the head it reports, every minute, for ever; email, Slack and Discord would be spam).
WEBHOOK_ONLY_KINDS = frozenset({"audit_anchor"})
MAILER = "default"  # the MAILERS alias email alerts are sent with


class DeliveryError(Exception):
    """One attempt failed; `permanent` when trying again cannot help (a 404, a refused recipient)."""

    def __init__(self, reason: str, *, permanent: bool = False):
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True)
class Target:
    """One configured channel: where it goes (redacted for display), its fingerprint, and how to reach it."""

    channel: str
    destination: str
    key: str
    url: str = ""
    recipients: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Target({self.channel} → {self.destination})"  # never the URL


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\n".join(("ats-notification-destination", *parts)).encode()).hexdigest()[:32]


def _webhook(channel: str, url: str) -> Target:
    return Target(channel, redacted(url), _fingerprint(channel, url), url=url)


def configured_targets() -> list[Target]:
    """Every channel configured in this process, in a fixed order."""
    ats = settings.ATS
    targets = []
    if ats.alert_webhook_url:
        targets.append(_webhook(Channel.WEBHOOK, ats.alert_webhook_url))
    if ats.alert_email_to:
        options = _mailer_options()
        server = f"{options.get('host', '?')}:{options.get('port', '?')}"
        recipients = tuple(ats.alert_email_to)
        targets.append(
            Target(
                Channel.EMAIL,
                f"{', '.join(recipients)} via {server}",
                _fingerprint(Channel.EMAIL, ",".join(recipients), server, str(options.get("username") or "")),
                recipients=recipients,
            )
        )
    if ats.alert_slack_webhook_url:
        targets.append(_webhook(Channel.SLACK, ats.alert_slack_webhook_url))
    if ats.alert_discord_webhook_url:
        targets.append(_webhook(Channel.DISCORD, ats.alert_discord_webhook_url))
    return targets


def targets_for(kind: str) -> list[Target]:
    """The channels an alert of this kind goes to."""
    targets = configured_targets()
    if kind in WEBHOOK_ONLY_KINDS:
        return [t for t in targets if t.channel == Channel.WEBHOOK]
    return targets


def secrets_in_use() -> list[str]:
    """Everything that must never appear in a log line, an audit entry or a page: webhook tokens, SMTP password."""
    ats = settings.ATS
    found: list[str] = []
    for url in (ats.alert_webhook_url, ats.alert_slack_webhook_url, ats.alert_discord_webhook_url):
        if url:
            found += secret_parts(url)
    password = _mailer_options().get("password")
    if password:
        found.append(str(password))
    return found


def _mailer_options() -> dict[str, Any]:
    """The default mailer's options (host, port, username, password, ...); empty for a backend without them."""
    return dict(getattr(settings, "MAILERS", {}).get(MAILER, {}).get("OPTIONS", {}))


def deliver(target: Target, alert: AlertMessage) -> None:
    """Hand one alert to one channel; raise DeliveryError when it was not accepted."""
    if target.channel == Channel.EMAIL:
        _send_email(target.recipients, alert)
        return
    body: dict[str, Any]
    if target.channel == Channel.SLACK:
        body = slack_body(alert)
    elif target.channel == Channel.DISCORD:
        body = discord_body(alert)
    else:
        body = webhook_body(alert, datetime.now(UTC).isoformat())
    _post_json(target.url, body)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a redirect is an answer we do not follow: the alert's body goes nowhere else


_opener = urllib.request.build_opener(_NoRedirects)


def _post_json(url: str, body: dict[str, Any]) -> None:
    data = json.dumps(body, default=str).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", "User-Agent": "ats-notifications"}
    )
    try:
        with _opener.open(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            response.read(1024)
    except urllib.error.HTTPError as exc:
        permanent = exc.code < 500 and exc.code not in RETRYABLE_HTTP_4XX
        raise DeliveryError(f"HTTP {exc.code}", permanent=permanent) from None
    except Exception as exc:  # refused, unreachable, timed out: worth another try
        # str(exc) of URLError/socket errors names no URL; keep only the class and the reason to be safe.
        reason = getattr(exc, "reason", None) or exc
        raise DeliveryError(f"{type(exc).__name__}: {reason}") from None


def _send_email(recipients: tuple[str, ...], alert: AlertMessage) -> None:
    message = EmailMessage(
        subject=email_subject(alert),
        body=email_body(alert),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(recipients),
    )
    try:
        message.send(using=MAILER)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"SMTP refused the recipients {', '.join(exc.recipients)}", permanent=True) from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise DeliveryError(f"SMTP {exc.smtp_code} {text}", permanent=exc.smtp_code >= 500) from None
    except Exception as exc:  # connection refused, timed out, dropped: worth another try
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
