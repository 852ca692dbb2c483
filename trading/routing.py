"""Websocket routes: one consumer per environment, each on its own channel layer alias."""

from django.urls import path

from trading.consumers import LiveTelemetryConsumer, PaperTelemetryConsumer

websocket_urlpatterns = [
    path("ws/paper/telemetry/", PaperTelemetryConsumer.as_asgi()),
    path("ws/live/telemetry/", LiveTelemetryConsumer.as_asgi()),
]
