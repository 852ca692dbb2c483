"""Finding 1: a malformed book on the start panel is a one-line 400 with nothing written, never a 500."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditEntry
from trading.sessions.models import TradingSession

pytestmark = pytest.mark.django_db

SLEEVE = {"strategy": "ibs_reversion", "instrument_id": "QQQ.NASDAQ", "bar_spec": "1-DAY-LAST", "params": {}}
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "sleeves, message",
    [
        (json.dumps([{**SLEEVE, "strategy": ["ibs_reversion"]}]), "sleeve 1: strategy must be a string, got list"),
        (json.dumps([{**SLEEVE, "instrument_id": 5}]), "sleeve 1: instrument_id must be a string, got int"),
        (json.dumps([{**SLEEVE, "bar_spec": None}]), "sleeve 1: bar_spec must be a string, got NoneType"),
        (json.dumps([{**SLEEVE, "params": [1]}]), "sleeve 1: params must be an object, got list"),
        (json.dumps([{**SLEEVE, "params": {"buy_threshold": [[0.1]]}}]), "nests deeper than 3 levels"),
        (json.dumps([{**SLEEVE, "params": {"buy_threshold": {"a": 1}}}]), "nests deeper than 3 levels"),
        (DEEP[:60_000], "nested too deeply to be a book of sleeves"),
        (json.dumps([SLEEVE] * 2000), "at most 64000 characters"),
        ('{"strategy": "ibs_reversion"}', "a session needs at least one sleeve"),
    ],
)
def test_malformed_book_is_a_one_line_400_and_writes_nothing(client, paper_operator, sleeves, message):
    client.force_login(paper_operator)
    before = AuditEntry.objects.count()
    response = client.post("/paper/start", {"mode": "book", "sleeves": sleeves})
    assert response.status_code == 400
    errors = response.context["form"].errors.get("sleeves") or response.context["form"].errors.get("__all__")
    assert errors and message in errors[0] and "\n" not in errors[0], errors
    assert not TradingSession.objects.exists() and AuditEntry.objects.count() == before


def test_deep_params_on_the_one_sleeve_form_is_a_400(client, paper_operator):
    client.force_login(paper_operator)
    form = {"mode": "sleeve", "strategy": "ibs_reversion", "instrument_id": "QQQ.NASDAQ", "bar_spec": "1-DAY-LAST"}
    response = client.post("/paper/start", {**form, "params": '{"buy_threshold": ' + "[" * 1900 + "]" * 1900 + "}"})
    assert response.status_code == 400
    assert response.context["form"].errors["params"] == ["nested too deeply; parameters are flat values"]
    response = client.post("/paper/start", {**form, "params": '{"buy_threshold": [0.1]}'})
    assert response.context["form"].errors["params"] == [
        "buy_threshold: expected a number, string or true/false, got a list"
    ]
    assert not TradingSession.objects.exists()


def test_a_corrupted_live_confirmation_book_is_refused_in_one_line(client, live_on, live_operator):
    client.force_login(live_operator)
    response = client.post("/live/start/confirm", {"book": DEEP, "confirm_account": "U1"})
    assert response.status_code == 302 and not TradingSession.objects.exists()
