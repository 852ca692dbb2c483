"""TWS API wire format at server version 178: framing, request parsing and message encoders.

Field layouts follow the clients' own code (nautilus-ibapi ``ibapi/client.py`` / ``ibapi/decoder.py``
and ``ib_async/decoder.py``) at the negotiated version 178, where every message is NUL-separated text.
Encoders return plain field lists; :func:`frame` turns a list into bytes on the wire.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .broker import Execution, Order, WhatIf
    from .contracts import StockContract

SERVER_VERSION = 178
MIN_CLIENT_VERSION = 100
MAX_FRAME = 1 << 20  # real requests are tiny; anything bigger is garbage
UNSET_INT = 2147483647
UNSET_DOUBLE = 1.7976931348623157e308
UNSET_DOUBLE_TEXT = "1.7976931348623157E308"  # as IB writes it where a client must see "unset", not 0

# One historical bar as sent: (date, open, high, low, close, volume, wap, count).
HistoricalBar = tuple[str, float, float, float, float, float, float, int]


class ProtocolError(Exception):
    """A frame or request the simulator cannot read."""


# Inbound (client -> gateway) message ids, as named in ibapi.message.OUT.
OUT_NAMES = {
    1: "REQ_MKT_DATA",
    2: "CANCEL_MKT_DATA",
    3: "PLACE_ORDER",
    4: "CANCEL_ORDER",
    5: "REQ_OPEN_ORDERS",
    6: "REQ_ACCT_DATA",
    7: "REQ_EXECUTIONS",
    8: "REQ_IDS",
    9: "REQ_CONTRACT_DATA",
    10: "REQ_MKT_DEPTH",
    11: "CANCEL_MKT_DEPTH",
    12: "REQ_NEWS_BULLETINS",
    13: "CANCEL_NEWS_BULLETINS",
    14: "SET_SERVER_LOGLEVEL",
    15: "REQ_AUTO_OPEN_ORDERS",
    16: "REQ_ALL_OPEN_ORDERS",
    17: "REQ_MANAGED_ACCTS",
    18: "REQ_FA",
    19: "REPLACE_FA",
    20: "REQ_HISTORICAL_DATA",
    21: "EXERCISE_OPTIONS",
    22: "REQ_SCANNER_SUBSCRIPTION",
    23: "CANCEL_SCANNER_SUBSCRIPTION",
    24: "REQ_SCANNER_PARAMETERS",
    25: "CANCEL_HISTORICAL_DATA",
    49: "REQ_CURRENT_TIME",
    50: "REQ_REAL_TIME_BARS",
    51: "CANCEL_REAL_TIME_BARS",
    52: "REQ_FUNDAMENTAL_DATA",
    53: "CANCEL_FUNDAMENTAL_DATA",
    54: "REQ_CALC_IMPLIED_VOLAT",
    55: "REQ_CALC_OPTION_PRICE",
    56: "CANCEL_CALC_IMPLIED_VOLAT",
    57: "CANCEL_CALC_OPTION_PRICE",
    58: "REQ_GLOBAL_CANCEL",
    59: "REQ_MARKET_DATA_TYPE",
    61: "REQ_POSITIONS",
    62: "REQ_ACCOUNT_SUMMARY",
    63: "CANCEL_ACCOUNT_SUMMARY",
    64: "CANCEL_POSITIONS",
    65: "VERIFY_REQUEST",
    66: "VERIFY_MESSAGE",
    67: "QUERY_DISPLAY_GROUPS",
    68: "SUBSCRIBE_TO_GROUP_EVENTS",
    69: "UPDATE_DISPLAY_GROUP",
    70: "UNSUBSCRIBE_FROM_GROUP_EVENTS",
    71: "START_API",
    72: "VERIFY_AND_AUTH_REQUEST",
    73: "VERIFY_AND_AUTH_MESSAGE",
    74: "REQ_POSITIONS_MULTI",
    75: "CANCEL_POSITIONS_MULTI",
    76: "REQ_ACCOUNT_UPDATES_MULTI",
    77: "CANCEL_ACCOUNT_UPDATES_MULTI",
    78: "REQ_SEC_DEF_OPT_PARAMS",
    79: "REQ_SOFT_DOLLAR_TIERS",
    80: "REQ_FAMILY_CODES",
    81: "REQ_MATCHING_SYMBOLS",
    82: "REQ_MKT_DEPTH_EXCHANGES",
    83: "REQ_SMART_COMPONENTS",
    84: "REQ_NEWS_ARTICLE",
    85: "REQ_NEWS_PROVIDERS",
    86: "REQ_HISTORICAL_NEWS",
    87: "REQ_HEAD_TIMESTAMP",
    88: "REQ_HISTOGRAM_DATA",
    89: "CANCEL_HISTOGRAM_DATA",
    90: "CANCEL_HEAD_TIMESTAMP",
    91: "REQ_MARKET_RULE",
    92: "REQ_PNL",
    93: "CANCEL_PNL",
    94: "REQ_PNL_SINGLE",
    95: "CANCEL_PNL_SINGLE",
    96: "REQ_HISTORICAL_TICKS",
    97: "REQ_TICK_BY_TICK_DATA",
    98: "CANCEL_TICK_BY_TICK_DATA",
    99: "REQ_COMPLETED_ORDERS",
    100: "REQ_WSH_META_DATA",
    101: "CANCEL_WSH_META_DATA",
    102: "REQ_WSH_EVENT_DATA",
    103: "CANCEL_WSH_EVENT_DATA",
    104: "REQ_USER_INFO",
    105: "REQ_CURRENT_TIME_IN_MILLIS",
    106: "CANCEL_CONTRACT_DATA",
    107: "CANCEL_HISTORICAL_TICKS",
}

CONTRACT_KEYS = (
    "conId",
    "symbol",
    "secType",
    "lastTradeDateOrContractMonth",
    "strike",
    "right",
    "multiplier",
    "exchange",
    "primaryExchange",
    "currency",
    "localSymbol",
    "tradingClass",
)

# Request layouts at version 178, after the message id. "@contract" expands to CONTRACT_KEYS.
REQUEST_LAYOUTS: dict[int, tuple[str, ...]] = {
    1: ("version", "reqId", "@contract"),  # the tail (generic ticks, snapshot...) is parsed below
    2: ("version", "reqId"),
    3: ("orderId",),  # the full order is read by parse_place_order
    4: ("version", "orderId", "manualOrderCancelTime"),
    5: ("version",),
    6: ("version", "subscribe", "acctCode"),
    7: ("version", "reqId", "clientId", "acctCode", "time", "symbol", "secType", "exchange", "side"),
    8: ("version", "numIds"),
    9: ("version", "reqId", "@contract", "includeExpired", "secIdType", "secId", "issuerId"),
    15: ("version", "autoBind"),
    16: ("version",),
    17: ("version",),
    20: (
        "reqId",
        "@contract",
        "includeExpired",
        "endDateTime",
        "barSizeSetting",
        "durationStr",
        "useRTH",
        "whatToShow",
        "formatDate",
        "keepUpToDate",
        "chartOptions",
    ),
    10: ("version", "reqId", "@contract", "numRows", "isSmartDepth", "mktDepthOptions"),
    11: ("version", "reqId", "isSmartDepth"),
    12: ("version", "allMsgs"),
    13: ("version",),
    14: ("version", "logLevel"),
    18: ("version", "faDataType"),
    19: ("version", "faDataType", "cxml", "reqId"),
    21: ("version", "reqId"),
    22: ("reqId",),
    23: ("version", "reqId"),
    24: ("version",),
    25: ("version", "reqId"),
    49: ("version",),
    52: ("version", "reqId"),
    53: ("version", "reqId"),
    54: ("version", "reqId"),
    55: ("version", "reqId"),
    56: ("version", "reqId"),
    57: ("version", "reqId"),
    50: ("version", "reqId", "@contract", "barSize", "whatToShow", "useRTH", "options"),
    51: ("version", "reqId"),
    58: ("version",),
    59: ("version", "marketDataType"),
    61: ("version",),
    62: ("version", "reqId", "groupName", "tags"),
    63: ("version", "reqId"),
    64: ("version",),
    65: ("version", "apiName", "apiVersion"),
    66: ("version", "apiData"),
    67: ("version", "reqId"),
    68: ("version", "reqId", "groupId"),
    69: ("version", "reqId", "contractInfo"),
    70: ("version", "reqId"),
    71: ("version", "clientId", "optionalCapabilities"),
    72: ("version", "apiName", "apiVersion", "opaqueIsvKey"),
    73: ("version", "apiData", "xyzResponse"),
    74: ("version", "reqId", "account", "modelCode"),
    75: ("version", "reqId"),
    76: ("version", "reqId", "account", "modelCode", "ledgerAndNLV"),
    77: ("version", "reqId"),
    78: ("reqId", "underlyingSymbol", "futFopExchange", "underlyingSecType", "underlyingConId"),
    79: ("reqId",),
    80: (),
    81: ("reqId", "pattern"),
    82: (),
    83: ("reqId", "bboExchange"),
    84: ("reqId", "providerCode", "articleId", "newsArticleOptions"),
    85: (),
    86: ("reqId", "conId", "providerCodes", "startDateTime", "endDateTime", "totalResults", "options"),
    87: ("reqId", "@contract", "includeExpired", "useRTH", "whatToShow", "formatDate"),
    88: ("reqId", "@contract", "includeExpired", "useRTH", "timePeriod"),
    89: ("reqId",),
    90: ("reqId",),
    91: ("marketRuleId",),
    92: ("reqId", "account", "modelCode"),
    93: ("reqId",),
    94: ("reqId", "account", "modelCode", "conId"),
    95: ("reqId",),
    96: (
        "reqId",
        "@contract",
        "includeExpired",
        "startDateTime",
        "endDateTime",
        "numberOfTicks",
        "whatToShow",
        "useRth",
        "ignoreSize",
        "miscOptions",
    ),
    97: ("reqId", "@contract", "tickType", "numberOfTicks", "ignoreSize"),
    98: ("reqId",),
    99: ("apiOnly",),
    100: ("reqId",),
    101: ("reqId",),
    102: ("reqId",),
    103: ("reqId",),
    104: ("reqId",),
    105: (),
    106: ("reqId",),
    107: ("reqId",),
}


@dataclass
class Request:
    """One decoded inbound message."""

    msg_id: int
    name: str
    fields: list[str]  # raw text fields after the message id
    args: dict[str, Any]


# Fields of a condition after its type, by condition type (ibapi order_condition.make_fields):
# price, time, margin, execution, volume, percent change.
CONDITION_FIELDS = {1: 6, 3: 3, 4: 3, 5: 4, 6: 5, 7: 5}


class _Fields:
    """A cursor over a request's text fields; past the end every field reads as empty (an older client)."""

    def __init__(self, fields: list[str]):
        self.fields = fields
        self.i = 0

    def next(self) -> str:
        value = self.fields[self.i] if self.i < len(self.fields) else ""
        self.i += 1
        return value

    def take(self, out: dict[str, Any], *keys: str) -> None:
        for key in keys:
            out[key] = self.next()

    def count(self, what: str, limit: int = 100) -> int:
        n = to_int(self.next())
        if not 0 <= n <= limit:
            raise ProtocolError(f"PLACE_ORDER: bad {what} count {n}")
        return n


