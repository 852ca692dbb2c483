"""A session starts once: a repeated start token returns the first session, and one instrument on one account has
one owner (two sessions would take over each other's positions at the broker). Both hold when two starts race."""

import threading

import pytest
from django.db import connection

from audit.models import Action, AuditEntry
from tests.pages.conftest import make_user
from trading.sessions.guards import SessionRefused
from trading.sessions.models import TradingSession
from trading.sessions.services import do_create_session

# No gateway runs here: the start's instrument check answers from ibsim's contract table (tests/conftest.py).
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("known_instruments"),
]

QQQ = [{"strategy": "sma_cross", "instrument_id": "QQQ.NASDAQ", "bar_spec": "1-DAY-LAST"}]
SPY = [{"strategy": "sma_cross", "instrument_id": "SPY.ARCA", "bar_spec": "1-DAY-LAST"}]
FORM = {
    "mode": "sleeve",
    "strategy": "sma_cross",
    "instrument_id": "QQQ.NASDAQ",
    "bar_spec": "1-DAY-LAST",
    "params": "{}",
}


def start(sleeves, token=None, account_id=None):
    return do_create_session(
        environment="paper", sleeves=sleeves, actor="user:tester", start_token=token, account_id=account_id
    )


def test_a_repeated_start_token_returns_the_first_session():
    first = start(QQQ, token="t-1")
    again = start(QQQ, token="t-1")
    assert again.pk == first.pk and again.is_repeat and not getattr(first, "is_repeat", False)
    assert TradingSession.objects.count() == 1
    assert AuditEntry.objects.filter(action=Action.SESSION_START).count() == 1


def test_one_owner_per_instrument_and_account_until_the_owner_ends():
    owner = start(QQQ)
    with pytest.raises(SessionRefused) as refused:
        start([*SPY, *QQQ])
    assert str(refused.value) == (
        f"QQQ.NASDAQ is already traded on account DU1234567 by active session {owner.pk}; "
        "one session per instrument and account"
    )
    refusal = AuditEntry.objects.get(action=Action.SESSION_REFUSED)
    assert "already traded" in refusal.payload["reason"]
    assert TradingSession.objects.count() == 1  # nothing written
    start(SPY)  # another instrument
    start(QQQ, account_id="DU7654321")  # another account
    owner.status = "stopped"
    owner.save()
    start(QQQ)  # the owner ended


@pytest.mark.parametrize("same_token", [True, False])
def test_two_starts_at_once_make_one_session(same_token):
    barrier, outcomes = threading.Barrier(2), []

    def race(i):
        try:
            barrier.wait(5)
            outcomes.append(start(QQQ, token="t-race" if same_token else f"t-{i}").pk)
        except SessionRefused as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert TradingSession.objects.count() == 1
    only = TradingSession.objects.get().pk
    if same_token:
        assert outcomes == [only, only]
    else:
        assert sorted(map(str, outcomes)) == sorted([str(only), next(o for o in outcomes if isinstance(o, str))])
        assert any(isinstance(o, str) and "already traded" in o for o in outcomes)


def test_the_start_panel_posted_twice_starts_one_session_and_enqueues_it_once(client, monkeypatch):
    enqueued = []
    monkeypatch.setattr("trading.sessions.tasks.enqueue_session", enqueued.append)
    client.force_login(make_user("paperop", "view_console", "operate_paper"))
    page = client.get("/paper/").content.decode()
    assert 'name="start_token"' in page and "data-submit-once" in page
    token = client.get("/paper/").context["form"]["start_token"].value()
    first = client.post("/paper/start", {**FORM, "params": "{}", "start_token": token})
    second = client.post("/paper/start", {**FORM, "params": "{}", "start_token": token}, follow=True)
    session = TradingSession.objects.get()
    assert first.status_code == 302 and first["Location"].endswith(f"/paper/sessions/{session.pk}/")
    assert f"this start was submitted already: paper session {session.pk}" in second.content.decode()
    assert enqueued == [session.pk]
