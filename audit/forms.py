"""The Audit page's filters: a GET form whose bad values are refused in one line."""

from __future__ import annotations

from typing import Any

from django import forms

from audit.models import Action

NOT_A_DATE = {"invalid": "not a date: write YYYY-MM-DD"}
DAY = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    """Action, actor, target, a date range (in the operator's zone) and free text over action, target and payload."""

    # Text with a select widget: any action of the vocabulary is accepted, the select offers the ones logged.
    action = forms.CharField(required=False, max_length=40, widget=forms.Select)
    actor = forms.CharField(required=False, max_length=200)
    target = forms.CharField(required=False, max_length=300)
    start = forms.DateField(
        label="From", required=False, input_formats=["%Y-%m-%d"], error_messages=NOT_A_DATE, widget=DAY
    )
    end = forms.DateField(label="To", required=False, input_formats=["%Y-%m-%d"], error_messages=NOT_A_DATE, widget=DAY)
    q = forms.CharField(label="Text", required=False, max_length=200)

    def __init__(self, *args: Any, logged_actions: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offered = logged_actions if logged_actions is not None else list(Action.values)
        widget = self.fields["action"].widget
        assert isinstance(widget, forms.Select)
        widget.choices = [("", "any action"), *((a, a) for a in offered)]

    def clean_action(self) -> str:
        """An action of the audit vocabulary (or none)."""
        action = str(self.cleaned_data.get("action") or "")
        if action and action not in Action.values:
            raise forms.ValidationError(f"unknown action {action!r}")
        return action

    def clean(self) -> dict[str, Any]:
        """From must not be after To."""
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(f"from {data['start']} is after to {data['end']}")
        return data

    def first_error(self) -> str:
        """The form's first problem in one line, named after its field."""
        for name, errors in self.errors.items():
            label = "filter" if name == "__all__" else str(self.fields[name].label or name).lower()
            return f"{label}: {errors[0]}"
        return ""
