#!/usr/bin/env python
"""Django's command-line utility for ATS."""

import os
import sys


def main() -> None:
    """Run a management command; configuration errors print one line instead of a traceback."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ats_site.settings")
    from django.core.management import execute_from_command_line

    from ats_site.config import ConfigError

    try:
        execute_from_command_line(sys.argv)
    except ConfigError as exc:
        sys.stderr.write(f"configuration error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
