"""manage.py approve_live --strategy S --instrument I --note N"""

from approvals.management.commands._decision import DecisionCommand
from approvals.services import do_approve_live


class Command(DecisionCommand):
    help = "Approve a strategy + instrument for live trading, bound to the strategy's current code hash (audited)."

    service = staticmethod(do_approve_live)
