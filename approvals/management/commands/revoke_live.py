"""manage.py revoke_live --strategy S --instrument I --note N"""

from approvals.management.commands._decision import DecisionCommand
from approvals.services import do_revoke_live


class Command(DecisionCommand):
    help = "Revoke live trading for a strategy + instrument by appending a revocation (audited)."

    service = staticmethod(do_revoke_live)
