from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Go-live approvals"

    def ready(self) -> None:
        from approvals.models import GoLiveApproval
        from audit import append_only

        append_only.register(GoLiveApproval)
