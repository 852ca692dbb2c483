"""manage.py audit_anchor: print the chain head (SEQ:HASH) to store off the machine."""

from django.core.management.base import BaseCommand

from audit.services import chain_head


class Command(BaseCommand):
    help = "Print the audit chain head as SEQ:HASH; later `verify_audit --anchor SEQ:HASH` proves the log extends it."

    def handle(self, *args, **options):
        seq, head_hash = chain_head()
        self.stdout.write(f"{seq}:{head_hash}")
