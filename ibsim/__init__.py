"""ibsim: a simulated Interactive Brokers Gateway speaking the real TWS API socket protocol.

Unmodified clients (nautilus-ibapi's ``EClient`` as used by the Nautilus IB adapter, and
``ib_async``) connect to it, load contracts, stream data, place/cancel/fill orders and
reconcile. Django-free. Text protocol at server version 178.

Run it::

    python -m ibsim --port 4002 --account DU1234567      # prints "ibsim listening on 127.0.0.1:4002"

In-process (asyncio)::

    from ibsim import IBSim
    sim = IBSim(accounts=["DU1234567"], port=0, seed=7, speed=1.0)
    await sim.start(); sim.port; ...; await sim.stop()

From synchronous code (a background thread with its own loop)::

    from ibsim import run_in_thread
    with run_in_thread(accounts=["DU1234567"], speed=0) as handle:
        handle.port

Every public ``IBSim`` method is callable on the handle, thread-safely:

Inspection
    ``received(name=None, client_id=None)`` the order log: one dict per inbound message
    (``seq, time, conn, client_id, msg_id, name, fields, args, error``); unreadable frames are
    logged with ``name="INVALID"`` / ``"INVALID_HANDSHAKE"``.
    ``orders()`` every order with status; ``positions(account=None)``; ``executions()``;
    ``account_values(account=None)``; ``client_ids()`` of connected sessions.
Seeding
    ``seed_position(account, symbol, qty, avg_cost)``;
    ``seed_working_order(account, symbol, action, qty, order_type="LMT", lmt_price=None,
    aux_price=None, tif="GTC", client_id=0, order_id=None, order_ref="")``.
Faults
    ``drop_connections()``; ``refuse_connections(seconds)``; ``go_silent(True|False)``;
    ``send_connectivity(1100|1101|1102)``; ``reject_next_orders(n)``; ``set_ack_delay(seconds)``.
Time and data
    ``advance(seconds)`` moves simulated time and pushes the resulting quotes, bars and fills
    at once; ``push_bar()`` advances one 5-second step; ``set_speed(x)`` (0 freezes the clock,
    which makes tests deterministic). ``handle.call(fn, *args)`` runs anything on the loop.

Constructor keywords (``IBSim`` and ``run_in_thread``): ``accounts, host, port, state_file,
seed, speed, cash, commission ("fixed"|"tiered"), partial_fill_qty, slippage_ticks,
control_port, data_dir, start_time, client_id_grace, tick_interval, calendar ("always"|"XNYS"),
pacing (False), account_kind ("margin"|"cash")``. The defaults trade around the clock without
pacing, which is what the project's tests and ``make run`` rely on; ``calendar="XNYS"`` and
``pacing=True`` switch on the realistic rules (see ``python -m ibsim --help`` for what ibsim models
and what it answers as unsupported).

Layout: ``protocol`` (wire format: request parsing, every outgoing frame's encoder), ``connection``
(one socket's state), ``handlers/`` (market data, orders, account, unsupported: each maps protocol
message names to handlers), ``server`` (lifecycle, faults, framing, dispatch), ``broker`` (orders,
fills, positions), ``margin`` (Reg T), ``market`` (clock and prices), ``sessions`` (calendar),
``pacing``.

Data honesty: daily history of QQQ/SPY/GOOG is real (bundled ``data/daily``), re-dated to end
the weekday before the simulator's first day; AAPL, MSFT and IWM have synthetic histories; the
live stream of every symbol is a synthetic seeded random walk continuing from the last close.
"""

from .sim import IBSim, SimHandle, run_in_thread

__all__ = ["IBSim", "SimHandle", "run_in_thread"]
