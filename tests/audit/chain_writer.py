"""Helper process for the concurrency test: append N audit entries as fast as possible."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ats_site.settings")

import django  # noqa: E402

django.setup()

from audit.models import Action  # noqa: E402
from audit.services import record  # noqa: E402

count, writer = int(sys.argv[1]), sys.argv[2]
for i in range(count):
    record(Action.ORDER_INTENT, actor=f"system:writer-{writer}", target=f"w{writer}-{i}", payload={"i": i})
