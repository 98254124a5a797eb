from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.api import api_view
from accounts.forms import ApiTokenForm
from accounts.models import ApiToken
from accounts.roles import MANAGE_USERS, VIEW_DASHBOARD, grantable_roles, roles_of
from accounts.services import create_api_token, revoke_api_token


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def api_tokens(request):
    roles = grantable_roles(request.user)
    form = ApiTokenForm(request.POST or None, roles=roles)
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = create_api_token(request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            # The raw token is rendered once and never stored.
            return render(request, "accounts/token_created.html", {"token": token, "raw": raw})
    tokens = ApiToken.objects.filter(user=request.user)
    if request.user.has_perm(MANAGE_USERS):
        tokens = ApiToken.objects.select_related("user")
    return render(request, "accounts/tokens.html", {"form": form, "tokens": tokens})


@require_POST
@permission_required(VIEW_DASHBOARD, raise_exception=True)
def revoke_token(request, token_id: int):
    token = get_object_or_404(ApiToken, pk=token_id)
    revoke_api_token(token, by=request.user)  # the service refuses anyone but its owner or an admin (403)
    messages.success(request, f"Token {token.name} revoked.")
    return redirect("api_tokens")


@api_view(VIEW_DASHBOARD)
def whoami(request):
    principal = request.principal
    body = {"username": principal.user.username, "roles": roles_of(principal.user)}
    if principal.token is not None:
        body["token"] = {"name": principal.token.name, "role": principal.token.role}
    return JsonResponse(body)
