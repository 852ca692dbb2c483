"""GauntletThresholds: the issue's defaults, validated overrides, one-line errors naming the field."""

from __future__ import annotations

import json

import pytest

from research.stats.thresholds import DEFAULT_THRESHOLDS, GauntletThresholds


def test_defaults_are_the_issues():
    t = DEFAULT_THRESHOLDS
    assert (t.min_trades, t.min_dsr, t.max_pbo, t.max_spa_pvalue) == (100, 0.95, 0.2, 0.05)
    assert (t.min_wf_efficiency, t.min_wf_positive_frac, t.min_neighbour_sharpe_ratio) == (0.5, 0.7, 0.5)
    assert (t.mc_horizon_days, t.mc_n_sims, t.mc_max_drawdown, t.mc_max_loss_prob) == (252, 2000, 0.25, 0.05)
    assert t.min_breakeven_cost_multiple == 2.0
    json.dumps(t.as_dict())


def test_from_mapping_applies_overrides_and_accepts_json_ints_for_floats():
    t = GauntletThresholds.from_mapping({"min_trades": 50, "min_dsr": 1, "mc_max_drawdown": 0.3})
    assert (t.min_trades, t.min_dsr, t.mc_max_drawdown) == (50, 1.0, 0.3)
    assert GauntletThresholds.from_mapping(None) == DEFAULT_THRESHOLDS


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"min_trade": 5}, "min_trade"),
        ({"min_trades": 0}, "min_trades"),
        ({"min_trades": 10.5}, "min_trades"),
        ({"min_trades": True}, "min_trades"),
        ({"min_dsr": 1.5}, "min_dsr"),
        ({"min_dsr": "high"}, "min_dsr"),
        ({"max_pbo": float("nan")}, "max_pbo"),
        ({"min_breakeven_cost_multiple": 0}, "min_breakeven_cost_multiple"),
        ({"pbo_partitions": 15}, "pbo_partitions"),
        ({"reject_pbo": 0.1}, "reject_pbo"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_override_is_a_one_line_error_naming_the_field(overrides, field):
    with pytest.raises(ValueError) as info:
        GauntletThresholds.from_mapping(overrides)
    message = str(info.value)
    assert message.startswith(f"{field}:") and "\n" not in message
