"""The Studio page: build a spec with forms, see it run on the catalog's bars at once, save it as a version.

Thin: the preview is studio.preview, saving is studio.services.do_save_version (audited), reads are
studio.selectors. Viewing and previewing need the view_console permission; saving needs operate_paper, as
starting research runs does. Bad input is a one-line error naming the spec path (JSON, status 400).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from audit.services import user_actor
from studio import presenters, selectors
from studio.market import catalog_bar_specs
from studio.preview import preview
from studio.services import StudioError, do_save_version
from studio.spec import SpecError
from trading import selectors as trading_selectors
from trading.strategies.registry import UnknownStrategy
from trading.views import console_view

MAX_BODY = 256_000  # bytes of a preview or save request: a spec is a few kilobytes


def _may_save(request: HttpRequest) -> bool:
    return trading_selectors.may_operate(request.user, "paper")


def _refused(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message.splitlines()[0] if message else "refused"}, status=status)


def _body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object; SpecError('request', ...) when it is not one."""
    if len(request.body) > MAX_BODY:
        raise SpecError("request", f"at most {MAX_BODY} bytes")
    try:
        body = json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise SpecError("request", "not valid JSON") from None
    if not isinstance(body, dict):
        raise SpecError("request", 'expected an object like {"spec": {...}}')
    return body


@require_GET
@console_view
def page(request: HttpRequest) -> HttpResponse:
    """The Studio: forms, JSON, charts and metrics of one spec; ?version=studio:name@N loads a saved version."""
    catalog = catalog_bar_specs()
    # The spec goes to the page as text: JSON.parse would turn 70.0 into 70 (the page's parser keeps it a decimal).
    initial: dict[str, Any] = {"spec_text": json.dumps(presenters.starter_spec(catalog)), "name": "", "parent": ""}
    error, status = "", 200
    wanted = request.GET.get("version", "").strip()
    if wanted:
        try:
            version = selectors.get_version(wanted)
        except UnknownStrategy as exc:
            error, status = str(exc).splitlines()[0], 404
        else:
            spec = selectors.version_spec(version)
            initial = {"spec_text": version.spec, "name": version.name, "parent": version.strategy_name}
            initial.update(strategy=version.strategy_name, spec_hash=version.spec_hash)
            initial["links"] = presenters.action_links(
                version.strategy_name, spec["instrument_id"], spec["bar_spec"], spec["params"]
            )
    meta = {
        **presenters.builder_vocabulary(),
        "catalog": catalog,
        "initial": initial,
        "may_save": _may_save(request),
    }
    context = {
        "nav": "studio",
        "meta": meta,
        "error": error,
        "may_save": meta["may_save"],
        "versions": presenters.version_rows(selectors.all_versions()),
        "current_name": initial["name"],
    }
    return render(request, "studio/studio.html", context, status=status)


@require_POST
@console_view
def preview_json(request: HttpRequest) -> JsonResponse:
    """Run a spec on its catalog bars: {"spec": {...}, "params": {...}?, "have_bars": key?} -> the charts' data."""
    try:
        body = _body(request)
        if "spec" not in body:
            raise SpecError("request", 'expected {"spec": {...}}')
        have = body.get("have_bars")
        result = preview(body["spec"], body.get("params"), have_bars=have if isinstance(have, str) else "")
    except SpecError as exc:
        return _refused(str(exc))
    return JsonResponse(result)


@require_POST
@console_view
def save_json(request: HttpRequest) -> JsonResponse:
    """Save the spec as the next version of a name: {"name", "spec", "note"?, "parent"?} -> the version (audited)."""
    if not _may_save(request):
        return _refused("saving a Studio version needs the operate paper permission", status=403)
    try:
        body = _body(request)
        note, parent = body.get("note", ""), body.get("parent") or None
        if not isinstance(note, str):
            raise StudioError("note: expected text")
        if parent is not None and not isinstance(parent, str):
            raise StudioError("parent: expected a strategy name like studio:name@1")
        version, created = do_save_version(
            name=body.get("name"),  # any JSON: the service checks it
            spec=body.get("spec"),
            actor=user_actor(request.user),
            parent=parent,
            note=note.strip(),
        )
    except (StudioError, SpecError) as exc:
        return _refused(str(exc))
    spec = selectors.version_spec(version)
    name = version.strategy_name
    message = f"saved {name}" if created else f"unchanged: identical to {name}; nothing saved"
    return JsonResponse(
        {
            "strategy": name,
            "created": created,
            "message": message,
            "spec_hash": version.spec_hash,
            "versions": presenters.version_rows(selectors.all_versions()),
            "links": presenters.action_links(name, spec["instrument_id"], spec["bar_spec"], spec["params"]),
        }
    )
