"""Console views: thin, reading through selectors and writing through the session services (which audit)."""

from __future__ import annotations

import json
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from audit.services import user_actor
from console.limits import limit_rows
from console.paging import PageRefused, page_of, query_without_page
from console.tables import Column, Sort, headings, parse_sort
from trading import selectors
from trading.forms import KillForm, LiveConfirmForm, StartSessionForm, new_start_token


def console_view(view):
    """Any console page: the view_console permission (login is enforced by LoginRequiredMiddleware)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not _has_console_access(request.user):
            raise PermissionDenied("you need the 'view console' permission")
        return view(request, *args, **kwargs)

    return wrapped


def environment_view(operate: bool = False):
    """Paper/live pages: live answers 404 while ATS_ENABLE_LIVE_TRADING is false; permission per environment."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, environment, *args, **kwargs):
            if not selectors.environment_available(environment):
                raise Http404("no such page")
            if not selectors.may_view(request.user, environment):
                raise PermissionDenied(f"you may not view {environment} trading")
            if operate and not selectors.may_operate(request.user, environment):
                raise PermissionDenied(f"you may not operate {environment} sessions")
            return view(request, environment, *args, **kwargs)

        return wrapped

    return decorate


def _env_context(request, environment: str, **extra) -> dict:
    return {
        "environment": environment,
        "real_money": environment == "live",
        "may_operate": selectors.may_operate(request.user, environment),
        "account_breakers": selectors.tripped_account_breakers(environment),
        **extra,
    }


def _has_console_access(user) -> bool:
    return any(user.has_perm(selectors.PERMS[k]) for k in ("view", "paper", "live"))


def home(request):
    """The console's home page; a user without console permissions is told so (and sees nothing else)."""
    if not _has_console_access(request.user):
        return render(request, "trading/home.html", {"no_access": True})
    return render(request, "trading/home.html", selectors.home_overview())


