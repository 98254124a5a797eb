"""What the Professor shows on the Overview: a counter, the readiness decision and the last cycles."""

from django.template.loader import render_to_string
from django.urls import reverse

from accounts.roles import VIEW_DASHBOARD

RECENT_CYCLES = 5


def counts() -> list[dict]:
    from professor.models import Cycle, Outcome

    return [{"key": "cycles_promoted", "label": "Cycles that promoted", "url": reverse("professor"),
             "value": Cycle.objects.filter(outcome=Outcome.PROMOTED).count()}]


def panel(request):
    from professor.models import Cycle
    from professor.readiness import readiness

    if not request.user.has_perm(VIEW_DASHBOARD):
        return None
    cycles = list(Cycle.objects.prefetch_related("journal").order_by("-created_at", "-id")[:RECENT_CYCLES])
    return render_to_string("professor/_overview_panel.html", {"readiness": readiness(), "cycles": cycles},
                            request=request)
