from django import forms
from django.contrib import admin

from approvals.models import Decision, GoLiveApproval
from approvals.services import ApprovalError, check_approve, check_revoke, do_approve_live, do_revoke_live
from audit.services import user_actor
from trading.strategies.registry import strategy_names


class DecisionForm(forms.ModelForm):
    """Add form: the service's own checks run in clean(), so refusals show as form errors."""

    strategy = forms.ChoiceField(choices=())

    class Meta:
        model = GoLiveApproval
        fields = ("strategy", "instrument_id", "decision", "note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["strategy"].choices = [(n, n) for n in strategy_names()]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        check = check_approve if data["decision"] == Decision.APPROVE else check_revoke
        try:
            check(data["strategy"], data["instrument_id"], data.get("note", ""))
        except ApprovalError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


@admin.register(GoLiveApproval)
class GoLiveApprovalAdmin(admin.ModelAdmin):
    """Approvers add decisions here; nobody edits or deletes one."""

    form = DecisionForm
    list_display = ("created_at", "decision", "strategy", "instrument_id", "decided_by", "short_hash", "note")
    list_filter = ("decision", "strategy", "instrument_id")
    search_fields = ("strategy", "instrument_id", "decided_by", "note")

    @admin.display(description="code hash")
    def short_hash(self, obj):
        return obj.code_hash[:12]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in GoLiveApproval._meta.fields] if obj else []

    def has_add_permission(self, request):
        return request.user.has_perm("approvals.approve_live")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        service = do_approve_live if obj.decision == Decision.APPROVE else do_revoke_live
        try:
            created = service(
                strategy=obj.strategy, instrument_id=obj.instrument_id, note=obj.note, actor=user_actor(request.user)
            )
        except ApprovalError as exc:  # raced with another approver since clean(); nothing was written
            raise forms.ValidationError(str(exc)) from None
        obj.pk = created.pk
        obj.code_hash, obj.decided_by, obj.created_at = created.code_hash, created.decided_by, created.created_at
