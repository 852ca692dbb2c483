"""The IB gateway helpers every caller shares, in one place: which accounts a gateway may manage, a short read-only
ib_async connection on an event loop of its own, and resolving instrument ids to the gateway's contracts.

Callers: the session start (every instrument of a book must resolve), the session host's preflight (accounts and
instruments, before a node is built), approve_live, the gateway monitor and fetch_bars. Nothing here is cached: a
contract or an account list seen at one gateway says nothing about the next one, or about the same one later.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ats_site.config import LIVE_ACCOUNT_RE, PAPER_ACCOUNT_RE, GatewayConfig

DEFAULT_TIMEOUT = 5.0  # seconds for the handshake, and for each answer: a start must not hang a page for long
CLIENT_ID_IN_USE = 326
NO_SECURITY_DEFINITION = 200
INFO_CODES = range(2100, 2200)  # "data farm connection is OK" and friends: informational, never a cause
# Client ids for the short checks that are not a session's own (sessions use 100..9099, see node.client_ids; the
# monitor 9400..9403; fetch_bars 17). A random one from a range of its own, so two starts at once rarely collide,
# and one that does (error 326) retries with another.
CHECK_CLIENT_IDS = range(9100, 9400)
CHECK_ATTEMPTS = 3


def where(gateway: GatewayConfig) -> str:
    """host:port of a gateway, as every message names it."""
    return f"{gateway.host}:{gateway.port}"


def one_line(exc: BaseException) -> str:
    """An unexpected exception as one line: its type and its message with line breaks folded."""
    return " ".join(f"{type(exc).__name__} {exc}".split())


# -- account-kind rules ----------------------------------------------------------------------------------------


def account_problem(gateway: GatewayConfig, accounts: list[str]) -> str:
    """Why the accounts a gateway manages do not fit its environment and configured account ('' when they do).

    Paper gateways manage only paper ('DU…') accounts and live ones only live ('U…') accounts: a gateway that
    manages any other kind is the wrong gateway on this port, whatever else it manages.
    """
    at = where(gateway)
    if not accounts:
        return f"the gateway at {at} reports no managed accounts"
    environment = gateway.environment
    if environment == "paper":
        own, other, other_kind = PAPER_ACCOUNT_RE, LIVE_ACCOUNT_RE, "live"
    else:
        own, other, other_kind = LIVE_ACCOUNT_RE, PAPER_ACCOUNT_RE, "paper"
    wrong = [a for a in accounts if not own.match(a)]
    if wrong and all(other.match(a) for a in wrong):
        return (
            f"a {other_kind} gateway is on the {environment} port {at}: "
            f"it manages {other_kind} account {', '.join(wrong)}"
        )
    if wrong:
        return f"the gateway on the {environment} port {at} manages {', '.join(wrong)}, not {environment} accounts"
    if not gateway.account_id:
        return f"no {environment} account is configured to check the gateway at {at} against"
    if gateway.account_id not in accounts:
        return f"account {gateway.account_id} is not managed by the gateway at {at} (it manages {', '.join(accounts)})"
    return ""


# -- ib_async on an event loop of its own ----------------------------------------------------------------------


@contextmanager
def ib_async_on_running_loop() -> Iterator[None]:
    """Bind ib_async to the running loop for the duration, and release it after.

    ib_async caches the first loop it ever sees (util.getLoop is functools.cache'd), so a second loop in the same
    process (tests, the benchmark, a check after a check) would drive sockets on a closed loop. Only one loop per
    process may use ib_async at a time.
    """
    from ib_async.util import getLoop

    getLoop.cache_clear()
    getLoop()
    try:
        yield
    finally:
        getLoop.cache_clear()


def run_on_own_loop[T](make: Callable[[], Awaitable[T]]) -> T:
    """Run an ib_async coroutine to completion on a fresh event loop bound to ib_async, from synchronous code.

    The loop is never made the thread's current loop, so a caller's own loop (if any) is left as it was. Checks
    from several threads of one process (a threaded web server) take turns: ib_async's loop binding is global.
    """

    async def bound() -> T:
        with ib_async_on_running_loop():
            return await make()

    with _IB_ASYNC_TURN:
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(bound())
        finally:
            loop.close()


_IB_ASYNC_TURN = threading.Lock()


# -- a read-only connection --------------------------------------------------------------------------------------


class GatewayUnreachable(Exception):
    """The gateway could not be reached; the message is one line naming it, `reason` a short machine code."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


async def connect_readonly(ib: Any, gateway: GatewayConfig, client_id: int, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Open a read-only API connection that fetches nothing at start-up; GatewayUnreachable with the cause if not."""
    from ib_async.ib import StartupFetchNONE

    at, codes = where(gateway), []

    def on_error(req_id: int, code: int, text: str, contract: object = None) -> None:
        codes.append(code)  # only the handshake's codes explain a failed connect

    ib.errorEvent += on_error
    try:
        await ib.connectAsync(
            gateway.host, gateway.port, clientId=client_id, timeout=timeout, readonly=True, fetchFields=StartupFetchNONE
        )
    except ConnectionRefusedError:
        raise GatewayUnreachable(f"connection refused at {at}: no gateway is listening", "refused") from None
    except (TimeoutError, ConnectionError) as exc:
        if CLIENT_ID_IN_USE in codes:
            raise GatewayUnreachable(f"client id {client_id} is already in use at {at}", "client-id-in-use") from None
        if isinstance(exc, TimeoutError):
            raise GatewayUnreachable(
                f"no API handshake from {at} within {timeout:g}s: gateway silent or hung", "timeout"
            ) from None
        raise GatewayUnreachable(
            f"the gateway at {at} closed the API connection during the handshake", "closed"
        ) from None
    except OSError as exc:
        raise GatewayUnreachable(
            f"cannot connect to {at}: {exc.strerror or type(exc).__name__}", "unreachable"
        ) from None
    finally:
        ib.errorEvent -= on_error


# -- contracts -----------------------------------------------------------------------------------------------------


def contract_query(instrument_id: Any) -> Any:
    """The ib_async Contract that asks for an instrument id exactly as the Nautilus IB adapter does (IB_SIMPLIFIED:
    QQQ.NASDAQ is STK on SMART with primary exchange NASDAQ)."""
    import ib_async
    from nautilus_trader.adapters.interactive_brokers.config import SymbologyMethod
    from nautilus_trader.adapters.interactive_brokers.parsing.instruments import (
        instrument_id_to_ib_contract,
        possible_exchanges_for_venue,
    )
    from nautilus_trader.model.identifiers import InstrumentId

    if isinstance(instrument_id, str):
        instrument_id = InstrumentId.from_str(instrument_id)
    venue = instrument_id.venue.value
    exchanges = possible_exchanges_for_venue(venue)
    exchange = exchanges[0] if len(exchanges) == 1 else venue
    ib_contract = instrument_id_to_ib_contract(instrument_id, exchange, SymbologyMethod.IB_SIMPLIFIED)
    fields = {f.name for f in dataclasses.fields(ib_async.Contract)}
    return ib_async.Contract(**{k: v for k, v in ib_contract.dict().items() if k in fields and k != "strike"})


def unknown_contract(instrument_id: object, code: int | None) -> str:
    """The one line for an instrument the gateway does not know."""
    cause = f"IB error {code}" if code is not None else "no contract details"
    return f"{instrument_id}: the gateway knows no such contract ({cause})"


class InstrumentProblem(ValueError):
    """The gateway's contract for an instrument id cannot be traded as that instrument; one line naming it."""


def instrument_from_details(details: Any, instrument_id: Any) -> Any:
    """The Nautilus instrument parsed from the gateway's contract details, by the adapter's own parser (so it is the
    definition a TradingNode would load); InstrumentProblem when it cannot be built or is another instrument."""
    import msgspec
    from nautilus_trader.adapters.interactive_brokers.common import IBContract, IBContractDetails
    from nautilus_trader.adapters.interactive_brokers.config import SymbologyMethod
    from nautilus_trader.adapters.interactive_brokers.parsing.instruments import parse_instrument

    ib_fields = {f.name for f in msgspec.structs.fields(IBContract)}
    details = dataclasses.replace(details)  # the caller's copy keeps its ib_async contract
    details.contract = IBContract(
        **{
            k: v
            for k, v in dataclasses.asdict(details.contract).items()
            if k in ib_fields and k not in ("comboLegs", "deltaNeutralContract")
        }
    )
    venue = str(instrument_id).rsplit(".", 1)[-1]
    try:
        instrument = parse_instrument(
            IBContractDetails.from_contract_details(details), venue, SymbologyMethod.IB_SIMPLIFIED
        )
    except (ValueError, TypeError) as exc:
        raise InstrumentProblem(
            f"{instrument_id}: cannot build an instrument from the gateway's contract: {exc}"
        ) from None
    if str(instrument.id) != str(instrument_id):
        raise InstrumentProblem(f"{instrument_id}: the gateway resolved it to {instrument.id}")
    return instrument


async def resolve_instruments_on(
    ib: Any, instrument_ids: list[str], timeout: float = DEFAULT_TIMEOUT
) -> dict[str, str]:
    """Ask a connected gateway for each instrument's contract at once; instrument id -> problem ('' when known)."""
    queries = {iid: contract_query(iid) for iid in instrument_ids}
    codes: dict[int, int] = {}  # id(query) -> the gateway's error for it

    def on_error(req_id: int, code: int, text: str, contract: object = None) -> None:
        if contract is not None and code not in INFO_CODES:
            codes.setdefault(id(contract), code)

    ib.errorEvent += on_error
    try:
        answers = await asyncio.gather(
            *(asyncio.wait_for(ib.reqContractDetailsAsync(q), timeout) for q in queries.values()),
            return_exceptions=True,
        )
    finally:
        ib.errorEvent -= on_error
    problems = {}
    for (iid, query), answer in zip(queries.items(), answers, strict=True):
        if isinstance(answer, TimeoutError):
            problems[iid] = f"{iid}: the gateway did not answer for its contract within {timeout:g}s"
        elif isinstance(answer, BaseException):
            problems[iid] = f"{iid}: the contract request failed: {type(answer).__name__} {answer}".strip()
        elif not answer:
            problems[iid] = unknown_contract(iid, codes.get(id(query)))
        else:
            try:
                instrument_from_details(answer[0], iid)
                problems[iid] = ""
            except InstrumentProblem as exc:
                problems[iid] = str(exc)
    return problems


# -- the checks callers run -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayCheck:
    """What one short read-only connection found: the managed accounts and each instrument's problem ('' if known)."""

    accounts: list[str]
    instruments: dict[str, str]

    def unknown(self) -> list[str]:
        """The one-line problems of the instruments that did not resolve, in the order asked."""
        return [problem for problem in self.instruments.values() if problem]


def check_gateway(
    gateway: GatewayConfig,
    instrument_ids: Sequence[str] = (),
    *,
    client_id: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> GatewayCheck:
    """Connect briefly (read-only, own client id), read the managed accounts, resolve the instruments, disconnect.

    GatewayUnreachable when it cannot connect. With no client id given, one from CHECK_CLIENT_IDS is taken at random
    and another tried when the gateway says it is in use.
    """
    ids = list(dict.fromkeys(instrument_ids))
    attempts = [client_id] if client_id is not None else random.sample(CHECK_CLIENT_IDS, CHECK_ATTEMPTS)

    async def check(cid: int) -> GatewayCheck:
        from ib_async import IB

        ib = IB()
        try:
            await connect_readonly(ib, gateway, cid, timeout)
            accounts = list(ib.managedAccounts())
            return GatewayCheck(accounts, await resolve_instruments_on(ib, ids, timeout) if ids else {})
        finally:
            ib.disconnect()

    logging.getLogger("ib_async").setLevel(logging.CRITICAL)  # the gateway's errors are reported, not logged raw
    for index, cid in enumerate(attempts):
        try:
            return run_on_own_loop(functools.partial(check, cid))
        except GatewayUnreachable as exc:
            if exc.reason != "client-id-in-use" or index == len(attempts) - 1:
                raise
    raise AssertionError("unreachable")  # the loop returns or raises


def resolve_instruments(gateway: GatewayConfig, instrument_ids: list[str]) -> dict[str, str]:
    """Every instrument id -> its problem at the gateway ('' when the gateway knows it); GatewayUnreachable if the
    gateway cannot be reached. The one seam the fast tests replace (tests/conftest.py `known_instruments`)."""
    return check_gateway(gateway, instrument_ids).instruments
