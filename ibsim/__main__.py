"""Command line: ``python -m ibsim --port 4002 --account DU1234567``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from .margin import ACCOUNT_KINDS
from .sessions import CALENDARS
from .sim import IBSim

EPILOG = """\
data: daily history of QQQ, SPY and GOOG is REAL (data/daily/*.csv, see data/README.md),
re-dated so its last bar is the weekday before ibsim's first day. AAPL, MSFT and IWM have
SYNTHETIC seeded daily histories. The live stream (quotes, trades, depth, 5-second and intraday
bars) of every symbol is a SYNTHETIC seeded random walk continuing from the last daily close;
intraday history before the start (up to 60 days) is a seeded walk backwards from it. Prices
keep walking when the market is closed.

what ibsim models (answered as a gateway answers them):
  orders      MKT, LMT, STP, STP LMT; tif DAY, GTC, IOC, FOK, GTD; what-if (one openOrder with margin
              and commission figures, never an order); transmit=False (held until transmitted);
              parentId (attached orders wait for the parent to fill, are cancelled with it, and
              reduce each other like a bracket); OCA groups type 1 (cancel) and 2/3 (reduce);
              allOrNone; outsideRth (with --calendar XNYS); stop trigger methods 0/2 (last), 4
              (bid/ask), 8 (midpoint); modify and cancel; Reg T margin check (error 201).
  market data quotes (live; delayed with reqMarketDataType 3/4), snapshots and regulatory snapshots,
              tick-by-tick, market depth (10 synthetic levels), real-time bars, historical bars
              (useRTH, SCHEDULE, keepUpToDate), historical ticks (TRADES, BID_ASK, MIDPOINT).
  account     account updates/summary (AllTags, $LEDGER), positions, PnL and PnL-single
              subscriptions with daily P&L, executions, completed orders; after a fill the position and
              portfolio line at once, the account values that changed batched within 0.1 s.
what ibsim does not model (answered as a gateway answers the unsupported):
  an order using TRAIL, TRAIL LIMIT, MOC, LOC, MIT, LIT, REL, MIDPRICE or any other order type, or
  tif OPG: error 201 naming it (no order placed); order conditions, algos, goodAfterTime, cashQty, scale, hedge,
  volatility, FA and the other unmodelled fields that change what an order does: error 201 naming
  the field, no order placed. Fundamentals: 430; histograms, scanners: 162; news articles and WSH:
  10276; options: 200; FA: 321 -- each with the request's own id. Silent, as a gateway is: server
  log level, news bulletins, display-group events, cancels. Empty answers: display groups, option
  parameters, soft-dollar tiers, news providers, historical news. A malformed request: 320 with its
  id (321 for an invalid value), and the connection stays open.

control port endpoints (GET): /state /log /drop /refuse?seconds=N /silent?on=1|0
/connectivity?code=1100|1101|1102 /reject?n=N /ack-delay?seconds=S /speed?x=X
/advance?seconds=S /seed-position?account=&symbol=&qty=&avg_cost=
/seed-order?account=&symbol=&action=&qty=&order_type=&lmt_price=&client_id=
"""


def build_parser() -> argparse.ArgumentParser:
    """The ibsim command line."""
    p = argparse.ArgumentParser(
        prog="python -m ibsim",
        description="Simulated Interactive Brokers Gateway speaking the TWS API socket protocol (server version 178).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=int,
        default=4002,
        help="TWS API port (default 4002, the paper gateway port; 0 picks a free port)",
    )
    p.add_argument(
        "--account",
        action="append",
        dest="accounts",
        metavar="ACCOUNT",
        help="managed account id; repeat for several (default DU1234567; use a U... id for a live-port simulation)",
    )
    p.add_argument(
        "--state",
        metavar="FILE",
        help="JSON file holding accounts, positions, orders and executions; loaded at "
        "start, saved on every change and on shutdown (survives restarts)",
    )
    p.add_argument("--seed", type=int, default=7, help="seed of the synthetic price paths (default 7)")
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated seconds per wall second (default 1; e.g. 43200 = one trading "
        "day every 2 s for demos with daily bars; 0 freezes the clock)",
    )
    p.add_argument(
        "--cash", type=float, default=1_000_000.0, help="starting cash per new account in USD (default 1000000)"
    )
    p.add_argument(
        "--commission",
        choices=("fixed", "tiered"),
        default="fixed",
        help="IB US stock schedule: fixed $0.005/share min $1, or tiered "
        "$0.0035/share min $0.35 plus exchange/clearing fees; max 1%% of value",
    )
    p.add_argument(
        "--partial-fills",
        type=float,
        default=None,
        metavar="QTY",
        help="fill at most QTY shares per market step (default: fill at once)",
    )
    p.add_argument(
        "--slippage-ticks", type=int, default=0, help="market and stop orders fill this many ticks worse (default 0)"
    )
    p.add_argument(
        "--control-port",
        type=int,
        default=None,
        metavar="P",
        help="also serve the HTTP control interface on this port (0 picks one)",
    )
    p.add_argument(
        "--data-dir", default=None, help="directory with <SYMBOL>.csv daily bars (default: the project's data/daily)"
    )
    p.add_argument(
        "--client-id-grace",
        type=float,
        default=1.0,
        help="seconds a reconnect may overlap the old session of the same client id before error 326 (default 1)",
    )
    p.add_argument(
        "--calendar",
        choices=CALENDARS,
        default="always",
        help="session calendar. always (default, what make run and the tests use): every weekday trades "
        "around the clock, so orders fill at any hour. XNYS: the NYSE calendar of exchange_calendars "
        "(holidays closed, half days to 13:00, regular hours 09:30-16:00 and extended hours 04:00-20:00 "
        "US/Eastern; orders outside their hours wait PreSubmitted for the open, DAY orders expire at 20:00)",
    )
    p.add_argument(
        "--pacing",
        action="store_true",
        help="enforce IB's pacing rules: historical requests (identical within 15 s, 6 for one contract "
        "in 2 s, 60 in 10 min: error 162) and 50 messages/s per client (error 100). Off by default",
    )
    p.add_argument(
        "--account-kind",
        choices=ACCOUNT_KINDS,
        default="margin",
        help="margin model of the accounts: margin (default; Reg T: 50%% initial margin, 25%% maintenance on "
        "longs, 30%% on shorts) or cash (100%%, no short sales). Orders beyond it are rejected with error 201",
    )
    p.add_argument("--log-level", default="WARNING", help="Python logging level (default WARNING)")
    return p


async def amain(args: argparse.Namespace) -> None:
    sim = IBSim(
        accounts=args.accounts or ["DU1234567"],
        host=args.host,
        port=args.port,
        state_file=args.state,
        seed=args.seed,
        speed=args.speed,
        cash=args.cash,
        commission=args.commission,
        partial_fill_qty=args.partial_fills,
        slippage_ticks=args.slippage_ticks,
        control_port=args.control_port,
        data_dir=args.data_dir,
        client_id_grace=args.client_id_grace,
        calendar=args.calendar,
        pacing=args.pacing,
        account_kind=args.account_kind,
    )
    await sim.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"ibsim listening on {args.host}:{sim.port}", flush=True)
    if sim.control:
        print(f"ibsim control on http://{args.host}:{sim.control_port}/", file=sys.stderr, flush=True)
    await stop.wait()
    await sim.stop()


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
