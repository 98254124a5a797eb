"""The Professor's public services: other code and scripts call these.

- readiness(line=None) -> Readiness (.ready, .reasons, .numbers)
- suggest_parameters(snapshot, worker=None) -> {hyperparameter: (value, reason)}
- ask(user, words, principal=None, in_process=False) -> Answer
- start_cycle(user, trigger=..., queue=True) -> Cycle (CycleBusy while one of the line is active);
  run_cycle(cycle_id, in_process=...) -> Cycle; cancel_cycle(cycle_id) -> status
- import_memory(force=False) -> MemoryResult
"""

from professor.commands import Answer, ask, route
from professor.cycle import CycleBusy, cancel_cycle, run_cycle, start_cycle
from professor.memory import import_memory
from professor.parameters import suggest_parameters
from professor.readiness import Readiness, readiness

__all__ = ["Answer", "CycleBusy", "Readiness", "ask", "cancel_cycle", "import_memory", "readiness", "route",
           "run_cycle", "start_cycle", "suggest_parameters"]
