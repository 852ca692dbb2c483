"""Studio reads: versions by name, the latest of each strategy, one version's spec."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Max

from studio.models import StudioVersion
from studio.registry import parse_strategy_name
from trading.strategies.registry import UnknownStrategy


def get_version(full: str) -> StudioVersion:
    """The saved version named 'studio:name@N' (or 'name@N'); UnknownStrategy if there is none."""
    if not full.startswith("studio:"):
        full = f"studio:{full}"
    name, number = parse_strategy_name(full)
    row = StudioVersion.objects.filter(name=name, version=number).first()
    if row is None:
        raise UnknownStrategy(f"no Studio version {full}")
    return row


def version_spec(version: StudioVersion) -> dict[str, Any]:
    """The stored canonical spec as a dict."""
    return json.loads(version.spec)


def latest_versions() -> list[StudioVersion]:
    """The newest version of every Studio strategy, by name."""
    newest = StudioVersion.objects.values("name").annotate(top=Max("version"))
    wanted = {(row["name"], row["top"]) for row in newest}
    return [v for v in StudioVersion.objects.order_by("name") if (v.name, v.version) in wanted]


def versions_of(name: str) -> list[StudioVersion]:
    """Every version of one Studio strategy, newest first."""
    return list(StudioVersion.objects.filter(name=name).order_by("-version").select_related("parent"))


def all_versions() -> list[StudioVersion]:
    """Every saved version, by name then version."""
    return list(StudioVersion.objects.order_by("name", "version").select_related("parent"))
