"""manage.py approve_live --strategy S --instrument I --bar-spec B [--params JSON] --note N [--override-ladder R]"""

from django.core.management.base import CommandError

from approvals.management.commands._decision import DecisionCommand
from approvals.services import ApprovalError, do_approve_live
from audit.services import cli_actor


class Command(DecisionCommand):
    help = (
        "Approve a strategy + instrument for live trading with exact bars and params, bound to the strategy's current "
        "code and to a passing research ladder (gauntlet and paper rung), or to an override reason (audited)."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--bar-spec", required=True, help="the bars approved, e.g. 1-DAY-LAST")
        parser.add_argument("--params", default="{}", help='the params approved as JSON, e.g. {"buy_threshold": 0.1}')
        parser.add_argument(
            "--override-ladder",
            default="",
            metavar="REASON",
            help="approve without a passing ladder; the reason is audited and shown in red wherever the approval is",
        )

    def handle(self, *args, **options):
        try:
            record = do_approve_live(
                strategy=options["strategy"],
                instrument_id=options["instrument"],
                note=options["note"],
                actor=cli_actor(),
                bar_spec=options["bar_spec"],
                params=options["params"],
                override_ladder=options["override_ladder"],
            )
        except ApprovalError as exc:
            raise CommandError(str(exc)) from None
        evidence = (
            f"LADDER OVERRIDDEN: {record.ladder_override}"
            if record.ladder_override
            else f"gauntlet #{record.gauntlet_report_id}, paper rung #{record.paper_rung_id}"
        )
        self.stdout.write(
            f"approved {record.strategy} on {record.instrument_id} {record.bar_spec} (#{record.pk}, "
            f"code {record.code_hash[:12]}, params {record.params_key[:12]}; {evidence}) by {record.decided_by}"
        )