def parse_place_order(rest: list[str], version: int = SERVER_VERSION) -> dict[str, Any]:
    """Read every field of a placeOrder request as the clients write it (ibapi ``EClient.placeOrder``).

    Returns the order's fields by their ibapi names, the contract under ``contract``, the algo parameters
    under ``algoParams`` and the conditions (type and raw fields) under ``conditions``. Reading every field is
    what lets the gateway see ``whatIf``, ``ocaType``, conditions, algos and the rest: a field an order sets
    that ibsim does not model is then refused, never ignored.
    """
    r = _Fields(rest)
    a: dict[str, Any] = {"orderId": r.next()}
    a["contract"] = {k: r.next() for k in CONTRACT_KEYS}
    r.take(a, "secIdType", "secId", "action", "totalQuantity", "orderType", "lmtPrice", "auxPrice", "tif")
    r.take(a, "ocaGroup", "account", "openClose", "origin", "orderRef", "transmit", "parentId", "blockOrder")
    r.take(a, "sweepToFill", "displaySize", "triggerMethod", "outsideRth", "hidden")
    if (a["contract"]["secType"] or "").upper() == "BAG":
        a["comboLegs"] = [[r.next() for _ in range(8)] for _ in range(r.count("combo leg"))]
        a["orderComboLegPrices"] = [r.next() for _ in range(r.count("order combo leg"))]
        a["smartComboRoutingParams"] = [(r.next(), r.next()) for _ in range(r.count("smart combo routing param"))]
    r.take(a, "sharesAllocation", "discretionaryAmt", "goodAfterTime", "goodTillDate", "faGroup", "faMethod")
    r.take(a, "faPercentage")
    if version < 177:
        r.take(a, "faProfile")
    r.take(a, "modelCode", "shortSaleSlot", "designatedLocation", "exemptCode", "ocaType", "rule80A")
    r.take(a, "settlingFirm", "allOrNone", "minQty", "percentOffset", "eTradeOnly", "firmQuoteOnly")
    r.take(a, "nbboPriceCap", "auctionStrategy", "startingPrice", "stockRefPrice", "delta", "stockRangeLower")
    r.take(a, "stockRangeUpper", "overridePercentageConstraints", "volatility", "volatilityType")
    r.take(a, "deltaNeutralOrderType", "deltaNeutralAuxPrice")
    if a["deltaNeutralOrderType"]:
        r.take(a, "deltaNeutralConId", "deltaNeutralSettlingFirm", "deltaNeutralClearingAccount")
        r.take(a, "deltaNeutralClearingIntent", "deltaNeutralOpenClose", "deltaNeutralShortSale")
        r.take(a, "deltaNeutralShortSaleSlot", "deltaNeutralDesignatedLocation")
    r.take(a, "continuousUpdate", "referencePriceType", "trailStopPrice", "trailingPercent")
    r.take(a, "scaleInitLevelSize", "scaleSubsLevelSize", "scalePriceIncrement")
    increment = to_float(a["scalePriceIncrement"])
    if increment > 0:
        r.take(a, "scalePriceAdjustValue", "scalePriceAdjustInterval", "scaleProfitOffset", "scaleAutoReset")
        r.take(a, "scaleInitPosition", "scaleInitFillQty", "scaleRandomPercent")
    r.take(a, "scaleTable", "activeStartTime", "activeStopTime", "hedgeType")
    if a["hedgeType"]:
        r.take(a, "hedgeParam")
    r.take(a, "optOutSmartRouting", "clearingAccount", "clearingIntent", "notHeld", "deltaNeutralContract")
    if a["deltaNeutralContract"] == "1":
        r.take(a, "deltaNeutralContractConId", "deltaNeutralContractDelta", "deltaNeutralContractPrice")
    r.take(a, "algoStrategy")
    a["algoParams"] = [(r.next(), r.next()) for _ in range(r.count("algo param"))] if a["algoStrategy"] else []
    r.take(a, "algoId", "whatIf", "orderMiscOptions", "solicited", "randomizeSize", "randomizePrice")
    if (a["orderType"] or "").upper() in ("PEG BENCH", "PEGBENCH"):
        r.take(a, "referenceContractId", "isPeggedChangeAmountDecrease", "peggedChangeAmount")
        r.take(a, "referenceChangeAmount", "referenceExchangeId")
    conditions: list[tuple[int, list[str]]] = []
    for _ in range(r.count("condition")):
        kind = to_int(r.next())
        if kind not in CONDITION_FIELDS:
            raise ProtocolError(f"PLACE_ORDER: unknown condition type {kind}")
        conditions.append((kind, [r.next() for _ in range(CONDITION_FIELDS[kind])]))
    a["conditions"] = conditions
    if conditions:
        r.take(a, "conditionsIgnoreRth", "conditionsCancelOrder")
    r.take(a, "adjustedOrderType", "triggerPrice", "lmtPriceOffset", "adjustedStopPrice", "adjustedStopLimitPrice")
    r.take(a, "adjustedTrailingAmount", "adjustableTrailingUnit", "extOperator", "softDollarTierName")
    r.take(a, "softDollarTierValue", "cashQty", "mifid2DecisionMaker", "mifid2DecisionAlgo")
    r.take(a, "mifid2ExecutionTrader", "mifid2ExecutionAlgo", "dontUseAutoPriceForHedge", "isOmsContainer")
    r.take(a, "discretionaryUpToLimitPrice", "usePriceMgmtAlgo", "duration", "postToAts", "autoCancelParent")
    r.take(a, "advancedErrorOverride", "manualOrderTime")
    order_type = (a["orderType"] or "").upper()
    mid_offsets = order_type in ("PEG MID", "PEGMID")
    if (a["contract"]["exchange"] or "").upper() == "IBKRATS":
        r.take(a, "minTradeQty")
    if order_type in ("PEG BEST", "PEGBEST"):
        r.take(a, "minCompeteSize", "competeAgainstBestOffset")
        mid_offsets = a["competeAgainstBestOffset"].lower() in ("inf", "infinity")
    if mid_offsets:
        r.take(a, "midOffsetAtWhole", "midOffsetAtHalf")
    # A client at this version sends exactly these fields: fewer or more means the order was misread, and an order
    # misread (a what-if flag or an OCA type taken from the wrong field) must not reach the broker.
    if r.i != len(rest):
        raise ProtocolError(f"PLACE_ORDER: expected {r.i} fields at version {version}, got {len(rest)}")
    return a


