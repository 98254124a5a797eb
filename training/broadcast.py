"""Every realtime message about runs goes out through this module.

Workers call these functions; the websocket consumers subscribe to the groups named by
TrainingRun.group_name and OVERVIEW_GROUP.
"""

OVERVIEW_GROUP = "overview"


def publish_run_events(run_id: int, group_name: str, events: list[dict]) -> None:
    """Forward protocol events (metric, eval, checkpoint, done, log, status) to a run's group."""


def publish_overview() -> None:
    """Tell overview subscribers that run counters or states changed."""
