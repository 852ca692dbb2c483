"""Studio versions as registered strategies: 'studio:<name>@<version>' resolves to the interpreter with that spec."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from typing import Any

from trading.strategies.registry import StrategySource, StrategySpec, UnknownStrategy

PREFIX = "studio"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_FULL_NAME = re.compile(r"^studio:(?P<name>[a-z][a-z0-9_]{0,47})@(?P<version>[1-9]\d{0,8})$")


def parse_strategy_name(full: str) -> tuple[str, int]:
    """'studio:name@3' -> ('name', 3); UnknownStrategy when it does not have that shape."""
    match = _FULL_NAME.match(full)
    if match is None:
        raise UnknownStrategy(f"{full[:80]!r} is not a Studio strategy name; expected studio:<name>@<version>")
    return match["name"], int(match["version"])


def _load(spec_text: str):
    from studio.interpreter import StudioStrategy, config_class_for

    return StudioStrategy, config_class_for(spec_text)


def _chart_lines(spec_text: str, params: dict[str, Any], bars: Sequence[Any]) -> dict[str, list[float | None]]:
    from studio.preview import price_lines

    return price_lines(spec_text, params, bars)


def resolve(full: str) -> StrategySpec:
    """The registry entry of one saved Studio version; UnknownStrategy if it does not exist or its hash is wrong."""
    from studio.models import StudioVersion

    name, number = parse_strategy_name(full)
    row = StudioVersion.objects.filter(name=name, version=number).values_list("spec", "spec_hash").first()
    if row is None:
        latest = StudioVersion.objects.filter(name=name).order_by("-version").values_list("version", flat=True).first()
        hint = f"; latest is studio:{name}@{latest}" if latest else "; studio_list shows the saved ones"
        raise UnknownStrategy(f"unknown strategy {full!r}: no such Studio version{hint}")
    spec_text, stored_hash = row
    if hashlib.sha256(spec_text.encode()).hexdigest() != stored_hash:  # fail closed on a tampered row
        raise UnknownStrategy(f"{full}: its stored spec does not match its hash; refusing to run it")
    return StrategySpec(
        name=full,
        module="studio.interpreter",
        strategy_class="StudioStrategy",
        config_class="StudioConfig",
        summary=f"Studio strategy {name}, version {number}",
        loader=lambda: _load(spec_text),
        data_hash_inputs=(("studio-spec", spec_text.encode()),),
        chart_lines=functools.partial(_chart_lines, spec_text),
    )


def names() -> list[str]:
    """Every saved Studio version's strategy name, by name then version."""
    from django.db import DatabaseError

    from studio.models import StudioVersion

    try:
        return [f"studio:{n}@{v}" for n, v in StudioVersion.objects.values_list("name", "version")]
    except DatabaseError:  # no table yet (before migrate): the built-in strategies are still listed
        return []


STUDIO_SOURCE = StrategySource(prefix=PREFIX, resolve=resolve, names=names)