def frame(fields: list[Any]) -> bytes:
    """Encode a field list as one length-prefixed TWS message."""
    text = "".join(_fmt(f) + "\0" for f in fields).encode("ascii", "replace")
    return struct.pack(">I", len(text)) + text


def _fmt(value: Any) -> str:
    kind = type(value)
    if kind is str:  # most fields: no conversion
        return value  # type: ignore[no-any-return]
    if kind is int:
        return str(value)
    if value is None:
        return ""
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, float):
        # numpy floats are floats too, but their repr is "np.float64(1.5)": always format a plain float.
        value = float(value)
        if value == UNSET_DOUBLE:
            return ""
        if not math.isfinite(value):
            raise ValueError(f"cannot send a non-finite number: {value}")
        if value == int(value) and abs(value) < 1e15:
            return str(int(value)) if abs(value) >= 1 or value == 0 else repr(value)
        return repr(float(round(value, 8)))
    if isinstance(value, int):
        return str(int(value))
    return str(value)


def parse_handshake(payload: bytes) -> tuple[int, int, str]:
    """Parse the ``v{min}..{max} [options]`` greeting into (min, max, options)."""
    try:
        text = payload.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ProtocolError("handshake is not ASCII") from exc
    head, _, options = text.partition(" ")
    if not head.startswith("v"):
        raise ProtocolError(f"bad handshake {text!r}")
    lo, sep, hi = head[1:].partition("..")
    try:
        lo_v = int(lo)
        hi_v = int(hi) if sep else lo_v
    except ValueError as exc:
        raise ProtocolError(f"bad handshake {text!r}") from exc
    return lo_v, hi_v, options


