"""The one admin access rule for Academy's records: read with a role, change with a capability.

Staff holding `view_permission` (default: the dashboard role) see the records; staff holding
`change_permission` may change them (None: nobody, the records are changed by services only);
with `services_only`, nobody adds or deletes them by hand either.
"""

from accounts.roles import VIEW_DASHBOARD


class RoleAccess:
    view_permission: str = VIEW_DASHBOARD
    change_permission: str | None = None
    services_only: bool = False

    def has_module_permission(self, request):
        return request.user.is_staff and request.user.has_perm(self.view_permission)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return bool(self.change_permission) and request.user.is_staff and request.user.has_perm(
            self.change_permission)

    def has_add_permission(self, request, *args):
        return False if self.services_only else super().has_add_permission(request, *args)

    def has_delete_permission(self, request, obj=None):
        return False if self.services_only else super().has_delete_permission(request, obj)
