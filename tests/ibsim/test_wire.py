"""Encoders checked by the clients' own decoders (ibapi and ib_async), and bad input on the socket."""

import socket
import struct
from decimal import Decimal
from types import SimpleNamespace

import pytest
from ib_async.decoder import Decoder as AsyncDecoder
from ibapi.decoder import Decoder as IbapiDecoder
from ibapi.wrapper import EWrapper

from ibsim import protocol as P
from ibsim.broker import Execution, Order
from ibsim.contracts import CONTRACTS, session_hours
from tests.ibsim.conftest import ACCOUNT

QQQ = CONTRACTS["QQQ"]


class Recorder(EWrapper):
    """An ibapi wrapper that records every callback."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        attr = object.__getattribute__(self, name)
        if name in (
            "openOrder",
            "completedOrder",
            "execDetails",
            "contractDetails",
            "orderStatus",
            "commissionAndFeesReport",
            "position",
            "historicalData",
            "historicalDataUpdate",
            "realtimeBar",
            "error",
            "tickByTickAllLast",
            "updatePortfolio",
            "accountSummary",
            "managedAccounts",
            "nextValidId",
            "tickPrice",
        ):

            def rec(*args):
                object.__getattribute__(self, "calls").append((name, args))

            return rec
        return attr


def ibapi_decode(fields):
    """Run one of our messages through nautilus-ibapi's decoder; return the callbacks."""
    wrapper = Recorder()
    dec = IbapiDecoder(wrapper, P.SERVER_VERSION)
    payload = P.frame(fields)[4:]
    text = payload.decode()
    msg_id, rest = text.split("\0", 1)
    dec.interpret(tuple(f.encode() for f in rest.split("\0")[:-1]), int(msg_id))
    return wrapper.calls


def async_decode(fields, method):
    """Run one of our messages through ib_async's decoder; return the wrapper call."""
    seen = []
    wrapper = SimpleNamespace(
        **{method: lambda *a: seen.append(a)}, ib=SimpleNamespace(TimezoneTWS=None), defaultTimezone=None
    )
    dec = AsyncDecoder(wrapper, P.SERVER_VERSION)
    dec.logger.exception = lambda *a, **k: (_ for _ in ()).throw(AssertionError(a))
    text = P.frame(fields)[4:].decode()
    dec.interpret(text.split("\0")[:-1])
    return seen


def sample_order(status="Submitted"):
    return Order(
        perm_id=1400000001,
        order_id=7,
        client_id=3,
        account=ACCOUNT,
        symbol="QQQ",
        action="BUY",
        total_quantity=10,
        order_type="LMT",
        lmt_price=101.5,
        aux_price=None,
        tif="GTC",
        order_ref="O-1:7",
        status=status,
        filled=4,
        avg_fill_price=101.25,
    )


def test_open_order_decodes_in_both_clients():
    order = sample_order()
    calls = ibapi_decode(P.open_order(order, QQQ))
    name, (order_id, contract, o, state) = calls[0]
    assert (name, order_id, contract.conId, o.action, o.lmtPrice, o.tif, o.orderRef, o.permId, state.status) == (
        "openOrder",
        7,
        QQQ.con_id,
        "BUY",
        101.5,
        "GTC",
        "O-1:7",
        1400000001,
        "Submitted",
    )
    (args,) = async_decode(P.open_order(order, QQQ), "openOrder")
    assert args[0] == 7 and args[2].orderRef == "O-1:7" and args[2].lmtPrice == 101.5 and args[3].status == "Submitted"


def test_completed_order_decodes_in_both_clients():
    order = sample_order("Filled")
    fields = P.completed_order(order, QQQ, "20261126 15:00:00 UTC")
    name, (contract, o, state) = ibapi_decode(fields)[0]
    assert (name, contract.symbol, o.orderRef, state.status, state.completedStatus) == (
        "completedOrder",
        "QQQ",
        "O-1:7",
        "Filled",
        "Filled",
    )
    (args,) = async_decode(fields, "completedOrder")
    assert args[1].orderRef == "O-1:7" and args[2].completedTime == "20261126 15:00:00 UTC"


def test_execution_and_commission_decode():
    ex = Execution(
        "0001.0002.01.01",
        1400000001,
        7,
        3,
        ACCOUNT,
        "QQQ",
        "BOT",
        10,
        101.25,
        "20261126 15:00:00 UTC",
        0,
        10,
        101.25,
        "O-1:7",
        "ISLAND",
        "SMART",
        1.0,
        None,
    )
    name, (req_id, contract, e) = ibapi_decode(P.execution_data(-1, ex, QQQ))[0]
    assert (req_id, contract.conId, e.execId, e.shares, e.price, e.orderRef, e.side) == (
        -1,
        QQQ.con_id,
        "0001.0002.01.01",
        Decimal(10),
        101.25,
        "O-1:7",
        "BOT",
    )
    name, (report,) = ibapi_decode(P.commission_report(ex.exec_id, 1.0, "USD", None))[0]
    assert report.commissionAndFees == 1.0 and report.execId == ex.exec_id
    (args,) = async_decode(P.execution_data(-1, ex, QQQ), "execDetails")
    assert args[2].execId == ex.exec_id and args[2].orderRef == "O-1:7"


