"""Finding 5: a Content-Security-Policy on every page, which the pages satisfy with no inline script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


@pytest.mark.django_db
def test_every_response_carries_a_policy_without_inline_script(client, viewer):
    for url in ("/login/",):
        policy = client.get(url)["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'"
        assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
        assert directives["frame-ancestors"] == "'none'" and directives["form-action"] == "'self'"
    client.force_login(viewer)
    assert client.get("/paper/")["Content-Security-Policy"] == policy


def test_no_template_has_an_inline_script_or_event_handler():
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not INLINE_SCRIPT.search(text), f"{template}: inline <script>"
        assert not INLINE_HANDLER.search(text), f"{template}: inline on* event handler"
        assert "javascript:" not in text, f"{template}: javascript: URL"
