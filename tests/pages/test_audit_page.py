"""The Audit page: 50 entries a page, newest first; filters by action, actor, target, a date range in the operator's
zone and free text, combined; page links keep the filters; a bad filter is named in one line and nothing is listed."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from audit.models import Action, AuditEntry
from audit.services import record
from console.services import do_set_time_zone

pytestmark = pytest.mark.django_db

JAN_10 = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)
LATE_JAN_12 = dt.datetime(2026, 1, 12, 23, 30, tzinfo=dt.UTC)  # already 13 January in Berlin


@pytest.fixture
def log(monkeypatch, viewer):
    """120 order intents on 10 January, 3 kills late on 12 January (UTC), 2 logins of alice on 14 January."""

    def at(moment, action, actor, target, payload):
        monkeypatch.setattr("django.utils.timezone.now", lambda: moment)
        record(action, actor=actor, target=target, payload=payload)

    for i in range(120):
        at(JAN_10 + dt.timedelta(minutes=i), Action.ORDER_INTENT, "system:session-7", "session:7", {"n": i})
    for i in range(3):
        at(LATE_JAN_12, Action.SESSION_KILL, "user:alice", "session:9", {"reason": f"fat finger XYZZY {i}"})
    for _ in range(2):
        at(JAN_10.replace(day=14), Action.LOGIN, "user:alice", "user:alice", {"ip": "10.0.0.1"})
    monkeypatch.undo()
    return viewer


def seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'<tr><td><a href="/admin/audit/auditentry/\d+/change/">(\d+)</a>', html)]


def of(**lookup) -> list[int]:
    """The seqs of the entries matching `lookup`, ascending."""
    return list(AuditEntry.objects.filter(**lookup).order_by("seq").values_list("seq", flat=True))


def get(client, **query):
    response = client.get("/audit/", query)
    return response.status_code, response.content.decode()


def test_pages_of_fifty_newest_first_with_links_that_keep_the_filters(client, log):
    client.force_login(log)
    total = AuditEntry.objects.count()
    status, html = get(client)
    assert status == 200 and seqs(html) == list(range(total, total - 50, -1))
    assert f"Entries 1–50 of {total}, newest first." in html and "page 1 of 3" in html
    assert "verify_audit: OK" in html
    status, html = get(client, page="3")
    assert seqs(html) == list(range(total - 100, 0, -1))
    intents = of(action=Action.ORDER_INTENT)[::-1]
    status, html = get(client, action="order.intent", page="2")
    assert status == 200 and seqs(html) == intents[50:100] and "page 2 of 3" in html
    assert 'href="?action=order.intent&amp;page=3" rel="next"' in html
    assert 'href="?action=order.intent&amp;page=1" rel="first"' in html
    assert '<option value="order.intent" selected>order.intent</option>' in html


def test_each_filter_and_their_combination(client, log):
    client.force_login(log)
    kills, logins = of(action=Action.SESSION_KILL), of(action=Action.LOGIN, actor="user:alice")
    assert len(kills) == 3 and len(logins) == 2
    cases = [
        ({"action": "session.kill"}, kills),
        ({"actor": "ALICE"}, kills + logins),  # contains, any case
        ({"target": "session:9"}, kills),
        ({"q": "xyzzy"}, kills),  # the payload's text
        ({"q": "auth.login", "actor": "alice"}, logins),  # the action's text
        ({"start": "2026-01-14", "end": "2026-01-14"}, logins),
        ({"start": "2026-01-11", "end": "2026-01-12"}, kills),  # in UTC the kills are on the 12th
        ({"actor": "alice", "start": "2026-01-12", "end": "2026-01-13", "action": "session.kill"}, kills),
        ({"action": "session.kill", "target": "session:7"}, []),
    ]
    for query, expected in cases:
        status, html = get(client, **query)
        assert status == 200 and sorted(seqs(html)) == expected, query
        assert ("No entries match the filters." in html) == (not expected), query
    status, html = get(client, end="2026-01-10")
    assert status == 200 and "of 120 matching the filters" in html and "clear filters" in html


def test_dates_are_days_of_the_operators_zone(client, log):
    do_set_time_zone(log, "Europe/Berlin")
    client.force_login(log)
    _, html = get(client, start="2026-01-12", end="2026-01-12")
    assert seqs(html) == []  # 23:30 UTC on the 12th is 00:30 on the 13th in Berlin
    _, html = get(client, start="2026-01-13", end="2026-01-13")
    assert sorted(seqs(html)) == of(action=Action.SESSION_KILL) and "2026-01-13 00:30:00 UTC+1" in html
    assert "Dates are days in Europe/Berlin" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"action": "session.nuke"}, "action: unknown action 'session.nuke'"),
        ({"start": "2026-13-01"}, "from: not a date: write YYYY-MM-DD"),
        ({"end": "yesterday", "actor": "alice"}, "to: not a date: write YYYY-MM-DD"),
        ({"start": "2026-01-14", "end": "2026-01-10"}, "filter: from 2026-01-14 is after to 2026-01-10"),
        ({"actor": "a" * 201}, "actor: Ensure this value has at most 200 characters (it has 201)."),
        ({"page": "0"}, "page '0' does not exist: the pages are 1 to 3"),
        ({"page": "4"}, "page '4' does not exist: the pages are 1 to 3"),
        ({"page": "two", "action": "order.intent"}, "page 'two' does not exist: the pages are 1 to 3"),
    ],
)
def test_a_bad_filter_is_named_in_one_line_and_nothing_is_listed(client, log, query, message):
    client.force_login(log)
    status, html = get(client, **query)
    error = html.split('<p class="refusal" id="audit-error">', 1)[1].split("</p>", 1)[0]
    assert status == 400 and error.replace("&#x27;", "'") == message
    assert seqs(html) == [] and "Nothing listed: fix the filter above." in html
