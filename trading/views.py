"""Console views: thin, reading through selectors."""

from django.shortcuts import render

from trading import selectors


def home(request):
    """The console's home page."""
    return render(request, "trading/home.html", selectors.home_overview())