def split_fields(payload: bytes) -> list[str]:
    """Split a frame payload into text fields (the trailing NUL ends the last field)."""
    try:
        text = payload.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ProtocolError("non-ASCII bytes in request") from exc
    if not text.endswith("\0"):
        raise ProtocolError("frame does not end with a NUL terminator")
    return text[:-1].split("\0")


def parse_request(payload: bytes, version: int = SERVER_VERSION) -> Request:
    """Decode one inbound frame into a :class:`Request` (raises ProtocolError if unreadable)."""
    fields = split_fields(payload)
    try:
        msg_id = int(fields[0])
    except ValueError as exc:
        raise ProtocolError(f"message id {fields[0]!r} is not a number") from exc
    rest = fields[1:]
    name = OUT_NAMES.get(msg_id, f"UNKNOWN_{msg_id}")
    args: dict[str, Any] = {}
    layout = REQUEST_LAYOUTS.get(msg_id)
    if layout is not None:
        i = 0
        for key in layout:
            if key == "@contract":
                if len(rest) < i + len(CONTRACT_KEYS):
                    raise ProtocolError(f"{name}: truncated contract")
                args["contract"] = dict(zip(CONTRACT_KEYS, rest[i : i + len(CONTRACT_KEYS)], strict=True))
                i += len(CONTRACT_KEYS)
            else:
                args[key] = rest[i] if i < len(rest) else None
                i += 1
        if msg_id == 3:
            args.update(parse_place_order(rest, version))
        if msg_id == 1:
            tail = rest[i:]
            # BAG legs are never sent for stocks; delta-neutral flag then generic ticks.
            tail = tail[4:] if tail and tail[0] == "1" else tail[1:]
            args["genericTickList"] = tail[0] if tail else ""
            args["snapshot"] = tail[1] if len(tail) > 1 else "0"
            args["regulatorySnapshot"] = tail[2] if len(tail) > 2 else "0"
        required = [k for k in layout if k not in ("@contract",)][:2]
        for key in required:
            if args.get(key) is None and key not in ("version",):
                raise ProtocolError(f"{name}: missing field {key}")
    return Request(msg_id, name, rest, args)


