from django import forms
from django.contrib import admin
from django.utils.html import format_html

from approvals.models import Decision, GoLiveApproval
from approvals.services import ApprovalError, check_approve, check_revoke, do_approve_live, do_revoke_live
from audit.services import user_actor
from trading.strategies.registry import strategy_names


class DecisionForm(forms.ModelForm):
    """Add form: the service's own checks run in clean(), so refusals show as form errors."""

    strategy = forms.ChoiceField(choices=())

    class Meta:
        model = GoLiveApproval
        fields = ("strategy", "instrument_id", "bar_spec", "params", "decision", "note", "ladder_override")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["strategy"].choices = [(n, n) for n in strategy_names()]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            if data["decision"] == Decision.APPROVE:
                check_approve(
                    data["strategy"],
                    data["instrument_id"],
                    data.get("note", ""),
                    data.get("bar_spec", ""),
                    data.get("params") or {},
                    data.get("ladder_override", ""),
                )
            else:
                check_revoke(data["strategy"], data["instrument_id"], data.get("note", ""))
        except ApprovalError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


@admin.register(GoLiveApproval)
class GoLiveApprovalAdmin(admin.ModelAdmin):
    """Approvers add decisions here; nobody edits or deletes one."""

    form = DecisionForm
    list_display = (
        "created_at",
        "decision",
        "strategy",
        "instrument_id",
        "bar_spec",
        "decided_by",
        "short_hash",
        "evidence",
        "note",
    )
    list_filter = ("decision", "strategy", "instrument_id")
    search_fields = ("strategy", "instrument_id", "decided_by", "note")

    @admin.display(description="code hash")
    def short_hash(self, obj):
        return obj.code_hash[:12]

    @admin.display(description="ladder evidence")
    def evidence(self, obj):
        if obj.ladder_override:
            return format_html('<strong class="override">LADDER OVERRIDDEN: {}</strong>', obj.ladder_override)
        if obj.gauntlet_report_id:
            return f"gauntlet #{obj.gauntlet_report_id}, paper rung #{obj.paper_rung_id}"
        return "—"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in GoLiveApproval._meta.fields] if obj else []

    def has_add_permission(self, request):
        return request.user.has_perm("approvals.approve_live")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            if obj.decision == Decision.APPROVE:
                created = do_approve_live(
                    strategy=obj.strategy,
                    instrument_id=obj.instrument_id,
                    note=obj.note,
                    actor=user_actor(request.user),
                    bar_spec=obj.bar_spec,
                    params=obj.params or {},
                    override_ladder=obj.ladder_override,
                )
            else:
                created = do_revoke_live(
                    strategy=obj.strategy,
                    instrument_id=obj.instrument_id,
                    note=obj.note,
                    actor=user_actor(request.user),
                )
        except ApprovalError as exc:  # raced with another approver since clean(); nothing was written
            raise forms.ValidationError(str(exc)) from None
        obj.pk = created.pk
        for name in ("code_hash", "decided_by", "created_at", "params", "params_key", "bar_spec", "ladder_override"):
            setattr(obj, name, getattr(created, name))
        obj.gauntlet_report_id, obj.paper_rung_id = created.gauntlet_report_id, created.paper_rung_id
