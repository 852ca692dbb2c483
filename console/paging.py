"""Pages of a long list: one rule for every table that pages (the Audit log, the Research runs)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import QueryDict


class PageRefused(ValueError):
    """A page number that is not one of the list's pages."""


def page_of(items: Any, raw: str | None, per_page: int) -> Page:
    """Page `raw` (1 when empty) of `items`; anything but a page that exists is refused in one line."""
    paginator = Paginator(items, per_page)
    text = (raw or "").strip()
    number = int(text) if text.isdigit() else 0 if text else 1
    if not 1 <= number <= paginator.num_pages:
        raise PageRefused(f"page {text[:20]!r} does not exist: the pages are 1 to {paginator.num_pages}")
    return paginator.page(number)


def query_without_page(query: QueryDict) -> str:
    """The query string of the list's filters, for page links that keep them ("" when there are none)."""
    kept = query.copy()
    kept.pop("page", None)
    return kept.urlencode()
