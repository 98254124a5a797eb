"""The cycle page's socket: the cycle's state, then each journal entry as it is written."""

import pytest
from asgiref.sync import sync_to_async

from academy_site.asgi import application
from jobs import lifecycle
from professor import journal
from professor.cycle import start_cycle
from professor.models import Cycle
from tests.training.live_helpers import close_thread_connections, open_socket, use_layer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def memory_layer(settings):
    use_layer(settings, "memory")
    settings.LIVE_BATCH_WINDOW_MS = 0
    yield
    await close_thread_connections()


async def test_the_cycle_socket_sends_the_state_then_journal_entries(client, viewer):
    cycle = await sync_to_async(start_cycle)(None, queue=False)
    communicator, connected, code = await open_socket(application, f"/ws/jobs/cycle/{cycle.pk}/", client, viewer)
    assert connected, code
    first = await communicator.receive_json_from(timeout=5)
    assert (first["type"], first["status"], first["outcome"]) == ("job.status", "queued", "pending")

    def work():
        lifecycle.claim(Cycle, cycle.pk, worker="w")
        journal.write(cycle.pk, "readiness", "stopped", "not ready to train: 3 approved examples (minimum 100)")

    await sync_to_async(work)()
    seen = []
    while not any(m["type"] == "cycle.journal" for m in seen):
        seen.append(await communicator.receive_json_from(timeout=5))
    entry = seen[-1]
    assert entry["step"] == "readiness" and entry["message"].startswith("not ready to train: 3 approved")
    await communicator.disconnect()