@login_not_required
def healthz(request):
    """Liveness for container health checks: the app answers and reaches its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


# -- environment pages (paper / live mirror each other) -------------------------------------------------------------


def _render_environment(request, environment, form=None, status=200):
    from trading.strategies.params import strategy_params
    from trading.strategies.registry import strategy_names

    help_params = {name: strategy_params(name) for name in strategy_names()}
    context = _env_context(
        request,
        environment,
        limits=limit_rows(settings.ATS.risk(environment).as_dict(), settings.ATS.account_currency),
        account_currency=settings.ATS.account_currency,
        form=form or StartSessionForm(),
        strategy_help=help_params,
        kill_form=KillForm(),
        **selectors.environment_overview(environment),
    )
    return render(request, "trading/environment.html", context, status=status)


@require_GET
@environment_view()
def environment_page(request, environment):
    """Sessions list, start panel, kill all, history; ?strategy=&instrument_id=&bar_spec= preselect the start panel."""
    prefill = {k: request.GET[k] for k in ("strategy", "instrument_id", "bar_spec") if request.GET.get(k)}
    return _render_environment(request, environment, StartSessionForm(initial=prefill) if prefill else None)


@require_GET
@environment_view()
def sessions_json(request, environment):
    """The sessions table as JSON; the page refreshes it without reloading."""
    return JsonResponse(
        {"active": selectors.active_sessions(environment), "finished": selectors.finished_sessions(environment)}
    )


@require_POST
@environment_view(operate=True)
def start_session(request, environment):
    """Validate the start panel. Paper starts at once; live shows the summary and asks for the typed account id."""
    from trading.sessions.guards import SessionRefused
    from trading.sessions.start import preview_session_start

    form = StartSessionForm(request.POST)
    if not form.is_valid():
        return _render_environment(request, environment, form, status=400)
    book = form.cleaned_data["book"]
    actor = user_actor(request.user)
    if environment == "paper":
        return _start(request, environment, book, actor, form=form, start_token=form.cleaned_data.get("start_token"))
    try:
        preview = preview_session_start(environment=environment, book=book, actor=actor)
    except SessionRefused as exc:  # audited by the service
        form.add_error("sleeves" if form.cleaned_data.get("mode") == "book" else None, str(exc))
        return _render_environment(request, environment, form, status=400)
    confirm = LiveConfirmForm(
        initial={"book": json.dumps(book), "start_token": form.cleaned_data.get("start_token") or new_start_token()}
    )
    return _render_live_confirm(request, environment, confirm, preview)


def _render_live_confirm(request, environment, confirm, preview, status=200):
    caps = settings.ATS.risk(environment)
    gateway = settings.ATS.gateway(environment)
    rows = [{"sleeve": s, "approval": a} for s, a in zip(preview.sleeves, preview.approvals, strict=True)]
    return render(
        request,
        "trading/live_confirm.html",
        _env_context(
            request,
            environment,
            confirm=confirm,
            account_id=preview.account_id,
            rows=rows,
            limits=limit_rows(caps.as_dict(), settings.ATS.account_currency),
            account_currency=settings.ATS.account_currency,
            gateway=f"{gateway.host}:{gateway.port}",
        ),
        status=status,
    )


@require_POST
@environment_view(operate=True)
def confirm_live_start(request, environment):
    """Second step of a live start: the typed account id must match, exactly like `run_live`."""
    from trading.sessions.guards import SessionRefused
    from trading.sessions.start import preview_session_start

    if environment != "live":
        raise Http404("only live sessions need a typed confirmation")
    actor = user_actor(request.user)
    confirm = LiveConfirmForm(request.POST)
    if not confirm.is_valid():
        messages.error(request, "the reviewed book was corrupted; start over")
        return redirect("trading:environment", environment=environment)
    book = confirm.cleaned_data["book"]
    try:
        preview = preview_session_start(environment=environment, book=book, actor=actor)
    except SessionRefused as exc:  # audited by the service
        messages.error(request, str(exc))
        return redirect("trading:environment", environment=environment)
    from trading.sessions.start import AccountNotConfirmed, do_start_session

    try:
        session = do_start_session(
            environment=environment,
            book=book,
            actor=actor,
            account_id=preview.account_id,
            typed_account=confirm.cleaned_data.get("confirm_account"),
            start_token=confirm.cleaned_data.get("start_token"),
        )
    except AccountNotConfirmed as exc:  # audited by the service; the summary is shown again
        confirm.add_error("confirm_account", str(exc))
        return _render_live_confirm(request, environment, confirm, preview, status=400)
    except SessionRefused as exc:  # audited by the service
        messages.error(request, str(exc))
        return redirect("trading:environment", environment=environment)
    return _started(request, environment, session)


def _start(request, environment, book, actor, form, start_token):
    from trading.sessions.guards import SessionRefused
    from trading.sessions.start import do_start_session

    try:
        session = do_start_session(environment=environment, book=book, actor=actor, start_token=start_token)
    except SessionRefused as exc:  # audited by the service
        form.add_error("sleeves" if form.cleaned_data.get("mode") == "book" else None, str(exc))
        return _render_environment(request, environment, form, status=400)
    return _started(request, environment, session)


def _started(request, environment, session):
    pk = session.pk
    if getattr(session, "is_repeat", False):
        messages.info(request, f"this start was submitted already: {environment} session {pk}")
    else:
        messages.success(request, f"{environment} session {pk} created; waiting for a host")
    return redirect("trading:session", environment=environment, session_id=pk)


@require_POST
@environment_view(operate=True)
def kill_all(request, environment):
    """Kill every active session of the environment (reason required; halt only or halt and flatten)."""
    from trading.sessions.guards import SessionRefused
    from trading.sessions.services import do_request_kill

    form = KillForm(request.POST)
    if not form.is_valid():
        messages.error(request, "kill all refused: a reason is required")
        return redirect("trading:environment", environment=environment)
    try:
        killed = do_request_kill(
            actor=user_actor(request.user),
            reason=form.cleaned_data["reason"],
            flatten=form.cleaned_data["flatten"],
            environment=environment,
        )
    except SessionRefused as exc:
        messages.error(request, str(exc))
        return redirect("trading:environment", environment=environment)
    what = "halt and flatten" if form.cleaned_data["flatten"] else "halt"
    messages.warning(
        request,
        f"kill all ({what}) requested for {len(killed)} {environment} session(s)"
        + (f": {', '.join(map(str, killed))}" if killed else ""),
    )
    return redirect("trading:environment", environment=environment)


# -- one session ---------------------------------------------------------------------------------------------------


def _session_or_404(environment, session_id):
    session = selectors.get_session(environment, session_id)
    if session is None:
        raise Http404("no such session")
    return session


@require_GET
@environment_view()
def session_detail(request, environment, session_id):
    """Status, positions, working orders, fills, P&L, charts, log lines and controls; filled in by telemetry."""
    session = _session_or_404(environment, session_id)
    return render(
        request,
        "trading/session.html",
        _env_context(
            request,
            environment,
            session=session,
            limits=limit_rows(session.risk_caps, settings.ATS.account_currency),
            row=selectors.session_row(session),
            kill_form=KillForm(),
            audit_trail=selectors.session_audit_trail(session.pk),
        ),
    )


@require_POST
@environment_view(operate=True)
def session_kill(request, environment, session_id):
    from trading.sessions.guards import SessionRefused
    from trading.sessions.orphan_kill import kill_message
    from trading.sessions.services import do_request_kill

    session = _session_or_404(environment, session_id)
    form = KillForm(request.POST)
    if not form.is_valid():
        messages.error(request, "kill refused: a reason is required")
    else:
        try:
            do_request_kill(
                actor=user_actor(request.user),
                reason=form.cleaned_data["reason"],
                flatten=form.cleaned_data["flatten"],
                session_id=session.pk,
            )
            messages.warning(request, kill_message(session.pk, form.cleaned_data["flatten"]))
        except SessionRefused as exc:
            messages.error(request, str(exc))
    return redirect("trading:session", environment=environment, session_id=session.pk)


@require_POST
@environment_view(operate=True)
def session_stop(request, environment, session_id):
    from trading.sessions.guards import SessionRefused
    from trading.sessions.services import do_request_stop

    session = _session_or_404(environment, session_id)
    try:
        do_request_stop(session_id=session.pk, actor=user_actor(request.user))
        messages.info(request, f"stop requested for session {session.pk}")
    except SessionRefused as exc:
        messages.error(request, str(exc))
    return redirect("trading:session", environment=environment, session_id=session.pk)


@require_POST
@environment_view(operate=True)
def session_reset_breaker(request, environment, session_id):
    """Re-arm a tripped loss breaker, with a reason (audited)."""
    from trading.sessions.breaker_services import do_reset_breaker
    from trading.sessions.guards import SessionRefused

    session = _session_or_404(environment, session_id)
    try:
        do_reset_breaker(
            session_id=session.pk,
            environment=environment,
            actor=user_actor(request.user),
            reason=request.POST.get("reason", ""),
        )
        messages.info(request, f"loss breaker of session {session.pk} reset; it trades again")
    except SessionRefused as exc:
        messages.error(request, str(exc))
    return redirect("trading:session", environment=environment, session_id=session.pk)


@require_POST
@environment_view(operate=True)
def flatten_account(request, environment):
    """Kill the account's sessions, cancel every order and close every position at the broker (reason required)."""
    from trading.sessions.account_flatten import do_flatten_account
    from trading.sessions.guards import SessionRefused

    try:
        result = do_flatten_account(
            environment=environment, actor=user_actor(request.user), reason=request.POST.get("reason", "")
        )
    except SessionRefused as exc:
        messages.error(request, str(exc))
    else:
        (messages.info if result.ok else messages.error)(request, result.summary)
    return redirect("trading:environment", environment=environment)


