"""Telemetry websocket consumers: authentication, origin, per-environment permission and isolation, resync."""

from __future__ import annotations

import asyncio
import functools
import os

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from tests.pages.conftest import add_event, make_session
from trading.routing import websocket_urlpatterns

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


def run(coroutine_function):
    """Run an async test body on an event loop (no asyncio pytest plugin here); fixtures stay synchronous."""

    @functools.wraps(coroutine_function)
    def wrapper(*args, **kwargs):
        return async_to_sync(coroutine_function)(*args, **kwargs)

    return wrapper


def router():
    return URLRouter(websocket_urlpatterns)


async def connect(path, user=None, app=None, headers=None):
    communicator = WebsocketCommunicator(app or router(), path, headers=headers or [])
    if user is not None:
        communicator.scope["user"] = user
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def collect_events(communicator, want: int, timeout: float = 5.0) -> list[dict]:
    """Receive until `want` telemetry rows arrived (or time runs out)."""
    events, loop = [], asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(events) < want and loop.time() < deadline:
        # receive_nothing does not cancel the application on a timeout (receive_output would)
        if await communicator.receive_nothing(timeout=0.05, interval=0.01):
            continue
        message = await communicator.receive_json_from()
        if message["type"] == "events":
            events.extend(message["events"])
    return events


@run
async def test_anonymous_is_refused():
    from django.contrib.auth.models import AnonymousUser

    communicator, connected, code = await connect("/ws/paper/telemetry/", AnonymousUser())
    assert not connected and code == 4401


@run
async def test_session_cookie_authenticates_and_foreign_origin_is_refused(viewer, client):
    from ats_site.asgi import application

    await sync_to_async(client.force_login)(viewer)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    ok, connected, _ = await connect(
        "/ws/paper/telemetry/",
        app=application,
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000"), (b"cookie", cookie)],
    )
    assert connected
    hello = await ok.receive_json_from()
    assert hello == {"type": "hello", "environment": "paper", "session": None, "after": 0}
    await ok.disconnect()

    foreign, connected, _ = await connect(
        "/ws/paper/telemetry/",
        app=application,
        headers=[(b"origin", b"https://evil.example"), (b"host", b"127.0.0.1:8000"), (b"cookie", cookie)],
    )
    assert not connected
    no_cookie, connected, code = await connect(
        "/ws/paper/telemetry/",
        app=application,
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")],
    )
    assert not connected and code == 4401