def to_int(value: Any, default: int = 0) -> int:
    """Parse an int field; empty or unset becomes ``default``; "inf", "nan" or garbage raise ProtocolError."""
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"not an integer: {value!r}") from exc
    if not math.isfinite(number):
        raise ProtocolError(f"not an integer: {value!r}")
    if number >= UNSET_INT:
        return default
    return int(number)


def to_float(value: Any, default: float = 0.0) -> float:
    """Parse a float field; empty or unset becomes ``default``; "nan" or garbage raise ProtocolError."""
    if value in (None, ""):
        return default
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"not a number: {value!r}") from exc
    if math.isnan(out):
        raise ProtocolError(f"not a number: {value!r}")
    return default if out >= UNSET_DOUBLE else out


# ---------------------------------------------------------------- outbound message encoders


def managed_accounts(accounts: list[str]) -> list[Any]:
    return [15, 1, ",".join(accounts)]


def next_valid_id(order_id: int) -> list[Any]:
    return [9, 1, order_id]


def error(req_id: int, code: int, text: str, advanced: str = "") -> list[Any]:
    # Keep the text ASCII without backslashes: clients unicode-escape decode it.
    return [4, 2, req_id, code, text.replace("\\", "/"), advanced]


def current_time(epoch: int) -> list[Any]:
    return [49, 1, epoch]


def market_data_type(req_id: int, md_type: int) -> list[Any]:
    return [58, 1, req_id, md_type]


def tick_price(req_id: int, tick_type: int, price: float, size: float, mask: int = 0) -> list[Any]:
    return [1, 6, req_id, tick_type, price, size, mask]


def tick_size(req_id: int, tick_type: int, size: float) -> list[Any]:
    return [2, 6, req_id, tick_type, size]


def tick_req_params(req_id: int, min_tick: float, bbo_exchange: str) -> list[Any]:
    return [81, req_id, min_tick, bbo_exchange, 3]


def tick_by_tick_last(req_id: int, tick_type: int, t: int, price: float, size: float, exchange: str) -> list[Any]:
    return [99, req_id, tick_type, t, price, size, 0, exchange, ""]


def tick_by_tick_bid_ask(req_id: int, t: int, bid: float, ask: float, bid_size: float, ask_size: float) -> list[Any]:
    return [99, req_id, 3, t, bid, ask, bid_size, ask_size, 0]


def tick_by_tick_mid(req_id: int, t: int, mid: float) -> list[Any]:
    return [99, req_id, 4, t, mid]


