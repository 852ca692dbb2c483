"""Plain-text summaries of stored backtest runs for the terminal."""

from __future__ import annotations

NONE = "—"  # a metric below its minimum sample, or undefined (see trading.backtests.metrics)


def _pct(value: float | None) -> str:
    return NONE if value is None else f"{value:.2%}"


def _num(value: float | None) -> str:
    return NONE if value is None else f"{value:.2f}"


def _rounding(notes: dict) -> str:
    r = (notes or {}).get("rounding") or {}
    if not r.get("recorded"):
        return "not recorded"
    return f"{r['prices_rounded']} of {r['prices_checked']} prices changed, largest {r['max_change']:.4g}"


def format_summary(run) -> str:
    """A multi-line summary of one BacktestRun: what ran and its metrics."""
    m = run.metrics
    currency = "USD"
    lines = [
        f"Backtest #{run.pk}: {run.strategy} on {run.instrument_id} {run.bar_spec}, "
        f"{run.data_start:%Y-%m-%d} .. {run.data_end:%Y-%m-%d} ({run.bar_count} bars), code {run.code_hash[:12]}",
        f"  params        {run.params}",
        f"  fills at      {run.fill_convention}",
        f"  data          sha256 {run.data_hash[:16] or NONE}; rounding to tick: {_rounding(run.data_notes)}",
        f"  trades        {m['trades']}",
        f"  total return  {_pct(m['total_return'])}",
        f"  CAGR          {_pct(m['cagr'])}",
        f"  Sharpe        {_num(m['sharpe'])}",
        f"  Sortino       {_num(m['sortino'])}",
        f"  max drawdown  {_pct(m['max_drawdown'])}",
        f"  win rate      {_pct(m['win_rate'])}",
        f"  exposure      {_pct(m['exposure'])}",
        f"  commissions   {currency} {m['commissions']:,.2f}",
        f"  end equity    {currency} {m['end_equity']:,.2f} (from {m['start_equity']:,.2f})",
        f"  run time      {run.duration_seconds:.2f} s",
    ]
    return "\n".join(lines)


def format_sweep_row(run, keys: list[str] | None = None) -> str:
    """One line per run of a sweep, showing the swept parameters (all parameters when keys is None)."""
    m = run.metrics
    shown = ", ".join(f"{k}={run.params.get(k)}" for k in (keys or run.params))
    return (
        f"#{run.pk:<5} {shown:<40} trades {m['trades']:>4}  return {_pct(m['total_return']):>8}  "
        f"Sharpe {_num(m['sharpe']):>5}  maxDD {_pct(m['max_drawdown']):>8}"
    )
