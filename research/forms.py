"""The Research start forms: a backtest, a sweep and a gauntlet, with the options of the commands that run them.

The forms only collect text and numbers; the checks are the commands' own (prepare_backtest, plan_sweep,
do_start_gauntlet), so the browser and the terminal refuse the same input with the same one-line message.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms

from trading.backtests.cli_options import DEFAULTS
from trading.backtests.engine import DEFAULT_FILL_CONVENTION, FILL_CONVENTIONS
from trading.strategies.registry import strategy_names


def new_token() -> str:
    """A fresh one-time token: a start form submitted twice starts once."""
    return uuid.uuid4().hex


def _textarea(rows: int, placeholder: str = "") -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "cols": 50, "spellcheck": "false", "placeholder": placeholder})


class ResearchRunForm(forms.Form):
    """What every research run needs: the strategy and its data, params, window and costs."""

    token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput, initial=new_token)
    # A plain text field with a select widget: an unknown name is refused by the same check as the commands'.
    strategy = forms.CharField(max_length=100, widget=forms.Select)
    instrument_id = forms.CharField(label="Instrument", max_length=64, initial="QQQ.NASDAQ")
    bar_spec = forms.CharField(label="Bar spec", max_length=40, initial="1-DAY-LAST")
    params = forms.CharField(label="Params (JSON)", required=False, max_length=4000, initial="{}", widget=_textarea(2))
    start = forms.CharField(required=False, max_length=10, help_text="YYYY-MM-DD; empty: the first stored bar")
    end = forms.CharField(required=False, max_length=10, help_text="YYYY-MM-DD; empty: the last stored bar")
    capital = forms.FloatField(initial=DEFAULTS.capital)
    commission_per_share = forms.FloatField(initial=DEFAULTS.commission_per_share)
    commission_min = forms.FloatField(label="Commission minimum", initial=DEFAULTS.commission_minimum)
    commission_max_pct = forms.FloatField(label="Commission cap (fraction)", initial=DEFAULTS.commission_max_pct)
    slippage_prob = forms.FloatField(label="Slippage probability", initial=DEFAULTS.slippage_prob)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["strategy"].widget.choices = [(name, name) for name in strategy_names()]

    def costs(self) -> dict[str, float]:
        """The cost fields as BacktestCosts fields (as trading.backtests.cli_options.costs_from_options)."""
        data = self.cleaned_data
        return {
            "capital": data["capital"],
            "commission_per_share": data["commission_per_share"],
            "commission_minimum": data["commission_min"],
            "commission_max_pct": data["commission_max_pct"],
            "slippage_prob": data["slippage_prob"],
        }

    def window(self) -> tuple[str | None, str | None]:
        """The start and end dates as typed, None when empty."""
        return (self.cleaned_data.get("start") or "").strip() or None, (
            self.cleaned_data.get("end") or ""
        ).strip() or None

    def first_error(self) -> str:
        """The form's first problem in one line, named after its field."""
        for name, errors in self.errors.items():
            label = "form" if name == "__all__" else name
            return f"{label}: {errors[0]}"
        return ""


class BacktestForm(ResearchRunForm):
    """One backtest, queued for the django-q workers."""

    fill_convention = forms.ChoiceField(
        choices=[(c, c) for c in FILL_CONVENTIONS],
        initial=DEFAULT_FILL_CONVENTION,
        help_text="next_open: the next bar's open, as live; signal_close: the signal bar's close",
    )


class SweepForm(BacktestForm):
    """Every point of a grid, one queued backtest each."""

    grid = forms.CharField(
        label="Grid (JSON)", max_length=8000, widget=_textarea(2, '{"buy_threshold": [0.1, 0.15, 0.2]}')
    )


class GauntletForm(ResearchRunForm):
    """The gauntlet: the chosen params judged over a grid around them."""

    grid = forms.CharField(
        label="Grid (JSON)", max_length=8000, widget=_textarea(2, '{"buy_threshold": [0.1, 0.15, 0.2]}')
    )
    thresholds = forms.CharField(
        label="Threshold overrides (JSON)",
        required=False,
        max_length=4000,
        widget=_textarea(2, '{"min_trades": 50}'),
        help_text="empty: the defaults; overrides are named in the verdict",
    )

    def thresholds_text(self) -> str:
        """The overrides as typed (research.services.parse_thresholds judges them, as for the command)."""
        return self.cleaned_data.get("thresholds") or ""


FORMS: dict[str, type[ResearchRunForm]] = {"backtest": BacktestForm, "sweep": SweepForm, "gauntlet": GauntletForm}