def contract_data(
    req_id: int, c: StockContract, trading_hours: str, liquid_hours: str, exchange: str = "SMART"
) -> list[Any]:
    out = [
        10,
        req_id,
        c.symbol,
        "STK",
        "",
        0.0,
        "",
        exchange,
        c.currency,
        c.symbol,
        c.market_name,
        c.symbol,
        c.con_id,
        c.min_tick,
        "",
        c.order_types,
        c.valid_exchanges,
        1,
        0,
        c.long_name,
        c.primary_exchange,
        "",
        c.industry,
        c.category,
        c.subcategory,
        c.time_zone,
        trading_hours,
        liquid_hours,
        "",
        "",
        1,
        "ISIN",
        c.isin,
        1,
        "",
        "",
        c.market_rule_ids,
        "",
        c.stock_type,
        1,
        1,
        100,
    ]
    return out


def contract_data_end(req_id: int) -> list[Any]:
    return [52, 1, req_id]


def historical_data(req_id: int, start: str, end: str, bars: list[HistoricalBar]) -> list[Any]:
    out: list[Any] = [17, req_id, start, end, len(bars)]
    for date, o, h, lo, c, v, wap, count in bars:
        out += [date, o, h, lo, c, v, wap, count]
    return out


def historical_data_update(req_id: int, bar: HistoricalBar) -> list[Any]:
    date, o, h, lo, c, v, wap, count = bar
    return [90, req_id, count, date, o, c, h, lo, wap, v]


def real_time_bar(
    req_id: int, t: int, o: float, h: float, lo: float, c: float, v: float, wap: float, count: int
) -> list[Any]:
    return [50, 3, req_id, t, o, h, lo, c, v, wap, count]


def head_timestamp(req_id: int, ts: str) -> list[Any]:
    return [88, req_id, ts]


def order_status(o: Order) -> list[Any]:
    return [
        3,
        o.order_id,
        o.status,
        o.filled,
        o.remaining,
        o.avg_fill_price,
        o.perm_id,
        o.parent_id,
        o.last_fill_price,
        o.client_id,
        "",
        0.0,
    ]


def _order_common_head(o: Order, c: StockContract) -> list[Any]:
    return [
        c.con_id,
        c.symbol,
        "STK",
        "",
        0.0,
        "",
        "",
        o.exchange,
        c.currency,
        c.symbol,
        c.symbol,
        o.action,
        o.total_quantity,
        o.order_type,
        o.lmt_price if o.lmt_price is not None else UNSET_DOUBLE,
        o.aux_price if o.aux_price is not None else UNSET_DOUBLE,
        o.tif,
        o.oca_group,
        o.account,
        "",
        0,
        o.order_ref,
    ]


def _what_if_fields(o: Order, status: str | None, w: WhatIf | None) -> list[Any]:
    # whatIf, orderState.status, margin before / change / after (init, maint, equity), commission, min, max,
    # currency, warningText.
    if w is None:
        return [False, status or o.status] + [""] * 13 + [""]
    b, a = w.before, w.after
    return [
        True,
        status or "PreSubmitted",
        _money(b.init),
        _money(b.maint),
        _money(b.equity),
        _money(a.init - b.init),
        _money(a.maint - b.maint),
        _money(a.equity - b.equity),
        _money(a.init),
        _money(a.maint),
        _money(a.equity),
        w.commission,
        w.commission,
        w.commission,
        "USD",
        w.warning,
    ]


def _money(v: float) -> str:
    return f"{v:.2f}"


def open_order(o: Order, c: StockContract, status: str | None = None, what_if: WhatIf | None = None) -> list[Any]:
    """OPEN_ORDER at version 178 (layout of ibapi OrderDecoder); with ``what_if``, the answer to a what-if order."""
    out: list[Any] = [5, o.order_id] + _order_common_head(o, c)
    out += [
        o.client_id,
        o.perm_id,
        o.outside_rth,
        False,
        0.0,
        "",
        "",
        "",
        "",
        "",  # ..faPercentage
        "",
        o.good_till_date,
        "",
        "",
        "",
        0,
        "",
        -1,
        0,  # modelCode..auctionStrategy
        "",
        "",
        "",
        "",
        "",  # startingPrice, stockRefPrice, delta, stockRangeLower/Upper
        "",
        False,
        False,
        o.all_or_none,
        "",
        o.oca_type or 3,
        False,
        False,
        "",  # displaySize..nbboPriceCap
        o.parent_id,
        0,  # parentId, triggerMethod
        "",
        0,
        "",
        "",  # volatility, volatilityType, deltaNeutralOrderType, deltaNeutralAuxPrice
        False,
        0,  # continuousUpdate, referencePriceType
        "",
        "",  # trailStopPrice, trailingPercent
        "",
        "",  # basisPoints, basisPointsType
        "",
        0,
        0,  # comboLegsDescrip, comboLegsCount, orderComboLegsCount
        0,  # smartComboRoutingParamsCount
        "",
        "",
        "",  # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement
        "",  # hedgeType
        False,  # optOutSmartRouting
        "",
        "",  # clearingAccount, clearingIntent
        False,  # notHeld
        False,  # deltaNeutralContractPresent
        "",  # algoStrategy
        False,  # solicited
        *_what_if_fields(o, status, what_if),
        False,
        False,  # randomizeSize, randomizePrice
        0,  # conditions count
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        0,  # adjusted order params
        "",
        "",
        "",  # soft dollar tier
        "",  # cashQty
        False,
        False,
        False,
        False,  # dontUseAutoPriceForHedge..usePriceMgmtAlgo
        "",
        "",
        False,  # duration, postToAts, autoCancelParent
        "",
        "",
        "",
        "",
        "",
    ]  # minTradeQty..midOffsetAtHalf
    return out


