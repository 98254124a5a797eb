"""Admin: lines and versions, with promote / rollback / archive behind a confirmation page.

Everyone with a role may look; only holders of accounts.manage_models (Admin) get the
actions, and the services check the permission again on the server side.
"""

import functools

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.response import TemplateResponse

from accounts.admin_access import RoleAccess
from accounts.roles import MANAGE_MODELS
from models_registry import services
from models_registry.canary import POLICY_FIELDS, check_policy_value
from models_registry.models import Activation, Canary, CanaryPolicy, ModelLine, ModelVersion
from models_registry.promotion_checks import promotion_warning


class ReadableByRoles(RoleAccess):
    """Every role can view; nobody edits registry rows by hand (services do)."""

    services_only = True

    def get_actions(self, request):
        return super().get_actions(request) if request.user.has_perm(MANAGE_MODELS) else {}


def _confirm(modeladmin, request, queryset, *, action: str, title: str, changes: list[str], run):
    """The classic admin confirmation: show what will change; act on the second POST."""
    if request.POST.get("post") == "yes":
        try:
            for message in run(request.POST.get("reason", "").strip()):
                modeladmin.message_user(request, message, messages.SUCCESS)
        except (services.RegistryError, PermissionDenied) as exc:
            modeladmin.message_user(request, str(exc) or "permission denied", messages.ERROR)
        return None
    return TemplateResponse(request, "models_registry/admin/confirm_action.html", {
        **modeladmin.admin_site.each_context(request), "title": title, "changes": changes, "queryset": queryset,
        "action": action, "opts": modeladmin.model._meta, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME})


def _for_one(what: str):
    """An action on exactly one selected row, given to it as a fourth argument; with any other
    selection the action warns and does nothing."""
    def decorate(action):
        @functools.wraps(action)
        def act(modeladmin, request, queryset):
            if queryset.count() != 1:
                modeladmin.message_user(request, f"Select exactly one {what}.", messages.WARNING)
                return None
            return action(modeladmin, request, queryset, queryset.get())
        return act
    return decorate


def _promote(version, user, reason) -> list[str]:
    services.promote_version(version, user, reason)
    return [f"{version} is now active"]


def _rollback(line, user, reason, to_version) -> list[str]:
    activation = services.rollback_line(line, user, reason, to_version=to_version)
    return [f"{line.name} rolled back to {activation.to_version.label}"]


def _archive(versions, user) -> list[str]:
    with transaction.atomic():  # all selected versions or none
        return [f"{services.archive_version(v, user)} archived" for v in versions]


@admin.action(description="Promote the selected version")
@_for_one("version")
def promote(modeladmin, request, queryset, version):
    current = version.line.active_version()
    changes = [f"{version} becomes the active version of {version.line.name}.",
               f"{current} is archived." if current else "The line has no active version today.",
               "Serving swaps to the new adapter; agents are notified."]
    warning = promotion_warning(version, current)
    if warning:
        changes.append(f"Warning: {warning}")
    return _confirm(modeladmin, request, queryset, action="promote", title=f"Promote {version}?", changes=changes,
                    run=lambda reason: _promote(version, request.user, reason))


@admin.action(description="Roll back the line to the selected version")
@_for_one("version")
def rollback_to(modeladmin, request, queryset, version):
    current = version.line.active_version()
    changes = [f"{version} becomes active again.", f"{current} is archived." if current else ""]
    return _confirm(modeladmin, request, queryset, action="rollback_to", title=f"Roll back to {version}?",
                    changes=[c for c in changes if c],
                    run=lambda reason: _rollback(version.line, request.user, reason, version))


@admin.action(description="Archive the selected versions")
def archive(modeladmin, request, queryset):
    versions = list(queryset)
    return _confirm(modeladmin, request, queryset, action="archive", title="Archive versions?",
                    changes=[f"{v} ({v.get_status_display()}) is archived." for v in versions],
                    run=lambda reason: _archive(versions, request.user))


