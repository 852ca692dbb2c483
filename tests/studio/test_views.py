"""The Studio page and its JSON endpoints through the Django test client: permissions, CSRF, one-line refusals
(status 400, nothing stored), saving (a version and its audit entry; an unchanged spec stores nothing), loading a
version into the forms, and the links that preselect the strategy on the research and paper start forms."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from audit.models import Action, AuditEntry
from studio import market
from studio.models import StudioVersion
from studio.services import do_save_version
from tests.pages.conftest import make_user

pytestmark = pytest.mark.django_db

PAGE, PREVIEW, SAVE = "/studio/", "/studio/preview.json", "/studio/save.json"


@pytest.fixture(autouse=True)
def fresh_cache():
    market.clear_cache()
    yield
    market.clear_cache()


@pytest.fixture
def viewer(db):
    return make_user("viewer", "view_console")


@pytest.fixture
def operator(db):
    return make_user("paperop", "view_console", "operate_paper")


def _client(user, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def _post(client: Client, url: str, body, **extra):
    text = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, text, content_type="application/json", **extra)


def _meta(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="studio-meta" type="application/json">') + len(
        '<script id="studio-meta" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_the_page_needs_a_login_and_the_console_permission(client, viewer, qqq_catalog):
    assert client.get(PAGE).status_code == 302  # to the login page
    assert _client(make_user("nobody")).get(PAGE).status_code == 403
    response = _client(viewer).get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="nav-studio"' in html and 'type="module"' in html and "Saving needs the operate paper" in html
    meta = _meta(response)
    assert meta["catalog"] == {"QQQ.NASDAQ": ["1-DAY-LAST"]} and meta["may_save"] is False
    assert json.loads(meta["initial"]["spec_text"])["instrument_id"] == "QQQ.NASDAQ"
    assert set(meta["indicators"]) == {"sma", "ema", "rsi", "bbands", "atr", "macd", "donchian", "roc", "stoch"}
    assert meta["indicators"]["rsi"]["args"][0]["default"] == 14  # a required argument gets a first value


def test_preview_runs_for_a_viewer_and_refuses_in_one_line(viewer, rsi2_spec, qqq_catalog):
    client = _client(viewer)
    response = _post(client, PREVIEW, {"spec": rsi2_spec})
    assert response.status_code == 200
    data = response.json()
    assert data["metrics"]["trades"] > 50 and data["bars"]["count"] == 5031
    assert _post(client, PREVIEW, {"spec": rsi2_spec, "have_bars": data["bars_key"]}).json()["bars"] is None
    rsi2_spec["exit"]["any"][0]["right"] = "$overbougt"
    for body, message in (
        ({"spec": rsi2_spec}, "exit.any[0].right: unknown parameter '$overbougt' (params: $overbought, "),
        ("{not json", "request: not valid JSON"),
        ([1, 2], 'request: expected an object like {"spec": {...}}'),
        ({"params": {}}, 'request: expected {"spec": {...}}'),
        ({"spec": "text"}, "a spec is a JSON object, got a string 'text'"),
    ):
        refused = _post(client, PREVIEW, body)
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert error.startswith(message) and "\n" not in error
    assert client.get(PREVIEW).status_code == 405
    assert _client(make_user("nobody")).post(PREVIEW, "{}", content_type="application/json").status_code == 403


def test_posts_need_the_csrf_token(operator, rsi2_spec, qqq_catalog):
    client = _client(operator, csrf=True)
    assert _post(client, PREVIEW, {"spec": rsi2_spec}).status_code == 403
    assert _post(client, SAVE, {"name": "x", "spec": rsi2_spec}).status_code == 403
    assert not StudioVersion.objects.exists()
    client.get(PAGE)
    token = client.cookies["csrftoken"].value
    assert _post(client, PREVIEW, {"spec": rsi2_spec}, HTTP_X_CSRFTOKEN=token).status_code == 200
    assert _post(client, SAVE, {"name": "x", "spec": rsi2_spec}, HTTP_X_CSRFTOKEN=token).status_code == 200


def test_saving_needs_operate_paper(viewer, rsi2_spec, qqq_catalog):
    refused = _post(_client(viewer), SAVE, {"name": "rsi2", "spec": rsi2_spec})
    assert refused.status_code == 403 and refused.json()["error"].startswith("saving a Studio version needs")
    assert not StudioVersion.objects.exists()
    assert not AuditEntry.objects.filter(action=Action.STUDIO_SAVED).exists()


def test_save_creates_a_version_with_its_audit_entry_and_unchanged_stores_nothing(operator, rsi2_spec, qqq_catalog):
    client = _client(operator)
    response = _post(client, SAVE, {"name": "rsi2", "spec": rsi2_spec, "note": " first "})
    assert response.status_code == 200
    data = response.json()
    assert data["strategy"] == "studio:rsi2@1" and data["created"] and data["message"] == "saved studio:rsi2@1"
    version = StudioVersion.objects.get()
    assert (version.author, version.note, version.parent) == ("user:paperop", "first", None)
    entry = AuditEntry.objects.get(action=Action.STUDIO_SAVED)
    assert entry.target == "studio:rsi2@1" and entry.actor == "user:paperop"
    assert entry.payload["spec_hash"] == version.spec_hash == data["spec_hash"]
    assert [row["strategy"] for row in data["versions"]] == ["studio:rsi2@1"]
    assert "/research/new/?strategy=studio%3Arsi2%401" in data["links"]["gauntlet"]
    assert data["links"]["paper"].startswith("/paper/?strategy=studio%3Arsi2%401&instrument_id=QQQ.NASDAQ")

    again = _post(client, SAVE, {"name": "rsi2", "spec": rsi2_spec}).json()
    assert not again["created"] and again["message"] == "unchanged: identical to studio:rsi2@1; nothing saved"
    assert StudioVersion.objects.count() == 1
    assert AuditEntry.objects.filter(action=Action.STUDIO_SAVED).count() == 1


def test_bad_saves_are_one_line_and_store_nothing(operator, rsi2_spec, qqq_catalog):
    client = _client(operator)
    broken = json.loads(json.dumps(rsi2_spec))
    broken["indicators"]["rsi"]["period"] = "$nope"
    for body, message in (
        ({"name": "Bad Name", "spec": rsi2_spec}, "name: lowercase letters, digits and _"),
        ({"name": "ok", "spec": broken}, "indicators.rsi.period: unknown parameter '$nope'"),
        ({"name": "ok"}, "a spec is a JSON object, got null"),
        ({"name": "ok", "spec": rsi2_spec, "parent": "studio:ok@7"}, "parent: no Studio version studio:ok@7"),
        ({"name": "ok", "spec": rsi2_spec, "note": "x" * 201}, "note: at most 200 characters"),
        ({"name": "ok", "spec": rsi2_spec, "note": 5}, "note: expected text"),
    ):
        refused = _post(client, SAVE, body)
        assert refused.status_code == 400, body
        assert refused.json()["error"].startswith(message) and "\n" not in refused.json()["error"]
    assert not StudioVersion.objects.exists()
    assert not AuditEntry.objects.filter(action=Action.STUDIO_SAVED).exists()


def test_a_loaded_version_fills_the_forms_and_saves_as_the_next_with_its_parent(operator, rsi2_spec, qqq_catalog):
    first, _ = do_save_version(name="rsi2", spec=rsi2_spec, actor="user:someone")
    client = _client(operator)
    response = client.get(PAGE, {"version": "studio:rsi2@1"})
    assert response.status_code == 200
    initial = _meta(response)["initial"]
    assert initial["spec_text"] == first.spec and initial["name"] == "rsi2"  # text: 70.0 stays a decimal
    assert initial["parent"] == initial["strategy"] == "studio:rsi2@1" and initial["spec_hash"] == first.spec_hash
    assert 'data-strategy="studio:rsi2@1"' in response.content.decode()  # the versions table
    changed = json.loads(initial["spec_text"])
    changed["params"]["oversold"] = 5.0
    data = _post(client, SAVE, {"name": "rsi2", "spec": changed, "parent": "studio:rsi2@1"}).json()
    assert data["strategy"] == "studio:rsi2@2"
    assert StudioVersion.objects.get(version=2).parent == first
    rows = {row["strategy"]: row for row in data["versions"]}
    assert rows["studio:rsi2@2"]["parent"] == "studio:rsi2@1" and rows["studio:rsi2@1"]["author"] == "user:someone"

    missing = client.get(PAGE, {"version": "studio:rsi2@9"})
    assert missing.status_code == 404 and "no Studio version studio:rsi2@9" in missing.content.decode()
    assert _meta(missing)["initial"]["name"] == ""  # the starter spec instead


def test_links_preselect_the_strategy_on_the_start_forms(operator, rsi2_spec, qqq_catalog):
    do_save_version(name="rsi2", spec=rsi2_spec, actor="user:test")
    client = _client(operator)
    grid = json.dumps({"oversold": [5, 10]})
    research = client.get("/research/new/", {"strategy": "studio:rsi2@1", "grid": grid}).content.decode()
    assert '<option value="studio:rsi2@1" selected>' in research
    assert "&quot;oversold&quot;: [5, 10]" in research
    paper = client.get("/paper/", {"strategy": "studio:rsi2@1", "bar_spec": "1-DAY-LAST"}).content.decode()
    assert '<option value="studio:rsi2@1" selected>' in paper and 'value="1-DAY-LAST"' in paper


def test_an_empty_catalog_says_what_to_do(viewer, rsi2_spec, tmp_path, settings):
    settings.ATS_CATALOG_DIR = tmp_path / "catalog"
    client = _client(viewer)
    response = client.get(PAGE)
    assert response.status_code == 200 and _meta(response)["catalog"] == {}
    refused = _post(client, PREVIEW, {"spec": rsi2_spec})
    assert refused.status_code == 400
    assert refused.json()["error"] == (
        "instrument_id: no QQQ.NASDAQ-1-DAY-LAST-EXTERNAL bars in the catalog (it holds no bars at all);"
        " import_bars or fetch_bars first"
    )
