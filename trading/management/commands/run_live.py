"""manage.py run_live: start a live session — after the summary and the typed account id — and host it here."""

import sys

from django.conf import settings

from console.limits import limit_rows
from trading.management.commands._session_cli import SessionCommand


class Command(SessionCommand):
    help = (
        "Run a LIVE session with real money. Prints the session summary and requires the live account id typed at "
        "the prompt before anything connects (--i-understand ACCOUNT for supervised scripts)."
    )
    environment = "live"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--i-understand", metavar="ACCOUNT_ID", help="confirm non-interactively by giving the live account id"
        )

    def confirm(self, options, preview):
        """Print the session summary and return the account id typed at the prompt (or given by --i-understand)."""
        account_id = preview.account_id
        caps = settings.ATS.live_risk
        lines = [
            "",
            "=== LIVE TRADING: REAL MONEY ===",
            f"account      : {account_id}",
            f"gateway      : {settings.ATS.live.host}:{settings.ATS.live.port}",
            f"risk limits  : money in {settings.ATS.account_currency}",
            *(f"  {label:<27}: {value}" for label, value in limit_rows(caps.as_dict(), settings.ATS.account_currency)),
        ]
        for sleeve, approval in zip(preview.sleeves, preview.approvals, strict=True):
            lines += [
                f"sleeve       : {sleeve.strategy} on {sleeve.instrument_id} ({sleeve.bar_spec})",
                f"  params     : {sleeve.params or '{}'}",
                f"  approved by: {approval['approved_by']} at {approval['approved_at']}",
                f"  note       : {approval['note']}",
                f"  evidence   : {_evidence(approval)}",
            ]
        self.stdout.write("\n".join(lines) + "\n")
        answer = options["i_understand"]
        if answer is None:
            if not sys.stdin or not sys.stdin.isatty():
                answer = ""
            else:
                answer = input(f"Type the live account id ({account_id}) to start: ")
        return answer  # the service judges it (and audits a mismatch)


def _evidence(approval: dict) -> str:
    if approval.get("ladder_override"):
        return f"LADDER OVERRIDDEN: {approval['ladder_override']}"
    return f"gauntlet #{approval.get('gauntlet_report')}, paper rung #{approval.get('paper_rung')}"
