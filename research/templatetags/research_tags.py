"""Template helpers of the Research pages: compact params and links to a ladder."""

from __future__ import annotations

from typing import Any

from django import template

from research import presenters

register = template.Library()


@register.filter
def compact_params(params: dict[str, Any] | None) -> str:
    """Params as 'name=value, …'."""
    return presenters.compact_params(params)


@register.simple_tag
def ladder_url(run: object) -> str:
    """The ladder page of a backtest run's (or report's) strategy, instrument, bars and params."""
    return presenters.ladder_url(
        getattr(run, "strategy", ""),
        getattr(run, "instrument_id", ""),
        getattr(run, "bar_spec", ""),
        getattr(run, "params", None),
    )
