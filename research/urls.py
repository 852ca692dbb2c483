"""Research routes, under /research/ next to the backtest runs of trading.urls."""

from django.urls import path

from research import views

app_name = "research"

urlpatterns = [
    path("ladder/", views.ladder, name="ladder"),
    path("gauntlets/", views.reports, name="reports"),
    path("gauntlets/<int:report_id>/", views.report_detail, name="report"),
    path("gauntlets/<int:report_id>/progress.json", views.report_progress, name="report_progress"),
    path("new/", views.start_page, name="start"),
    path("new/backtest", views.start_backtest, name="start_backtest"),
    path("new/sweep", views.start_sweep, name="start_sweep"),
    path("new/gauntlet", views.start_gauntlet, name="start_gauntlet"),
]
