"""The paper rung's fill-for-fill match: same side and size within one bar, price explained by the bar's range."""

from research.models import RungOutcome
from research.paper_match import BarRange, SimpleFill, match_fills
from research.paper_rung import judge_match

S = 1_000_000_000
BAR = 5 * S
BARS = [BarRange(ts=(i + 1) * BAR, low=100.0 + i * 0.1, high=100.5 + i * 0.1) for i in range(40)]


def _pairs(n: int) -> tuple[list[SimpleFill], list[SimpleFill]]:
    """n decisions: the backtest fills at the next bar's close stamp, the session moments after the decision."""
    backtest, session = [], []
    for k in range(n):
        decided = BARS[2 * k].ts
        side = 1 if k % 2 == 0 else -1
        backtest.append(SimpleFill(decided + BAR, side, 10, BARS[2 * k + 1].low + 0.1))
        session.append(SimpleFill(decided + S // 10, side, 10, BARS[2 * k + 1].low + 0.2))
    return session, backtest


def test_identical_decisions_match_fill_for_fill():
    session, backtest = _pairs(20)
    result = match_fills(session, backtest, BARS, BAR, tick=0.01)
    assert (result.matched, result.paired, result.match_ratio) == (20, 20, 1.0)
    assert all(row["status"] == "matched" for row in result.rows)
    assert judge_match(result, min_fills=20, min_match=0.95)[0] == RungOutcome.PASS


def test_a_missing_fill_a_wrong_side_and_a_late_fill_are_listed_one_by_one():
    session, backtest = _pairs(20)
    session[3] = SimpleFill(session[3].ts, -session[3].side, 10, session[3].price)  # the opposite decision
    session[7] = SimpleFill(session[7].ts + 3 * BAR, session[7].side, 10, session[7].price)  # three bars late
    del session[11]  # the session never made this one
    result = match_fills(session, backtest, BARS, BAR, tick=0.01)
    statuses = [row["status"] for row in result.rows]
    assert result.matched == 17 and statuses.count("backtest only") == 3 and statuses.count("session only") == 2
    verdict, reason = judge_match(result, min_fills=10, min_match=0.95)
    assert verdict == RungOutcome.FAIL and reason == (
        "17 of 20 fills matched (85%; session 19, backtest 20): below 95%"
    )


def test_a_price_outside_the_bar_is_paired_but_not_matched():
    session, backtest = _pairs(20)
    session[0] = SimpleFill(session[0].ts, session[0].side, 10, session[0].price + 5.0)
    result = match_fills(session, backtest, BARS, BAR, tick=0.01)
    assert (result.paired, result.matched) == (20, 19)
    row = next(r for r in result.rows if r["status"] != "matched")
    assert row["status"] == "matched, price unexplained" and "outside that bar's range" in row["note"]


def test_too_few_fills_fail_even_when_all_match():
    session, backtest = _pairs(5)
    verdict, reason = judge_match(match_fills(session, backtest, BARS, BAR, tick=0.01), min_fills=20, min_match=0.95)
    assert verdict == RungOutcome.FAIL and reason.endswith("fewer than 20 session fills")


def test_no_fills_at_all_is_no_evidence():
    result = match_fills([], [], BARS, BAR, tick=0.01)
    assert result.match_ratio == 0.0 and judge_match(result, 1, 0.95)[0] == RungOutcome.FAIL
