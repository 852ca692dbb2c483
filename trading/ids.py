"""Validation of instrument ids (SYMBOL.VENUE) and bar specs (as Nautilus spells them), without importing Nautilus."""

from __future__ import annotations

import re

INSTRUMENT_RE = re.compile(r"^([A-Z0-9][A-Z0-9\-/]{0,31})\.([A-Z][A-Z0-9]{1,15})$")
BAR_SPEC_RE = re.compile(r"^([1-9]\d{0,5})-(MILLISECOND|SECOND|MINUTE|HOUR|DAY|WEEK|MONTH)-(LAST|BID|ASK|MID)$")


class InvalidIdentifier(ValueError):
    """An instrument id or bar spec is malformed; the message is one line."""


def validate_instrument_id(text: str) -> str:
    """Return the instrument id if it reads SYMBOL.VENUE (e.g. QQQ.NASDAQ), else raise InvalidIdentifier."""
    if text is not None and not isinstance(text, str):
        raise InvalidIdentifier(
            f"malformed instrument id: expected a string like QQQ.NASDAQ, got {type(text).__name__}"
        )
    value = (text or "").strip()
    if not INSTRUMENT_RE.match(value):
        raise InvalidIdentifier(f"malformed instrument id {text!r}: expected SYMBOL.VENUE in capitals, e.g. QQQ.NASDAQ")
    return value


def validate_bar_spec(text: str) -> str:
    """Return the bar spec if it reads STEP-AGGREGATION-PRICE (e.g. 1-DAY-LAST), else raise InvalidIdentifier."""
    if text is not None and not isinstance(text, str):
        raise InvalidIdentifier(f"malformed bar spec: expected a string like 1-DAY-LAST, got {type(text).__name__}")
    value = (text or "").strip()
    if not BAR_SPEC_RE.match(value):
        raise InvalidIdentifier(
            f"malformed bar spec {text!r}: expected e.g. 1-DAY-LAST, 5-SECOND-LAST or 1-MINUTE-LAST"
        )
    return value
