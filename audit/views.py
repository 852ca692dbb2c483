"""The Audit page: the log newest first, 50 entries a page, filtered by a GET form; the chain's verify line on top."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit import selectors
from audit.forms import AuditFilterForm
from audit.services import verify_chain
from console.paging import PageRefused, page_of, query_without_page
from trading.views import console_view

PER_PAGE = 50


@require_GET
@console_view
def audit_page(request: HttpRequest) -> HttpResponse:
    """Filters in the query string; a bad one (or a page that does not exist) is named in one line and nothing is
    listed, rather than a list that silently ignores it."""
    form = AuditFilterForm(request.GET, logged_actions=selectors.logged_actions())
    page, error = None, ""
    if not form.is_valid():
        error = form.first_error()
    else:
        try:
            page = page_of(selectors.audit_entries(form.cleaned_data), request.GET.get("page"), PER_PAGE)
        except PageRefused as exc:
            error = str(exc)
    context = {
        "form": form,
        "page": page,
        "error": error,
        "filtered": any(form.data.get(name) for name in form.fields),
        "query": query_without_page(request.GET),
        "verify": verify_chain(),
        "nav": "audit",
    }
    return render(request, "trading/audit.html", context, status=400 if error else 200)
