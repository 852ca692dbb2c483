"""Pure statistics of the gauntlet's rungs: numpy/scipy/arch in, RungVerdict out; no Django, no engine.

One module per concern, each rung a function returning research.verdicts.RungVerdict:
    integrity        rung 0  check_data_integrity
    causality        rung 1  check_lookahead, check_warmup_sensitivity
    sample_size      rung 2  check_sample_size (minimum_backtest_length)
    costs            rung 3  check_cost_stress
    deflated_sharpe  rung 4  deflated_sharpe_ratio (trial_sharpe_variance)
    pbo              rung 5  probability_of_backtest_overfitting
    spa              rung 6  hansen_spa
    walk_forward     rung 7  walk_forward_windows, walk_forward_from_sweep, judge_walk_forward
    stability        rung 8  check_parameter_stability
    monte_carlo      rung 9  monte_carlo_drawdown
Thresholds and bootstrap settings: thresholds.GauntletThresholds. Nothing is imported here, so loading one
rung does not pull in the calendars or arch.
"""
