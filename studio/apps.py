from django.apps import AppConfig


class StudioAppConfig(AppConfig):
    name = "studio"
    verbose_name = "Strategy Studio"

    def ready(self) -> None:
        from audit import append_only
        from studio.models import StudioVersion
        from studio.registry import STUDIO_SOURCE
        from trading.strategies.registry import register_source

        append_only.register(StudioVersion)  # a saved version never changes: the database refuses it
        register_source(STUDIO_SOURCE)
