"""The policy's `canary` release (PROFESSOR_RELEASE=canary): after a promote verdict the candidate first
answers a share of the line's conversations, and the agents' outcomes decide (models_registry.canary).

The cycle ends when the canary starts; its journal follows the canary to its end through the
registry's canary hook (canary_ended), which also settles the cycle's outcome.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def release_as_canary(cycle_id: int, version, links: list[dict]):
    """Start `version` as a canary and journal it; None when no canary can run (then promote as usual)."""
    from models_registry import canary as canaries
    from professor import journal
    from professor.models import Outcome, Step, StepOutcome

    try:
        canary = canaries.start_canary(version, None, reason=f"cycle {cycle_id}: the Arena's verdict was promote")
    except canaries.CanaryError as exc:
        logger.info("cycle %s promotes %s directly: %s", cycle_id, version, exc)
        return None
    text = (f"{version.label} runs as a canary: it answers {canary.share:.0%} of {version.line.name}'s "
            f"conversations beside {canary.baseline.label} until the agents' outcomes decide")
    journal.write(cycle_id, Step.POLICY, StepOutcome.STARTED, text, links=links,
                  numbers={"decision": "promote", "applied": "canary", "canary": canary.pk, "share": canary.share})
    return Outcome.HELD, text


def canary_ended(canary) -> None:
    """The registry's hook: journal a canary's end in the cycle that started it, and settle its outcome."""
    from professor import journal
    from professor.models import Cycle, JournalEntry, Outcome, Step, StepOutcome

    started = JournalEntry.objects.filter(step=Step.POLICY, numbers__canary=canary.pk).first()
    if started is None:
        return  # started by a person, not by a cycle
    test = (canary.numbers or {}).get("test") or {}
    journal.write(started.cycle_id, Step.POLICY, StepOutcome.OK,
                  f"canary of {canary.candidate.label} ended {canary.state.replace('_', ' ')}: {canary.reason}",
                  numbers={"canary": canary.pk, "state": canary.state, "difference": test.get("difference"),
                           "low": test.get("low"), "high": test.get("high")}, links=started.links)
    settled = {"promoted": Outcome.PROMOTED, "rolled_back": Outcome.REJECTED}.get(canary.state)
    if settled:
        Cycle.objects.filter(pk=started.cycle_id, outcome=Outcome.HELD).update(outcome=settled)
