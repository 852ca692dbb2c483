"""What no page may show an operator: a raw ISO stamp or a time without its zone, an unrounded float, or Django's
own date style. Used on the server's HTML (test_formats) and on the page as Chromium draws it (test_layout_browser)."""

from __future__ import annotations

import html as html_lib
import re

# ISO's T, or a time of day not followed by its zone.
ISO_STAMP = re.compile(r"\d{4}-\d\d-\d\d(T\d\d:\d\d|\s\d\d:\d\d(:\d\d)?(?![:\d])(?! UTC))|T\d\d:\d\d:\d\d")
DECIMAL = re.compile(r"(?<![\w.])-?(\d[\d,]*)\.(\d{5,})")
DJANGO_STYLE = re.compile(r"\b(a\.m\.|p\.m\.|midnight|noon)|\b[A-Z][a-z]{2}\. \d{1,2}, \d{4}")


def visible_text(page: str) -> str:
    """What the operator reads: no scripts (json_script data), no tags or attributes (data-value keeps raw numbers)."""
    page = re.sub(r"<script\b.*?</script>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return html_lib.unescape(page)


def long_float(text: str) -> re.Match[str] | None:
    """An unrounded number: five or more decimals beyond 4 significant digits (0.03893 and 0.0001234 are fine)."""
    for found in DECIMAL.finditer(text):
        whole, fraction = found.group(1), found.group(2)
        if whole.strip("0,") or len(fraction.lstrip("0")) > 4:
            return found
    return None