@admin.action(description="Roll back the selected line to its previous version")
@_for_one("line")
def rollback_line(modeladmin, request, queryset, line):
    previous, current = services.previous_version(line), line.active_version()
    changes = ([f"{previous} becomes active again; {current} is archived."] if previous
               else [f"{line.name} has no previous version to roll back to."])
    return _confirm(modeladmin, request, queryset, action="rollback_line", title=f"Roll back {line.name}?",
                    changes=changes,
                    run=lambda reason: _rollback(line, request.user, reason, None))


class ActivationInline(ReadableByRoles, admin.TabularInline):
    model = Activation
    fk_name = "line"
    fields = ("created_at", "kind", "from_version", "to_version", "created_by", "reason", "policy_overridden")
    readonly_fields = fields
    ordering = ("-created_at",)
    extra = 0


@admin.action(description="Delete the selected line with its versions")
@_for_one("line")
def delete_line(modeladmin, request, queryset, line):
    changes = [f"{line.name} and its {line.versions.count()} version(s) and activation history are deleted.",
               "Adapter folders stay on disk.", "Refused while one of its versions is active."]
    return _confirm(modeladmin, request, queryset, action="delete_line", title=f"Delete {line.name}?",
                    changes=changes, run=lambda reason: [f"{services.delete_line(line, request.user)} deleted"])


@admin.register(ModelLine)
class ModelLineAdmin(ReadableByRoles, admin.ModelAdmin):
    list_display = ("name", "base_model", "prompt_style", "active")
    search_fields = ("name", "base_model")
    inlines = [ActivationInline]
    actions = [rollback_line, delete_line]
    # Admins may rename a line (the name is checked as a slug by the model field) and edit its
    # description; the rest is set by registration and changes only through the services.
    fields = ("name", "description", "base_model", "prompt_style", "ollama_base", "created_at")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE_MODELS)

    def get_readonly_fields(self, request, obj=None):
        return ("base_model", "prompt_style", "ollama_base", "created_at")

    @admin.display(description="Active version")
    def active(self, obj):
        version = obj.active_version()
        return version.label if version else "—"


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadableByRoles, admin.ModelAdmin):
    list_display = ("__str__", "status", "arena", "base_model", "parent", "training_run", "created_at")
    list_filter = ("status", "line")
    search_fields = ("label", "line__name", "notes")
    actions = [promote, rollback_to, archive]

    @admin.display(description="Arena")
    def arena(self, obj):
        return obj.arena_decision or "—"


@admin.register(Activation)
class ActivationAdmin(ReadableByRoles, admin.ModelAdmin):
    list_display = ("created_at", "line", "kind", "from_version", "to_version", "created_by", "reason",
                    "policy_overridden")
    list_filter = ("kind", "line", "policy_overridden")


class CanaryPolicyForm(forms.ModelForm):
    """An Admin's per-line canary settings, checked by the same rules as the API's."""

    class Meta:
        model = CanaryPolicy
        fields = ("line", *POLICY_FIELDS)

    def clean(self):
        cleaned = super().clean()
        for name in POLICY_FIELDS:
            problem = check_policy_value(name, cleaned.get(name))
            if problem:
                self.add_error(name, f"{name} {problem}")
        return cleaned


@admin.register(CanaryPolicy)
class CanaryPolicyAdmin(RoleAccess, admin.ModelAdmin):
    """Empty fields use the CANARY_* settings; a running canary keeps the settings it started with."""

    form = CanaryPolicyForm
    change_permission = MANAGE_MODELS
    list_display = ("line", *POLICY_FIELDS, "updated_at")

    def has_add_permission(self, request, *args):
        return request.user.is_staff and request.user.has_perm(MANAGE_MODELS)

    def has_delete_permission(self, request, obj=None):
        return self.has_add_permission(request)


@admin.register(Canary)
class CanaryAdmin(ReadableByRoles, admin.ModelAdmin):
    list_display = ("created_at", "line", "candidate", "baseline", "share", "state", "reason")
    list_filter = ("state",)
    readonly_fields = ("line", "candidate", "baseline", "share", "policy", "state", "reason", "numbers",
                       "started_by", "created_at", "ended_at")
