"""Top-level URL routes."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from trading import views as trading_views

urlpatterns = [
    path("", trading_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", trading_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("research/", include("research.urls")),
    path("studio/", include("studio.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("trading.urls")),
]
