"""Operator forms: the start panel (one sleeve or a book of sleeves), the live confirmation and the kill switch."""

from __future__ import annotations

import uuid

from django import forms

from trading.strategies.registry import strategy_names


def _strategy_choices():
    return [(name, name) for name in strategy_names()]


def new_start_token() -> str:
    """A fresh one-time token for a start form."""
    return uuid.uuid4().hex


class StartSessionForm(forms.Form):
    """One sleeve (strategy, instrument, bar spec, params JSON) or a book of sleeves as JSON; validated against
    each strategy's config with the error placed on the field it concerns."""

    mode = forms.ChoiceField(
        choices=[("sleeve", "One sleeve"), ("book", "Sleeves book (JSON)")], initial="sleeve", widget=forms.RadioSelect
    )
    # One per rendered form: a repeated submit of the same form returns the session the first one started.
    start_token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput, initial=new_start_token)
    strategy = forms.ChoiceField(choices=_strategy_choices, required=False)
    instrument_id = forms.CharField(
        label="Instrument", required=False, initial="QQQ.NASDAQ", help_text="SYMBOL.VENUE, e.g. QQQ.NASDAQ"
    )
    bar_spec = forms.CharField(
        label="Bar spec",
        required=False,
        initial="5-SECOND-LAST",
        help_text="e.g. 5-SECOND-LAST, 1-MINUTE-LAST, 1-DAY-LAST",
    )
    params = forms.CharField(
        label="Params (JSON)",
        required=False,
        max_length=4000,
        initial="{}",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60, "spellcheck": "false"}),
    )
    sleeves = forms.CharField(
        label="Sleeves book (JSON list)",
        required=False,
        max_length=64_000,
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "cols": 60,
                "spellcheck": "false",
                "placeholder": '[{"strategy": "ibs_reversion", '
                '"instrument_id": "QQQ.NASDAQ", "bar_spec": '
                '"5-SECOND-LAST", "params": {}}]',
            }
        ),
    )

    def clean(self):
        from trading.sessions.guards import SessionRefused, parse_book_json
        from trading.strategies.params import StrategyParamsError, build_config, parse_params

        data = super().clean()
        if self.errors:
            return data
        if data.get("mode") == "book":
            raw = (data.get("sleeves") or "").strip()
            if not raw:
                self.add_error("sleeves", "give the book as a JSON list of sleeves")
                return data
            try:
                data["book"] = parse_book_json(raw, "sleeves")
            except SessionRefused as exc:
                self.add_error("sleeves", str(exc).removeprefix("sleeves: "))
            return data
        for name in ("strategy", "instrument_id", "bar_spec"):
            if not data.get(name):
                self.add_error(name, "This field is required.")
        if self.errors:
            return data
        try:
            params = parse_params(data.get("params"))
        except StrategyParamsError as exc:
            self.add_error("params", str(exc).removeprefix("params: "))
            return data
        try:
            build_config(data["strategy"], data["instrument_id"].strip(), data["bar_spec"].strip(), params)
        except StrategyParamsError as exc:
            self.add_error(*self.field_for_error(str(exc)))
            return data
        data["book"] = [
            {
                "strategy": data["strategy"],
                "instrument_id": data["instrument_id"].strip(),
                "bar_spec": data["bar_spec"].strip(),
                "params": params,
            }
        ]
        return data

    @staticmethod
    def field_for_error(message: str) -> tuple[str, str]:
        """Map a one-line StrategyParamsError to the form field it concerns."""
        if message.startswith("malformed instrument id"):
            return "instrument_id", message
        if "bar spec" in message:
            return "bar_spec", message
        if message.startswith("unknown strategy"):
            return "strategy", message
        # "<param>: ..." and "unknown parameter ..." belong to the params JSON; keep the parameter name.
        return "params", message


class LiveConfirmForm(forms.Form):
    """The second step of a live start: the reviewed book and the live account id typed by hand."""

    book = forms.CharField(widget=forms.HiddenInput)
    start_token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput, initial=new_start_token)
    confirm_account = forms.CharField(
        label="Type the live account id to start",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_book(self):
        from trading.sessions.guards import SessionRefused, parse_book_json

        try:
            return parse_book_json(self.cleaned_data["book"])
        except SessionRefused:
            raise forms.ValidationError("the reviewed book was corrupted; start over") from None


class KillForm(forms.Form):
    """The kill switch: a required reason, and halt only or halt and flatten."""

    reason = forms.CharField(max_length=500, widget=forms.TextInput(attrs={"size": 40, "required": True}))
    flatten = forms.TypedChoiceField(
        choices=[
            ("0", "Halt only: no new orders, cancel working orders, keep positions"),
            ("1", "Halt and flatten: also close every position at market"),
        ],
        coerce=lambda v: v == "1",
        initial="0",
        widget=forms.RadioSelect,
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("a reason is required")
        return reason
