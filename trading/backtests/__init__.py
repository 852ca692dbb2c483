"""Backtests: one Nautilus BacktestEngine per run, results computed from fills with numpy."""
