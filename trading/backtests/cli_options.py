"""Command-line options shared by the backtest and sweep_backtests commands."""

from trading.backtests.engine import DEFAULT_FILL_CONVENTION, FILL_CONVENTIONS, BacktestCosts

DEFAULTS = BacktestCosts()


def add_run_arguments(parser) -> None:
    """--strategy/--instrument/--bar-spec/--params, the date range, the fill convention and the cost options."""
    parser.add_argument("--strategy", required=True, help="Registered strategy name, e.g. ibs_reversion.")
    parser.add_argument("--instrument", required=True, help="Instrument id SYMBOL.VENUE, e.g. QQQ.NASDAQ.")
    parser.add_argument("--bar-spec", required=True, help="Bar spec as Nautilus spells it, e.g. 1-DAY-LAST.")
    parser.add_argument("--params", default="", help="Strategy parameters as JSON, e.g. '{\"buy_threshold\": 0.15}'.")
    parser.add_argument("--start", default=None, help="First date (YYYY-MM-DD, inclusive); default: first stored bar.")
    parser.add_argument("--end", default=None, help="Last date (YYYY-MM-DD, inclusive); default: last stored bar.")
    parser.add_argument(
        "--fill-convention",
        choices=FILL_CONVENTIONS,
        default=DEFAULT_FILL_CONVENTION,
        help="When a MARKET order decided on a bar fills: next_open, the next bar's open as live (default), "
        "or signal_close, the signal bar's close.",
    )
    parser.add_argument("--capital", type=float, default=DEFAULTS.capital, help="Starting cash (default %(default)s).")
    parser.add_argument(
        "--commission-per-share",
        type=float,
        default=DEFAULTS.commission_per_share,
        help="Commission per share (default %(default)s, IB fixed pricing).",
    )
    parser.add_argument(
        "--commission-min",
        type=float,
        default=DEFAULTS.commission_minimum,
        help="Minimum commission per order (default %(default)s).",
    )
    parser.add_argument(
        "--commission-max-pct",
        type=float,
        default=DEFAULTS.commission_max_pct,
        help="Commission cap as a fraction of trade value (default %(default)s).",
    )
    parser.add_argument(
        "--slippage-prob",
        type=float,
        default=DEFAULTS.slippage_prob,
        help="Probability that a MARKET order fills one tick worse (default %(default)s).",
    )


def costs_from_options(options: dict) -> dict:
    """The cost options as BacktestCosts fields."""
    return {
        "capital": options["capital"],
        "commission_per_share": options["commission_per_share"],
        "commission_minimum": options["commission_min"],
        "commission_max_pct": options["commission_max_pct"],
        "slippage_prob": options["slippage_prob"],
    }
