"""Top-level URL routes."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from ats_site import site_views
from trading import views as trading_views

handler400 = site_views.bad_request
handler403 = site_views.permission_denied
handler404 = site_views.page_not_found
handler500 = site_views.server_error

urlpatterns = [
    path("", trading_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", trading_views.healthz, name="healthz"),
    path("favicon.ico", site_views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("research/", include("research.urls")),
    path("studio/", include("studio.urls")),
    path("notifications/", include("notifications.urls")),
    path("settings/", include("console.urls")),
    path("", include("trading.urls")),
]
