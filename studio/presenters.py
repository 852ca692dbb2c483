"""What the Studio page shows besides the preview: the form builder's vocabulary, the starting spec, the versions
table and the links that take a saved version to a sweep, the gauntlet or a paper session."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from console import formatting
from studio import spec as studio_spec
from studio.models import StudioVersion
from studio.preview import PRICE_TYPES

# A first value for an argument the spec requires (no default): what the form fills in when one is added.
FORM_DEFAULTS = {("rsi", "period"): 14, ("sma", "period"): 20, ("ema", "period"): 20}
FALLBACK = {"instrument_id": "QQQ.NASDAQ", "bar_spec": "1-DAY-LAST"}


def builder_vocabulary() -> dict[str, Any]:
    """Indicator types with their arguments and outputs, operators, bar fields, stops, sizings and directions."""
    indicators = {}
    for kind in studio_spec.INDICATORS.values():
        indicators[kind.type] = {
            "title": kind.title,
            "doc": kind.doc,
            "outputs": list(kind.outputs),
            "pane": "price" if kind.type in PRICE_TYPES else "below",
            "args": [
                {
                    "name": arg.name,
                    "whole": arg.whole,
                    "default": arg.default if arg.default is not None else FORM_DEFAULTS.get((kind.type, arg.name)),
                    "minimum": arg.minimum,
                    "doc": arg.doc,
                }
                for arg in kind.args
            ],
        }
    return {
        "indicators": indicators,
        "operators": list(studio_spec.OPERATORS),
        "bar_fields": list(studio_spec.BAR_FIELDS),
        "stops": list(studio_spec.STOPS),
        "sizings": list(studio_spec.SIZINGS),
        "directions": list(studio_spec.DIRECTIONS),
        "max_bars_ago": studio_spec.MAX_BARS_AGO,
    }


def starter_spec(catalog: dict[str, list[str]]) -> dict[str, Any]:
    """A small valid spec on the catalog's first daily bars (or its first bars): what a new strategy starts from."""
    instrument, bar_spec = FALLBACK["instrument_id"], FALLBACK["bar_spec"]
    if catalog and not (instrument in catalog and bar_spec in catalog[instrument]):
        instrument = next(iter(catalog))
        specs = catalog[instrument]
        bar_spec = next((s for s in specs if "-DAY-" in s), specs[-1])
    return {
        "schema": studio_spec.SCHEMA_VERSION,
        "instrument_id": instrument,
        "bar_spec": bar_spec,
        "direction": "long",
        "params": {},
        "indicators": {},
        "entry": {"all": [{"left": "close", "op": "<", "right": "low[1]"}]},
        "exit": None,
        "stops": {"max_bars_held": 5},
        "sizing": {"notional": 10000},
    }


def version_row(version: StudioVersion) -> dict[str, Any]:
    """One row of the versions table, JSON-ready."""
    return {
        "strategy": version.strategy_name,
        "name": version.name,
        "version": version.version,
        "author": version.author,
        "created": formatting.when(version.created_at, timezone.get_current_timezone()),
        "parent": version.parent.strategy_name if version.parent_id else "",
        "spec_hash": version.spec_hash[:12],
        "note": version.note,
        "url": f"{reverse('studio:page')}?{urlencode({'version': version.strategy_name})}",
    }


def version_rows(versions: list[StudioVersion]) -> list[dict[str, Any]]:
    """The versions table: by strategy name, newest version first."""
    ordered = sorted(versions, key=lambda v: (v.name, -v.version))
    return [version_row(v) for v in ordered]


def action_links(strategy: str, instrument_id: str, bar_spec: str, params: dict[str, Any]) -> dict[str, str]:
    """Where a saved version goes next: the research start forms (sweep, gauntlet) and the paper start panel."""
    query = {"strategy": strategy, "instrument_id": instrument_id, "bar_spec": bar_spec}
    research = f"{reverse('research:start')}?{urlencode({**query, 'params': json.dumps(params)})}"
    ladder = {"strategy": strategy, "instrument": instrument_id, "bar_spec": bar_spec, "params": json.dumps(params)}
    return {
        "sweep": f"{research}#sweep-card",
        "gauntlet": f"{research}#gauntlet-card",
        "paper": f"{reverse('trading:environment', args=['paper'])}?{urlencode(query)}#start-form",
        "ladder": f"{reverse('research:ladder')}?{urlencode(ladder)}",
    }
