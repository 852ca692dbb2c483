"""Research pages: a ladder, the gauntlet reports (with live progress) and the start forms for backtests, sweeps
and gauntlets. Thin: reads in research.selectors, numbers shaped in research.presenters, writes in the services
the commands use, whose one-line refusals are shown as they are."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from audit.services import user_actor
from research import presenters
from research import selectors as research_selectors
from research.forms import FORMS, GauntletForm, ResearchRunForm, SweepForm
from research.gauntlet.plan import GauntletRequestError
from trading import selectors
from trading.services import BacktestError
from trading.strategies.params import StrategyParamsError
from trading.views import console_view

RECENT_TOKENS = 50  # start tokens remembered per browser session
PREFILL = ("strategy", "instrument_id", "bar_spec", "params", "grid")  # start-form fields a GET link may fill in
# What the services raise on bad input, each with a one-line message.
REFUSALS: tuple[type[Exception], ...] = (BacktestError, StrategyParamsError, GauntletRequestError)


def _may_start(request: HttpRequest) -> bool:
    return selectors.may_operate(request.user, "paper")


# -- ladder and reports --------------------------------------------------------------------------------------------


@require_GET
@console_view
def ladder(request: HttpRequest) -> HttpResponse:
    """The ladder of one (strategy, instrument, bar spec, params) for the current code, with its evidence."""
    from trading.ids import InvalidIdentifier
    from trading.strategies.registry import UnknownStrategy, code_hash, strategy_names

    query = {
        "strategy": request.GET.get("strategy", ""),
        "instrument": request.GET.get("instrument", "QQQ.NASDAQ"),
        "bar_spec": request.GET.get("bar_spec", "1-DAY-LAST"),
        "params": request.GET.get("params", "{}"),
    }
    context: dict[str, Any] = {"nav": "research", "query": query, "strategies": strategy_names()}
    if not query["strategy"]:
        return render(request, "research/ladder.html", context)
    try:
        found = research_selectors.ladder_for(
            query["strategy"],
            query["instrument"],
            query["bar_spec"],
            query["params"],
            code_hash=code_hash(query["strategy"]),
        )
    except (InvalidIdentifier, StrategyParamsError, UnknownStrategy, ValueError) as exc:
        context["error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return render(request, "research/ladder.html", context, status=400)
    context["ladder"] = found
    context["params_text"] = presenters.compact_params(found.params)
    report = found.rung("gauntlet").evidence
    if report is not None:
        context.update(_report_context(report))
    check = found.rung("paper").evidence
    if check is not None:
        context["paper_check"] = check
        context["match_rows"] = presenters.match_rows(check.rows)
    return render(request, "research/ladder.html", context)


@require_GET
@console_view
def reports(request: HttpRequest) -> HttpResponse:
    """Every gauntlet report, newest first."""
    rows = [
        {"report": r, "ladder_url": presenters.ladder_url(r.strategy, r.instrument_id, r.bar_spec, r.params)}
        for r in research_selectors.gauntlet_reports()
    ]
    return render(request, "research/reports.html", {"rows": rows, "nav": "research", "may_start": _may_start(request)})


def _report_or_404(report_id: int) -> Any:
    report = research_selectors.gauntlet_report(report_id)
    if report is None:
        raise Http404("no such gauntlet report")
    return report


def _report_context(report: Any) -> dict[str, Any]:
    rungs = research_selectors.report_rungs(report)
    job = research_selectors.chosen_job(report)
    return {
        "report": report,
        "report_params": presenters.compact_params(report.params),
        "report_grid": presenters.fmt(report.grid),
        "jobs": research_selectors.report_jobs(report),
        "chosen_run": research_selectors.run_of_job(job),
        "equity_curve": research_selectors.chosen_equity_curve(job),
        "report_ladder_url": presenters.ladder_url(
            report.strategy, report.instrument_id, report.bar_spec, report.params
        ),
        **presenters.report_sections(report, rungs),
    }


@require_GET
@console_view
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    """One gauntlet report: progress, rung table, thresholds, charts, walk-forward, heatmap and Monte Carlo."""
    report = _report_or_404(report_id)
    return render(request, "research/report.html", {**_report_context(report), "nav": "research", "live": True})


@require_GET
@console_view
def report_progress(request: HttpRequest, report_id: int) -> JsonResponse:
    """The report's progress for the page's poller: counts, status, verdict, jobs and rung rows so far."""
    report = _report_or_404(report_id)
    rungs = [presenters.rung_row(r) for r in research_selectors.report_rungs(report)]
    return JsonResponse(
        {
            "status": report.status,
            "tasks_done": report.tasks_done,
            "tasks_total": report.tasks_total,
            "verdict": report.verdict,
            "reason": report.reason,
            "jobs": research_selectors.report_jobs(report),
            "rungs": [{k: r[k] for k in ("rung", "verdict", "reason", "numbers", "thresholds")} for r in rungs],
        }
    )


# -- start forms -------------------------------------------------------------------------------------------------


def _render_start(
    request: HttpRequest, bound: ResearchRunForm | None = None, error: str = "", status: int = 200
) -> HttpResponse:
    # A link may preselect what to start (the Studio's "run a sweep" / "start the gauntlet"): ?strategy=...&grid=...
    prefill = {k: request.GET[k] for k in PREFILL if request.method == "GET" and request.GET.get(k)}
    forms = {kind: cls(prefix=kind, initial=prefill) for kind, cls in FORMS.items()}
    refused = ""
    if bound is not None:
        refused = next(kind for kind, cls in FORMS.items() if type(bound) is cls)
        forms[refused] = bound
    context = {"forms": forms, "refused": refused, "error": error, "nav": "research", "may_start": _may_start(request)}
    return render(request, "research/start.html", context, status=status)


@require_GET
@console_view
def start_page(request: HttpRequest) -> HttpResponse:
    """The three start forms (backtest, sweep, gauntlet); shown read-only without the operate_paper permission."""
    return _render_start(request)


def _start(request: HttpRequest, kind: str) -> HttpResponse:
    """Shared POST handling: permission, a repeated token, the form's own checks, then the kind's start."""
    if not _may_start(request):
        raise PermissionDenied("you may not start research runs (needs the operate paper permission)")
    form = FORMS[kind](request.POST, prefix=kind)
    seen: dict[str, str] = request.session.get("research_starts", {})
    token = request.POST.get(f"{kind}-token", "")
    if token and token in seen:
        messages.info(request, "this start was submitted already")
        return redirect(seen[token])
    if not form.is_valid():
        return _render_start(request, form, form.first_error(), status=400)
    try:
        target, message = STARTS[kind](request, form)
    except REFUSALS as exc:  # one line each, and nothing was stored or queued
        return _render_start(request, form, str(exc).splitlines()[0] if str(exc) else "refused", status=400)
    if token:
        seen[token] = target
        request.session["research_starts"] = dict(list(seen.items())[-RECENT_TOKENS:])
    messages.success(request, message)
    return redirect(target)


def _backtest(request: HttpRequest, form: ResearchRunForm) -> tuple[str, str]:
    from trading import tasks
    from trading.services import prepare_backtest
    from trading.strategies.params import parse_params

    data = form.cleaned_data
    start, end = form.window()
    params = parse_params(data["params"])
    prepared = prepare_backtest(
        data["strategy"],
        data["instrument_id"],
        data["bar_spec"],
        params,
        start,
        end,
        form.costs(),
        fill_convention=data["fill_convention"],
    )
    task = tasks.enqueue_backtest(
        data["strategy"],
        prepared.instrument_id,
        data["bar_spec"],
        params,
        start,
        end,
        form.costs(),
        actor=user_actor(request.user),
        fill_convention=data["fill_convention"],
    )
    return reverse("trading:research"), f"backtest queued (task {task}); it is listed here once a worker has run it"


def _sweep(request: HttpRequest, form: ResearchRunForm) -> tuple[str, str]:
    from trading import tasks
    from trading.backtests.sweep import plan_sweep
    from trading.services import prepare_backtest

    assert isinstance(form, SweepForm)
    data = form.cleaned_data
    start, end = form.window()
    plan = plan_sweep(data["strategy"], data["instrument_id"], data["bar_spec"], data["params"], data["grid"])
    # As sweep_backtests: fail on missing data or bad costs before anything is queued.
    prepared = prepare_backtest(
        data["strategy"],
        data["instrument_id"],
        data["bar_spec"],
        plan[0],
        start,
        end,
        form.costs(),
        fill_convention=data["fill_convention"],
    )
    label = tasks.new_sweep_label(data["strategy"])
    queued = tasks.enqueue_sweep(
        data["strategy"],
        prepared.instrument_id,
        data["bar_spec"],
        plan,
        start,
        end,
        form.costs(),
        actor=user_actor(request.user),
        sweep=label,
        fill_convention=data["fill_convention"],
    )
    return f"{reverse('trading:research')}?sweep={label}", f"sweep {label}: {len(queued)} backtest(s) queued"


def _gauntlet(request: HttpRequest, form: ResearchRunForm) -> tuple[str, str]:
    from research.services import do_start_gauntlet

    assert isinstance(form, GauntletForm)
    data = form.cleaned_data
    start, end = form.window()
    report = do_start_gauntlet(
        strategy=data["strategy"],
        instrument_id=data["instrument_id"],
        bar_spec=data["bar_spec"],
        params=data["params"],
        grid=data["grid"],
        start=start,
        end=end,
        costs=form.costs(),
        thresholds=form.thresholds_text(),
        actor=user_actor(request.user),
    )
    return reverse("research:report", args=[report.pk]), f"gauntlet #{report.pk}: {report.tasks_total} backtests queued"


STARTS = {"backtest": _backtest, "sweep": _sweep, "gauntlet": _gauntlet}


@require_POST
@console_view
def start_backtest(request: HttpRequest) -> HttpResponse:
    """Queue one backtest after the `backtest` command's checks."""
    return _start(request, "backtest")


@require_POST
@console_view
def start_sweep(request: HttpRequest) -> HttpResponse:
    """Queue a sweep after the `sweep_backtests` command's checks."""
    return _start(request, "sweep")


@require_POST
@console_view
def start_gauntlet(request: HttpRequest) -> HttpResponse:
    """Start a gauntlet after the `run_gauntlet` command's checks; its jobs are queued on commit."""
    return _start(request, "gauntlet")