@require_POST
@environment_view(operate=True)
def account_reset_breaker(request, environment, account_id):
    """Re-arm an account's tripped loss breaker, with a reason (audited)."""
    from trading.sessions.breaker_services import do_reset_account_breaker
    from trading.sessions.guards import SessionRefused

    try:
        do_reset_account_breaker(
            account_id=account_id,
            environment=environment,
            actor=user_actor(request.user),
            reason=request.POST.get("reason", ""),
        )
        messages.info(request, f"loss breaker of account {account_id} reset; its sessions trade again")
    except SessionRefused as exc:
        messages.error(request, str(exc))
    return redirect("trading:environment", environment=environment)


# -- research, approvals, gateways -------------------------------------------------------------------------------------


RUNS_PER_PAGE = 100
RUN_COLUMNS = (
    Column("id", "#", numeric=True),
    Column("when", "When"),
    Column("strategy", "Strategy"),
    Column("instrument", "Instrument"),
    Column("trades", "Trades", numeric=True, best_first=True),
    Column("return", "Return", numeric=True, best_first=True),
    Column("cagr", "CAGR", numeric=True, best_first=True),
    Column("sharpe", "Sharpe", numeric=True, best_first=True),
    Column("max_dd", "Max DD", numeric=True, best_first=True),
)
RUNS_DEFAULT_SORT = Sort("when", descending=True)


