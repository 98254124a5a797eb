"""Arena admin: exams (items editable by Admins until an evaluation used them), holdouts, evaluations.

Editing an exam goes through the same gate as the exam page and the API
(services.check_exam_edit: the Admin role, every item checked as an import checks it), because
a python check is code that evaluations run. Carrying a verdict out is an action that asks for
a confirmation first and then calls the service, which checks the Admin role again.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse

from accounts.admin_access import RoleAccess
from accounts.roles import MANAGE_MODELS, VIEW_DASHBOARD
from arena import services
from arena.models import Evaluation, EvaluationItem, Exam, ExamItem, Holdout, HoldoutItem
from models_registry.promotion_checks import promotion_warning


class _Readable:
    def has_module_permission(self, request):
        return request.user.has_perm(VIEW_DASHBOARD)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(VIEW_DASHBOARD)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ExamItemForm(forms.ModelForm):
    """One item, checked by arena.exams.check_item like an imported line; stored in canonical form."""

    actor = None  # the signed-in user, set per request by ExamItemInline.get_formset

    class Meta:
        model = ExamItem
        fields = ("position", "item_id", "category", "prompt", "reference", "check_spec")

    def clean(self):
        cleaned = super().clean()
        if self.errors or cleaned.get("DELETE"):
            return cleaned
        record = {"id": cleaned.get("item_id"), "category": cleaned.get("category"), "prompt": cleaned.get("prompt"),
                  "reference": cleaned.get("reference")}
        if cleaned.get("check_spec") is not None:
            record["check"] = cleaned["check_spec"]
        try:
            [item] = services.check_exam_edit(self.actor, [record])
        except services.ExamImportError as exc:
            raise ValidationError([problem.removeprefix("item 1: ") for problem in exc.problems]) from None
        except PermissionDenied as exc:
            raise ValidationError(str(exc)) from None
        cleaned.update(item_id=item["id"], category=item["category"], prompt=item["prompt"],
                       reference=item["reference"], check_spec=item.get("check"))
        return cleaned


class ExamItemInline(admin.TabularInline):
    model = ExamItem
    form = ExamItemForm
    fields = ("position", "item_id", "category", "prompt", "reference", "check_spec")
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = type("ExamItemFormFor", (formset.form,), {"actor": request.user})
        return formset

    def _editable(self, request, obj):
        # An exam an evaluation has used is frozen: comparisons must stay on the same questions.
        return services.can_edit_exams(request.user) and obj is not None and not obj.is_used

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(VIEW_DASHBOARD)

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)


@admin.register(Exam)
class ExamAdmin(RoleAccess, admin.ModelAdmin):
    change_permission = MANAGE_MODELS
    list_display = ("__str__", "line", "version", "item_count", "used", "source", "created_at")
    list_filter = ("line",)
    readonly_fields = ("line", "version", "content_sha256", "source", "created_by", "created_at")
    inlines = [ExamItemInline]

    def has_add_permission(self, request):
        return False  # new versions come from an import or the exam page

    def has_change_permission(self, request, obj=None):
        return (super().has_change_permission(request, obj) and services.can_edit_exams(request.user)
                and (obj is None or not obj.is_used))

    def has_delete_permission(self, request, obj=None):
        return False

    def save_formset(self, request, form, formset, change):
        services.check_exam_edit(request.user)  # the forms were checked; refuse again rather than trust that
        super().save_formset(request, form, formset, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        exam = form.instance
        from arena.exams import content_sha256, exam_records

        Exam.objects.filter(pk=exam.pk).update(content_sha256=content_sha256(exam_records(exam)))

    @admin.display(description="Items")
    def item_count(self, obj):
        return obj.items.count()

    @admin.display(description="Used", boolean=True)
    def used(self, obj):
        return obj.is_used


class HoldoutItemInline(_Readable, admin.TabularInline):
    model = HoldoutItem
    fields = ("source_kind", "source_id", "content_key", "messages", "answer")
    readonly_fields = fields
    extra = 0


@admin.register(Holdout)
class HoldoutAdmin(_Readable, admin.ModelAdmin):
    list_display = ("__str__", "line", "version", "seed", "item_count", "created_by", "created_at")
    list_filter = ("line",)
    inlines = [HoldoutItemInline]

    @admin.display(description="Records")
    def item_count(self, obj):
        return obj.items.count()


@admin.action(description="Carry out the verdict (promote or reject)")
def apply_verdicts(modeladmin, request, queryset):
    """A confirmation page first (what each verdict does, the stale-verdict warning, a reason); act on its POST."""
    if request.POST.get("post") != "yes":
        return TemplateResponse(request, "models_registry/admin/confirm_action.html", {
            **modeladmin.admin_site.each_context(request), "title": "Carry out these verdicts?",
            "changes": [_change(evaluation) for evaluation in queryset.select_related("candidate", "line", "against")],
            "queryset": queryset, "action": "apply_verdicts", "opts": modeladmin.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME})
    note = request.POST.get("reason", "").strip()
    for evaluation in queryset:
        try:
            done = services.apply_verdict(evaluation, request.user, note=note)
        except (services.ArenaError, PermissionDenied) as exc:
            modeladmin.message_user(request, f"evaluation {evaluation.pk}: {exc or 'permission denied'}",
                                    messages.ERROR)
        else:
            modeladmin.message_user(request, f"evaluation {evaluation.pk}: {evaluation.candidate} {done}",
                                    messages.SUCCESS)
    return None


def _change(evaluation) -> str:
    change = f"evaluation {evaluation.pk}: {evaluation.decision or 'no verdict yet'} {evaluation.candidate}"
    if evaluation.decision == "promote":
        warning = promotion_warning(evaluation.candidate, evaluation.line.active_version(),
                                    {"decision": evaluation.decision, "against": evaluation.against_label})
        change += f". Warning: {warning}" if warning else ""
    return change


class EvaluationItemInline(_Readable, admin.TabularInline):
    model = EvaluationItem
    fields = ("kind", "key", "category", "against_loss", "candidate_loss", "against_passed", "candidate_passed",
              "candidate_answer")
    readonly_fields = fields
    extra = 0


@admin.register(Evaluation)
class EvaluationAdmin(_Readable, admin.ModelAdmin):
    list_display = ("pk", "line", "candidate", "against_label", "status", "decision", "applied", "created_at")
    list_filter = ("status", "decision", "line")
    inlines = [EvaluationItemInline]
    actions = [apply_verdicts]

    def get_actions(self, request):
        return super().get_actions(request) if request.user.has_perm(MANAGE_MODELS) else {}