def test_contract_details_carry_isin_and_min_tick():
    trading, liquid = session_hours(__import__("datetime").date(2026, 11, 26))
    fields = P.contract_data(5, QQQ, trading, liquid)
    name, (req_id, cd) = ibapi_decode(fields)[0]
    assert (req_id, cd.contract.conId, cd.minTick, cd.contract.primaryExchange) == (5, 320227571, 0.01, "NASDAQ")
    assert [(t.tag, t.value) for t in cd.secIdList] == [("ISIN", "US46090E1038")]
    assert "20261128:CLOSED" in cd.tradingHours  # a Saturday
    (args,) = async_decode(fields, "contractDetails")
    assert args[1].contract.conId == 320227571 and args[1].stockType == "ETF"


def test_bars_and_positions_decode():
    calls = ibapi_decode(P.historical_data(3, "a", "b", [("20261125", 1.0, 2.0, 0.5, 1.5, 100, 1.2, 7)]))
    assert calls[0][1][1].close == 1.5
    name, (req_id, bar) = ibapi_decode(P.historical_data_update(3, ("20261126", 1, 3, 0.5, 2, 10, 1.5, 4)))[0]
    assert (bar.open, bar.high, bar.low, bar.close) == (1, 3, 0.5, 2)
    name, (account, contract, qty, avg) = ibapi_decode(P.position(ACCOUNT, QQQ, 10, 100.5))[0]
    assert (account, contract.conId, qty, avg) == (ACCOUNT, QQQ.con_id, Decimal(10), 100.5)


# ---------------------------------------------------------------- raw socket: bad input


def _handshake(port, greeting=b"v100..178"):
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.sendall(b"API\0" + struct.pack(">I", len(greeting)) + greeting)
    return s


def _recv_frames(s, wait=0.5):
    s.settimeout(wait)
    buf = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except TimeoutError:
        pass
    frames = []
    while len(buf) >= 4:
        n = struct.unpack(">I", buf[:4])[0]
        frames.append(buf[4 : 4 + n].decode().split("\0")[:-1])
        buf = buf[4 + n :]
    return frames


def _send(s, *fields):
    s.sendall(P.frame(list(fields)))


@pytest.mark.timeout(30)
def test_handshake_replies_version_and_time_only(sim):
    s = _handshake(sim.port, b"v100..223")
    frames = _recv_frames(s)
    assert len(frames) == 1 and frames[0][0] == "178" and len(frames[0]) == 2
    _send(s, 71, 2, 9, "")
    frames = _recv_frames(s)
    assert frames[0] == ["15", "1", ACCOUNT] and frames[1][:2] == ["9", "1"]
    assert {f[3] for f in frames[2:]} == {"2104", "2106", "2158"}


@pytest.mark.timeout(30)
def test_garbage_and_malformed_input_leave_gateway_and_account_intact(sim):
    before = sim.account_values()["TotalCashValue"]
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=3)
    s.sendall(b"GET / HTTP/1.1\r\n\r\n")
    assert _recv_frames(s) == []  # closed without an answer
    s = _handshake(sim.port, b"hello")
    assert _recv_frames(s) == []
    s = _handshake(sim.port)
    _recv_frames(s)
    _send(s, 71, 2, 5, "")
    _recv_frames(s)
    _send(s, 9999, 1)  # unknown message id
    _send(s, "abc", 1)  # non-numeric message id
    _send(s, 3, "notanumber")  # truncated placeOrder
    s.sendall(struct.pack(">I", 4) + b"\xff\xfe\x00\x00")  # not ASCII
    errors = [f for f in _recv_frames(s) if f[0] == "4"]
    assert [e[3] for e in errors] == ["320", "320", "320", "320"]
    s.sendall(struct.pack(">I", 50_000_000))  # absurd length: connection closed
    assert _recv_frames(s) == [["4", "2", "-1", "320", "Error reading request: bad message length 50000000", ""]]
    names = [e["name"] for e in sim.received()]
    assert names.count("INVALID") >= 3 and "INVALID_HANDSHAKE" in names and "UNKNOWN_9999" in names
    assert sim.orders() == [] and sim.account_values()["TotalCashValue"] == before
    s = _handshake(sim.port)  # other clients are still served
    assert _recv_frames(s)[0][0] == "178"