@require_GET
@console_view
def research(request):
    """The stored backtest runs (one sweep's with ?sweep=), 100 a page, newest first or by a column (?sort=-sharpe)."""
    sweep = request.GET.get("sweep", "")
    sort = parse_sort(request.GET.get("sort"), RUN_COLUMNS, RUNS_DEFAULT_SORT)

    def link(param: str) -> str:
        kept = {"sweep": sweep} if sweep else {}
        return "?" + urlencode({**kept, **({} if param == RUNS_DEFAULT_SORT.param else {"sort": param})})

    page, error = None, ""
    try:
        runs = selectors.backtest_runs(sweep=sweep, order=sort.key, descending=sort.descending)
        page = page_of(runs, request.GET.get("page"), RUNS_PER_PAGE)
    except PageRefused as exc:
        error = str(exc)
    context = {
        "page": page,
        "error": error,
        "sort_note": sort.note,
        "headings": {h["key"]: h for h in headings(RUN_COLUMNS, sort, link)},
        "query": query_without_page(request.GET),
        "sweep": sweep,
        "may_start": selectors.may_operate(request.user, "paper"),
        "nav": "research",
    }
    return render(request, "trading/research.html", context, status=400 if error else 200)


@require_GET
@console_view
def backtest_detail(request, run_id):
    """One run: metrics, params and costs, equity with drawdown and benchmark, price with lines and trade markers,
    monthly returns and the trades (?sort=-pnl&page=2; a bad value falls back with a one-line note)."""
    from trading.backtests.presenters import backtest_page

    run = selectors.backtest_run(run_id)
    if run is None:
        raise Http404("no such backtest run")
    page = backtest_page(run, selectors.backtest_market(run), request.GET.get("sort"), request.GET.get("page"))
    return render(request, "trading/backtest.html", page)


@require_GET
@console_view
def approvals_page(request):
    return render(request, "trading/approvals.html", {**selectors.approvals_overview(), "nav": "approvals"})


@require_GET
@console_view
def gateways_page(request):
    from trading.monitoring.screen import screen_panels

    context = {"states": selectors.gateway_states(), "screens": screen_panels(request.user), "nav": "gateways"}
    return render(request, "trading/gateways.html", context)


@require_GET
@environment_view()
def gateway_screen(request, environment):
    """A fresh PNG of the gateway's own screen over VNC (live: live enabled, its permission, audited); a refusal or
    a failed capture is a small 503 whose text is the one-line reason."""
    from trading.monitoring.screen import ScreenRefused, ScreenUnavailable, do_gateway_screenshot

    try:
        shot = do_gateway_screenshot(environment, user_actor(request.user))
    except (ScreenRefused, ScreenUnavailable) as exc:
        response = HttpResponse(f"{exc}\n", status=503, content_type="text/plain; charset=utf-8")
    else:
        response = HttpResponse(shot.png, content_type="image/png")
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@console_view
def gateways_json(request):
    return JsonResponse({"gateways": selectors.gateway_states()}, json_dumps_params={"default": str})


@require_POST
@console_view
def gateway_acknowledge(request, environment):
    """Acknowledge a gateway's healthy→broken banner (needs the operate permission of that environment)."""
    if not selectors.environment_available(environment):
        raise Http404("no such gateway")
    if not selectors.may_operate(request.user, environment):
        raise PermissionDenied(f"you may not operate {environment}")
    from trading.monitoring.services import AcknowledgeRefused, do_acknowledge

    try:
        do_acknowledge(environment, user_actor(request.user))  # audited by the service
        messages.info(request, f"{environment} gateway alert acknowledged")
    except AcknowledgeRefused as exc:
        messages.error(request, str(exc))
    target = request.POST.get("next") or reverse("trading:gateways")
    return redirect(target if target.startswith("/") and not target.startswith("//") else reverse("trading:gateways"))
