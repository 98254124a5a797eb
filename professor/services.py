"""The Professor's public services: other code and scripts call these.

- readiness(line=None) -> Readiness (.ready, .reasons, .numbers)
- suggest_parameters(snapshot, worker=None) -> {hyperparameter: (value, reason)}
- ask(user, words, principal=None, in_process=False) -> Answer
- start_cycle(user, trigger=..., queue=True) -> Cycle; run_cycle(cycle_id, in_process=...) -> Cycle
- import_memory(force=False) -> MemoryResult
"""

from professor.commands import Answer, ask, route
from professor.cycle import run_cycle, start_cycle
from professor.lease import LeaseBusy
from professor.memory import import_memory
from professor.parameters import suggest_parameters
from professor.readiness import Readiness, readiness

__all__ = ["Answer", "LeaseBusy", "Readiness", "ask", "import_memory", "readiness", "route", "run_cycle",
           "start_cycle", "suggest_parameters"]
