"""ASGI entry point for daphne: HTTP through Django, websockets through Channels."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ats_site.settings")

from ats_site.config import ConfigError  # noqa: E402

try:
    from django.core.asgi import get_asgi_application

    django_asgi_app = get_asgi_application()
except ConfigError as exc:
    sys.stderr.write(f"configuration error: {exc}\n")
    sys.exit(2)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from ats_site.origins import SameOriginValidator  # noqa: E402
from trading.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origin first (a page from any other scheme, host or port is refused before anything else), then the
        # session cookie's user.
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
