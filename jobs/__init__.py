"""Background jobs and live updates: the job model, lifecycle, reaper, broadcaster and consumer base."""
