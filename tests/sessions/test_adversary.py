"""A hostile strategy on a real TradingNode with the real IB adapter against ibsim: nothing it tries gets past the gate.

The adversary (adversary_strategy.py) shorts from flat, sends a marketable limit and a stop far through the market,
trades another instrument, sends an order twice in one millisecond, modifies a one-share order up to a million,
overflows a reduce-only close, builds a position from orders that each pass the per-order cap, and puts an order on
the message bus straight for the execution engine.
"""

import re
from collections import defaultdict

import pytest

from audit.models import Action, AuditEntry
from tests.sessions.conftest import finish, wait_until
from trading.sessions.models import SessionEvent
from trading.sessions.services import do_create_session, do_request_kill

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

ADVERSARY = [
    {"strategy": "adversary", "instrument_id": "QQQ.NASDAQ", "bar_spec": "5-SECOND-LAST", "params": {"step_ms": 400}}
]


def adversary_log(stack, session_id: int) -> str:
    return "".join(path.read_text() for path in stack.logs.glob(f"host-{session_id}-*.log"))


def test_an_adversarial_strategy_gets_nothing_past_the_gate(paper_stack):
    sim = paper_stack.sim
    session = do_create_session(environment="paper", sleeves=ADVERSARY, actor="user:tester")
    host = paper_stack.host(session.pk)
    try:
        log = wait_until(
            lambda: "ADVERSARY done" in (text := adversary_log(paper_stack, session.pk)) and text,
            120,
            message="the adversary to finish its attacks",
        )
        steps = defaultdict(list)  # step -> client order ids, in order
        for step, client_order_id in re.findall(r"^ADVERSARY (\w+) (\S+)$", log, re.M):
            steps[step].append(client_order_id)
        wait_until(
            lambda: AuditEntry.objects.filter(action=Action.ORDER_DENIED).count() >= 9, 30, message="the denials"
        )
        denials = defaultdict(list)  # client order id -> rules
        for payload in AuditEntry.objects.filter(action=Action.ORDER_DENIED).values_list("payload", flat=True):
            denials[payload["client_order_id"]].append(payload.get("rule"))

        def rules(step: str) -> list:
            return [rule for cid in steps[step] for rule in denials.get(cid, [])]

        assert rules("short_from_flat") == ["short_sale"]
        assert rules("marketable_limit") == ["price_collar"]
        assert rules("stop_far_below") == ["price_collar"]
        assert rules("off_instrument") == ["scope"]
        assert rules("duplicates") == ["duplicate"]  # the first of the two is sent, the second refused
        assert rules("modify_up") == ["notional"]
        assert rules("reduce_only_overflow") == ["reduce_only"]
        assert "position" in rules("under_cap_many")
        assert rules("straight_to_exec") == ["bypass"]  # around the RiskEngine endpoint, to the execution engine

        # ibsim's order log: none of the refused orders arrived, and the one-share order was never modified.
        placed = [" ".join(map(str, message["fields"])) for message in sim.received("PLACE_ORDER")]
        for client_order_id, refused in denials.items():
            if "notional" in refused and client_order_id in steps["modify_up"]:
                assert sum(client_order_id in p for p in placed) == 1, "the modify reached the broker"
            else:
                assert not [p for p in placed if client_order_id in p], f"{client_order_id} reached the broker"
        assert not [p for p in placed if "1000000" in p]
        assert "AAPL" not in " ".join(placed)
        position = sim.positions("DU1234567").get("QQQ", {}).get("qty", 0)
        assert position >= 10  # long the ten bought (and what passed after); never short

        # The strategy was told: OrderDenied for new orders, OrderModifyRejected for the modify.
        told = {
            (e["event"], e["client_order_id"])
            for e in SessionEvent.objects.filter(session=session, kind="order").values_list("payload", flat=True)
        }
        assert ("OrderModifyRejected", steps["modify_up"][0]) in told
        assert ("OrderDenied", steps["short_from_flat"][0]) in told
        # Every attempt was audited as an intent before it was judged, the modify as the order it would become.
        intents = AuditEntry.objects.filter(action=Action.ORDER_INTENT).values_list("payload", flat=True)
        modify = [p for p in intents if p["modify"]]
        assert len(modify) == 1 and modify[0]["quantity"] == "1000000"
    finally:
        do_request_kill(actor="user:tester", reason="done", session_id=session.pk)
        finish(host)
