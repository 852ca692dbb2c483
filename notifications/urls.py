"""Notification routes."""

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("test", views.send_test_notification, name="test"),
]
