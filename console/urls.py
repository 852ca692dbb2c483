"""The operator's own settings."""

from django.urls import path

from console import views

app_name = "console"

urlpatterns = [path("", views.settings_page, name="settings")]