def open_order_end() -> list[Any]:
    return [53, 1]


def completed_order(o: Order, c: StockContract, completed_time: str) -> list[Any]:
    """COMPLETED_ORDER at version 178 (layout of ibapi processCompletedOrderMsg)."""
    out: list[Any] = [101] + _order_common_head(o, c)
    out += [
        o.perm_id,
        o.outside_rth,
        False,
        0.0,
        "",
        "",
        "",
        "",  # permId..faPercentage
        "",
        o.good_till_date,
        "",
        "",
        "",
        0,
        "",
        -1,  # modelCode..exemptCode
        "",
        "",
        "",
        "",
        "",  # box + peg-to-stock params
        "",
        False,
        False,
        "",
        3,
        0,  # displaySize, sweepToFill, allOrNone, minQty, ocaType, triggerMethod
        "",
        0,
        "",
        "",
        False,
        0,  # vol params
        "",
        "",  # trailStopPrice, trailingPercent
        "",
        0,
        0,
        0,  # combo legs, smart combo params
        "",
        "",
        "",
        "",  # scale params, hedgeType
        "",
        "",
        False,
        False,
        "",  # clearing, notHeld, dnc present, algoStrategy
        False,
        o.status,
        False,
        False,  # solicited, status, randomize flags
        0,  # conditions
        "",
        "",
        "",
        False,
        False,  # trailStopPrice, lmtPriceOffset, cashQty, dontUseAuto.., isOms
        "",
        o.filled,
        0,
        False,
        "",
        False,
        False,
        "",  # autoCancelDate..parentPermId
        completed_time,
        o.status,
        "",
        "",
        "",
        "",
        "",
    ]
    return out


def completed_orders_end() -> list[Any]:
    return [102]


def execution_data(req_id: int, e: Execution, c: StockContract) -> list[Any]:
    return [
        11,
        req_id,
        e.order_id,
        c.con_id,
        c.symbol,
        "STK",
        "",
        0.0,
        "",
        "",
        e.order_exchange,
        c.currency,
        c.symbol,
        c.symbol,
        e.exec_id,
        e.time,
        e.account,
        e.exchange,
        e.side,
        e.shares,
        e.price,
        e.perm_id,
        e.client_id,
        0,
        e.cum_qty,
        e.avg_price,
        e.order_ref,
        "",
        "",
        "",
        e.last_liquidity,
        False,
    ]


def execution_data_end(req_id: int) -> list[Any]:
    return [55, 1, req_id]


def commission_report(exec_id: str, commission: float, currency: str, realized: float | None) -> list[Any]:
    # An opening fill realizes nothing: IB writes the unset double itself (an empty field decodes as 0.0).
    unset = UNSET_DOUBLE_TEXT
    return [59, 1, exec_id, commission, currency, unset if realized is None else realized, unset, ""]


def position(account: str, c: StockContract, qty: float, avg_cost: float) -> list[Any]:
    return [
        61,
        3,
        account,
        c.con_id,
        c.symbol,
        "STK",
        "",
        0.0,
        "",
        "",
        c.primary_exchange,
        c.currency,
        c.symbol,
        c.symbol,
        qty,
        avg_cost,
    ]


def position_end() -> list[Any]:
    return [62, 1]


def position_multi(req_id: int, account: str, c: StockContract, qty: float, avg_cost: float) -> list[Any]:
    return [
        71,
        1,
        req_id,
        account,
        c.con_id,
        c.symbol,
        "STK",
        "",
        0.0,
        "",
        "",
        c.primary_exchange,
        c.currency,
        c.symbol,
        c.symbol,
        qty,
        avg_cost,
        "",
    ]


def position_multi_end(req_id: int) -> list[Any]:
    return [72, 1, req_id]


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> list[Any]:
    return [63, 1, req_id, account, tag, value, currency]


def account_summary_end(req_id: int) -> list[Any]:
    return [64, 1, req_id]


def account_value(key: str, value: str, currency: str, account: str) -> list[Any]:
    return [6, 2, key, value, currency, account]


