"""Template context shared by every console page."""

from django.conf import settings


def console(request):
    """Whether live trading is enabled (the Live tab exists only then)."""
    return {"live_enabled": settings.ATS.enable_live_trading}
