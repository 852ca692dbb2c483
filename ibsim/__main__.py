"""Command line: ``python -m ibsim --port 4002 --account DU1234567``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from .sim import IBSim

EPILOG = """\
data: daily history of QQQ, SPY and GOOG is REAL (data/daily/*.csv, see data/README.md),
re-dated so its last bar is the weekday before ibsim's first day. AAPL, MSFT and IWM have
SYNTHETIC seeded daily histories. The live stream (quotes, trades, 5-second and intraday bars)
of every symbol is a SYNTHETIC seeded random walk continuing from the last daily close; the
simulated market trades continuously on weekdays and skips weekends.

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
