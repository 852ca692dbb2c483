"""WSGI entry point (the product runs under daphne/ASGI; this serves plain HTTP hosting)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ats_site.settings")
application = get_wsgi_application()
