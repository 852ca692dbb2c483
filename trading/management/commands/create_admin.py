"""manage.py create_admin: create the first administrator (superuser with every console permission)."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Create an administrator. The password comes from ATS_ADMIN_PASSWORD, or is generated and printed once. "
        "With --if-none, do nothing when any user exists (used by `make run`)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="")
        parser.add_argument("--if-none", action="store_true", help="only when the database has no users yet")

    def handle(self, *args, **options):
        users = get_user_model()
        if options["if_none"] and users.objects.exists():
            self.stdout.write("users exist already; log in with yours (or run `manage.py changepassword NAME`)")
            return
        username = options["username"].strip()
        if not username:
            raise CommandError("--username must not be empty")
        if users.objects.filter(username=username).exists():
            raise CommandError(f"user {username!r} exists already; use `manage.py changepassword {username}`")
        password = os.environ.get("ATS_ADMIN_PASSWORD", "")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        users.objects.create_superuser(username=username, email=options["email"], password=password)
        if generated:
            self.stdout.write(f"created administrator {username!r} with password: {password}")
            self.stdout.write("(shown once; change it with `manage.py changepassword` if you like)")
        else:
            self.stdout.write(f"created administrator {username!r} with the password from ATS_ADMIN_PASSWORD")
