"""Console views: thin, reading through selectors."""

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render

from trading import selectors


def home(request):
    """The console's home page."""
    return render(request, "trading/home.html", selectors.home_overview())


@login_not_required
def healthz(request):
    """Liveness for container health checks: the app answers and reaches its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