def portfolio_value(
    c: StockContract,
    qty: float,
    mark: float,
    value: float,
    avg_cost: float,
    unrealized: float,
    realized: float,
    account: str,
) -> list[Any]:
    return [
        7,
        8,
        c.con_id,
        c.symbol,
        "STK",
        "",
        0.0,
        "",
        "",
        c.primary_exchange,
        c.currency,
        c.symbol,
        c.symbol,
        qty,
        mark,
        value,
        avg_cost,
        unrealized,
        realized,
        account,
    ]


def account_update_time(hhmm: str) -> list[Any]:
    return [8, 1, hhmm]


def account_download_end(account: str) -> list[Any]:
    return [54, 1, account]


def account_update_multi(req_id: int, account: str, key: str, value: str, currency: str) -> list[Any]:
    return [73, 1, req_id, account, "", key, value, currency]


def account_update_multi_end(req_id: int) -> list[Any]:
    return [74, 1, req_id]


def family_codes(accounts: list[str]) -> list[Any]:
    """FAMILY_CODES: one entry per account; individual accounts are in no family, so each code is empty."""
    out: list[Any] = [78, len(accounts)]
    for account in accounts:
        out += [account, ""]
    return out


def user_info(req_id: int) -> list[Any]:
    return [107, req_id, ""]


def market_rule(rule_id: int, min_tick: float) -> list[Any]:
    return [93, rule_id, 1, 0, min_tick]


def symbol_samples(req_id: int, contracts: list[StockContract]) -> list[Any]:
    out: list[Any] = [79, req_id, len(contracts)]
    for c in contracts:
        out += [c.con_id, c.symbol, "STK", c.primary_exchange, c.currency, 0, c.long_name, ""]
    return out


def pnl(req_id: int, daily: float, unrealized: float, realized: float) -> list[Any]:
    return [94, req_id, daily, unrealized, realized]


def pnl_single(req_id: int, qty: float, daily: float, unrealized: float, realized: float, value: float) -> list[Any]:
    return [95, req_id, qty, daily, unrealized, realized, value]


def handshake_reply(version: int, time_text: str) -> list[Any]:
    """The server's answer to the client's greeting: exactly the version and the connection time."""
    return [version, time_text]


def current_time_millis(millis: int) -> list[Any]:
    return [109, millis]


def tick_snapshot_end(req_id: int) -> list[Any]:
    return [57, 1, req_id]


def tick_generic(req_id: int, tick_type: int, value: float) -> list[Any]:
    return [45, 6, req_id, tick_type, value]


def market_depth(req_id: int, position: int, operation: int, side: int, price: float, size: float) -> list[Any]:
    """UPDATE_MKT_DEPTH: operation 0 insert, 1 update, 2 delete; side 0 ask, 1 bid."""
    return [12, 1, req_id, position, operation, side, price, size]


def mkt_depth_exchanges(rows: list[tuple[str, str, str, str]]) -> list[Any]:
    out: list[Any] = [80, len(rows)]
    for exchange, sec_type, listing, service in rows:
        out += [exchange, sec_type, listing, service, UNSET_INT]
    return out


def historical_ticks_midpoint(req_id: int, ticks: list[tuple[int, float, float]], done: bool = True) -> list[Any]:
    out: list[Any] = [96, req_id, len(ticks)]
    for t, price, size in ticks:
        out += [t, "", price, size]
    return out + [done]


def historical_ticks_bid_ask(
    req_id: int, ticks: list[tuple[int, float, float, float, float]], done: bool = True
) -> list[Any]:
    out: list[Any] = [97, req_id, len(ticks)]
    for t, bid, ask, bid_size, ask_size in ticks:
        out += [t, 0, bid, ask, bid_size, ask_size]
    return out + [done]


def historical_ticks_last(req_id: int, ticks: list[tuple[int, float, float, str]], done: bool = True) -> list[Any]:
    out: list[Any] = [98, req_id, len(ticks)]
    for t, price, size, exchange in ticks:
        out += [t, 0, price, size, exchange, ""]
    return out + [done]


def historical_schedule(
    req_id: int, start: str, end: str, time_zone: str, sessions: list[tuple[str, str, str]]
) -> list[Any]:
    out: list[Any] = [106, req_id, start, end, time_zone, len(sessions)]
    for s_start, s_end, ref_date in sessions:
        out += [s_start, s_end, ref_date]
    return out


def display_group_list(req_id: int, groups: str) -> list[Any]:
    return [67, 1, req_id, groups]


def sec_def_opt_params_end(req_id: int) -> list[Any]:
    return [76, req_id]


def soft_dollar_tiers(req_id: int) -> list[Any]:
    return [77, req_id, 0]


def news_providers() -> list[Any]:
    return [85, 0]


def historical_news_end(req_id: int) -> list[Any]:
    return [87, req_id, False]


def smart_components(req_id: int, venues: list[tuple[int, str, str]]) -> list[Any]:
    out: list[Any] = [82, req_id, len(venues)]
    for bit, exchange, letter in venues:
        out += [bit, exchange, letter]
    return out


def scanner_parameters(xml: str) -> list[Any]:
    return [19, 1, xml]
