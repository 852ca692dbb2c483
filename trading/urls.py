"""Console routes. Paper and live share one set of views; live answers 404 while ATS_ENABLE_LIVE_TRADING is false."""

from django.urls import path, register_converter

from audit.views import audit_page
from trading import views


class EnvironmentConverter:
    regex = "paper|live"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(EnvironmentConverter, "env")

app_name = "trading"

urlpatterns = [
    path("research/", views.research, name="research"),
    path("research/<int:run_id>/", views.backtest_detail, name="backtest"),
    path("approvals/", views.approvals_page, name="approvals"),
    path("audit/", audit_page, name="audit"),
    path("gateways/", views.gateways_page, name="gateways"),
    path("gateways.json", views.gateways_json, name="gateways_json"),
    path("gateways/<env:environment>/acknowledge", views.gateway_acknowledge, name="gateway_ack"),
    path("gateways/<env:environment>/screen.png", views.gateway_screen, name="gateway_screen"),
    path("<env:environment>/", views.environment_page, name="environment"),
    path("<env:environment>/sessions.json", views.sessions_json, name="sessions_json"),
    path("<env:environment>/start", views.start_session, name="start"),
    path("<env:environment>/start/confirm", views.confirm_live_start, name="confirm_live"),
    path("<env:environment>/kill-all", views.kill_all, name="kill_all"),
    path("<env:environment>/flatten-account", views.flatten_account, name="flatten_account"),
    path("<env:environment>/sessions/<int:session_id>/", views.session_detail, name="session"),
    path("<env:environment>/sessions/<int:session_id>/kill", views.session_kill, name="session_kill"),
    path("<env:environment>/sessions/<int:session_id>/stop", views.session_stop, name="session_stop"),
    path(
        "<env:environment>/sessions/<int:session_id>/reset-breaker",
        views.session_reset_breaker,
        name="session_reset_breaker",
    ),
    path(
        "<env:environment>/accounts/<str:account_id>/reset-breaker",
        views.account_reset_breaker,
        name="account_reset_breaker",
    ),
]
