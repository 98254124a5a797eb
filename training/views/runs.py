from django.contrib.auth.decorators import permission_required
from django.shortcuts import render


@permission_required("accounts.view_dashboard", raise_exception=True)
def run_list(request):
    return render(request, "training/runs/run_list.html")
