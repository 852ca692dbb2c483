"""Pages of a long list: one rule for every table that pages (the Audit log, the Research runs, a backtest's trades).

A page number that is not one of the list's pages is named in one line: lists whose filters must not be silently
dropped refuse it (page_of); the trades table shows the nearest page with the same line (nearest_page).
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import QueryDict


class PageRefused(ValueError):
    """A page number that is not one of the list's pages."""


def _requested(raw: str | None, num_pages: int) -> tuple[int, str]:
    """The page asked for (the nearest one that exists when it does not) and the one-line problem, if any."""
    text = (raw or "").strip()
    if not text:
        return 1, ""
    number = int(text) if text.isdigit() else 0
    if 1 <= number <= num_pages:
        return number, ""
    nearest = num_pages if number > num_pages else 1
    return nearest, f"page {text[:20]!r} does not exist: the pages are 1 to {num_pages}"


def page_of(items: Any, raw: str | None, per_page: int) -> Page:
    """Page `raw` (1 when empty) of `items`; anything but a page that exists is refused in one line."""
    paginator = Paginator(items, per_page)
    number, problem = _requested(raw, paginator.num_pages)
    if problem:
        raise PageRefused(problem)
    return paginator.page(number)


def nearest_page(items: Any, raw: str | None, per_page: int) -> tuple[Page, str]:
    """Page `raw` of `items`, or the nearest that exists (first or last) with a one-line note saying so."""
    paginator = Paginator(items, per_page)
    number, problem = _requested(raw, paginator.num_pages)
    return paginator.page(number), f"{problem}: showing page {number}." if problem else ""


def query_without_page(query: QueryDict) -> str:
    """The query string of the list's filters, for page links that keep them ("" when there are none)."""
    kept = query.copy()
    kept.pop("page", None)
    return kept.urlencode()
