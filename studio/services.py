"""Studio writes: save a spec as a new immutable version, with its audit entry, in one transaction."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from audit.models import Action
from audit.services import record
from studio import spec as studio_spec
from studio.models import StudioVersion
from studio.registry import NAME_PATTERN, parse_strategy_name
from trading.strategies.registry import UnknownStrategy


class StudioError(ValueError):
    """A Studio request was refused; the message is one line."""


def check_name(name: Any) -> str:
    """A valid Studio strategy name, or StudioError saying what a name may hold."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise StudioError(
            f"name: lowercase letters, digits and _, starting with a letter, at most 48; got {str(name)[:60]!r}"
        )
    return name


def do_save_version(
    *, name: str, spec: dict | str, actor: str, parent: str | None = None, note: str = ""
) -> tuple[StudioVersion, bool]:
    """Validate the spec and store it as the next version of `name` (audited); (version, created).

    Saving a spec identical to the latest version of that name stores nothing and returns that version.
    parent ('studio:name@N') records which version this one was edited from; default the latest of the name.
    """
    check_name(name)
    try:
        canonical = studio_spec.load(spec) if isinstance(spec, str) else studio_spec.validate(spec)
    except studio_spec.SpecError as exc:
        raise StudioError(str(exc)) from None
    text = studio_spec.canonical_json(canonical)
    if len(note) > 200:
        raise StudioError("note: at most 200 characters")
    with transaction.atomic():
        latest = StudioVersion.objects.filter(name=name).order_by("-version").first()
        if latest is not None and latest.spec == text:
            return latest, False
        parent_row = _parent(parent) if parent else latest
        number = (StudioVersion.objects.filter(name=name).aggregate(m=Max("version"))["m"] or 0) + 1
        try:
            with transaction.atomic():
                version = StudioVersion.objects.create(
                    name=name,
                    version=number,
                    spec=text,
                    spec_hash=studio_spec.spec_hash(canonical),
                    author=actor,
                    created_at=timezone.now(),
                    parent=parent_row,
                    note=note,
                )
        except IntegrityError:
            # A concurrent save (a double click) took this number first: the same spec is that save, not an error.
            winner = StudioVersion.objects.filter(name=name, version=number).first()
            if winner is not None and winner.spec == text:
                return winner, False
            raise StudioError(f"another save made studio:{name}@{number} first; reload and save again") from None
        record(
            Action.STUDIO_SAVED,
            actor=actor,
            target=version.strategy_name,
            payload={
                "spec_hash": version.spec_hash,
                "parent": parent_row.strategy_name if parent_row else None,
                "instrument_id": canonical["instrument_id"],
                "bar_spec": canonical["bar_spec"],
                "note": note,
            },
        )
    return version, True


def _parent(full: str) -> StudioVersion:
    try:
        name, number = parse_strategy_name(full)
    except UnknownStrategy as exc:
        raise StudioError(f"parent: {exc}") from None
    row = StudioVersion.objects.filter(name=name, version=number).first()
    if row is None:
        raise StudioError(f"parent: no Studio version {full}")
    return row
