"""What a debug page or an error report may show: Django's filter, widened to every ATS secret."""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter


class AtsExceptionReporterFilter(SafeExceptionReporterFilter):
    """Hide every setting and environment variable that is or may carry a secret, even with DEBUG=true.

    Django hides names matching API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE. ATS adds the whole validated
    config (ATS), webhook URLs, the HMAC key, and every URL or connection setting that can embed a password
    (DATABASE_URL, REDIS_URL, DATABASES, CHANNEL_LAYERS, Q_CLUSTER, MAILERS with the SMTP password).
    """

    hidden_settings = re.compile(
        r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|HMAC|WEBHOOK|_URL$|^ATS$|DATABASE|REDIS|CHANNEL_LAYERS"
        r"|Q_CLUSTER|HOSTS|MAILERS",
        flags=re.IGNORECASE,
    )