@pytest.mark.parametrize(
    "origin, host",
    [
        (b"http://localhost:9999", b"localhost:8000"),  # another port on an allowed host
        (b"https://127.0.0.1:8000", b"127.0.0.1:8000"),  # another scheme
        (b"http://127.0.0.1", b"127.0.0.1:8000"),  # default port is another port
        (b"http://evil.example:8000", b"evil.example:8000"),  # a host not in ALLOWED_HOSTS
        (b"null", b"127.0.0.1:8000"),  # sandboxed or file:// pages
        (b"http://127.0.0.1:8000", None),  # no Host to compare with
    ],
)
@run
async def test_origin_must_match_scheme_host_and_port(viewer, client, origin, host):
    from ats_site.asgi import application

    await sync_to_async(client.force_login)(viewer)
    headers = [(b"origin", origin), (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]
    if host:
        headers.append((b"host", host))
    _, connected, _ = await connect("/ws/paper/telemetry/", app=application, headers=headers)
    assert not connected


@run
async def test_same_origin_behind_a_tls_proxy_is_https(viewer, client, settings):
    from ats_site.asgi import application

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    await sync_to_async(client.force_login)(viewer)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    base = [(b"host", b"localhost:8443"), (b"x-forwarded-proto", b"https"), (b"cookie", cookie)]
    ok, connected, _ = await connect(
        "/ws/paper/telemetry/", app=application, headers=[(b"origin", b"https://localhost:8443"), *base]
    )
    assert connected
    await ok.disconnect()
    _, connected, _ = await connect(
        "/ws/paper/telemetry/", app=application, headers=[(b"origin", b"http://localhost:8443"), *base]
    )
    assert not connected


@run
async def test_user_without_console_permission_is_refused(nobody):
    _, connected, code = await connect("/ws/paper/telemetry/", nobody)
    assert not connected and code == 4403


@run
async def test_live_socket_is_404_while_live_trading_is_disabled(live_off, live_operator):
    _, connected, code = await connect("/ws/live/telemetry/", live_operator)
    assert not connected and code == 4404


@run
async def test_live_needs_operate_live(live_on, paper_operator, live_operator):
    _, connected, code = await connect("/ws/live/telemetry/", paper_operator)
    assert not connected and code == 4403
    communicator, connected, _ = await connect("/ws/live/telemetry/", live_operator)
    assert connected
    await communicator.disconnect()


@run
async def test_environments_are_isolated_and_new_rows_follow(live_on, live_operator):
    paper = await sync_to_async(make_session)("paper")
    live = await sync_to_async(make_session)("live")
    p1 = await sync_to_async(add_event)(paper, "status", status="running")
    await sync_to_async(add_event)(live, "status", status="running")

    paper_ws, connected, _ = await connect("/ws/paper/telemetry/", live_operator)
    assert connected
    live_ws, connected, _ = await connect("/ws/live/telemetry/", live_operator)
    assert connected
    got = await collect_events(paper_ws, 1)
    assert [e["id"] for e in got] == [p1.pk] and got[0]["session"] == paper.pk
    got = await collect_events(live_ws, 1)
    assert [e["session"] for e in got] == [live.pk]

    # New rows are followed (embedded default: polled from the table), each on its own environment only.
    p2 = await sync_to_async(add_event)(paper, "fill", order_side="BUY", last_qty="10", last_px="100")
    l2 = await sync_to_async(add_event)(live, "fill", order_side="SELL", last_qty="1", last_px="100")
    got = await collect_events(paper_ws, 1)
    assert [e["id"] for e in got] == [p2.pk] and got[0]["kind"] == "fill"
    got = await collect_events(live_ws, 1)
    assert [e["id"] for e in got] == [l2.pk]
    assert await collect_events(paper_ws, 1, timeout=0.5) == []  # the live fill never reaches paper
    await paper_ws.disconnect()
    await live_ws.disconnect()


@run
async def test_reconnect_with_last_id_resyncs_without_loss_or_duplicates(viewer):
    session = await sync_to_async(make_session)("paper")
    other = await sync_to_async(make_session)("paper")
    first = [await sync_to_async(add_event)(session, "bar", close=float(i)) for i in range(3)]
    await sync_to_async(add_event)(other, "bar", close=99.0)

    ws, connected, _ = await connect(f"/ws/paper/telemetry/?session={session.pk}", viewer)
    assert connected
    got = await collect_events(ws, 3)
    assert [e["id"] for e in got] == [e.pk for e in first]  # one session only
    await ws.disconnect()  # the socket drops...
    missed = [await sync_to_async(add_event)(session, "fill", last_px=str(i)) for i in range(2)]  # ...rows go on
    ws, connected, _ = await connect(f"/ws/paper/telemetry/?session={session.pk}&after={got[-1]['id']}", viewer)
    assert connected
    again = await collect_events(ws, 2)
    assert [e["id"] for e in again] == [e.pk for e in missed]
    assert await collect_events(ws, 1, timeout=0.4) == []
    await ws.disconnect()


@run
async def test_unknown_session_and_session_of_other_environment_are_404(live_on, live_operator):
    live = await sync_to_async(make_session)("live")
    _, connected, code = await connect(f"/ws/paper/telemetry/?session={live.pk}", live_operator)
    assert not connected and code == 4404


@pytest.mark.redis
@run
async def test_redis_publish_wakes_consumers_on_their_environment_only(settings, live_on, live_operator):
    from tests.support import require_service

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    await sync_to_async(require_service)("Redis", url, 6379)
    prefix = f"ats-test-{os.getpid()}"
    settings.REDIS_URL = url
    settings.CHANNEL_LAYERS = {
        alias: {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": f"{prefix}:{alias}"},
        }
        for alias in ("default", "paper", "live")
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    try:
        from trading import consumers
        from trading.sessions.telemetry import publish

        consumers.SAFETY_POLL_SECONDS = 30.0  # prove the publish wakes it, not the safety poll
        paper = await sync_to_async(make_session)("paper")
        ws, connected, _ = await connect("/ws/paper/telemetry/", live_operator)
        assert connected
        live_ws, connected, _ = await connect("/ws/live/telemetry/", live_operator)
        assert connected
        await ws.receive_json_from()  # hello
        await ws.receive_json_from()  # synced
        await live_ws.receive_json_from()
        await live_ws.receive_json_from()
        row = await sync_to_async(add_event)(paper, "fill", last_px="1")
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await sync_to_async(publish)("paper", {"session": paper.pk, "id": row.pk, "kind": "fill"})
        got = await collect_events(ws, 1, timeout=3)
        assert [e["id"] for e in got] == [row.pk] and loop.time() - t0 < 1.0
        assert await collect_events(live_ws, 1, timeout=0.5) == []
        await ws.disconnect()
        await live_ws.disconnect()
    finally:
        consumers.SAFETY_POLL_SECONDS = 2.0
        channel_layers.backends.clear()
