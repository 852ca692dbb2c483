"""Studio routes, under /studio/."""

from django.urls import path

from studio import views

app_name = "studio"

urlpatterns = [
    path("", views.page, name="page"),
    path("preview.json", views.preview_json, name="preview"),
    path("save.json", views.save_json, name="save"),
]
