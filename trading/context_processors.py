"""Template context shared by every console page."""

from django.conf import settings


def console(request):
    """The Live tab (only when live trading is enabled and the user may operate live) and the gateway badges."""
    from trading import selectors

    user = getattr(request, "user", None)
    authenticated = bool(user and user.is_authenticated)
    live_enabled = settings.ATS.enable_live_trading
    context = {
        "live_enabled": live_enabled,
        "show_live_tab": live_enabled and authenticated and selectors.may_view(user, "live"),
        "gateways": [],
        "gateway_alerts": [],
    }
    if authenticated:
        states = selectors.gateway_states()
        context["gateways"] = states
        context["gateway_alerts"] = [s for s in states if s.get("needs_ack")]
    return context
