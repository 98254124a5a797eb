"""The Overview's counters follow every kind of record, not only runs: imports and review decisions."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from academy_site.asgi import application
from tests.training.live_helpers import close_thread_connections, open_socket


@pytest.fixture(autouse=True)
async def _close_thread_connections():
    yield
    await close_thread_connections()


def _value(message: dict, key: str) -> int:
    return next(c["value"] for c in message["counts"] if c["key"] == key)


@pytest.mark.django_db(transaction=True)
async def test_importing_and_reviewing_lessons_updates_the_counters_live(client, viewer, carol, settings):
    from curation.models import Lesson
    from curation.services import review
    from curation.services.ingest import ingest_lessons
    from jobs import broadcast

    settings.LIVE_BATCH_WINDOW_MS = 20
    communicator, connected, _ = await open_socket(application, "/ws/overview/", client, viewer)
    assert connected
    assert _value(await communicator.receive_json_from(timeout=5), "lessons_pending") == 0
    broadcast.set_server_loop(asyncio.get_running_loop())

    await database_sync_to_async(ingest_lessons)([{"situation": "The import crashed on a BOM",
                                                    "action": "Opened it with utf-8-sig"}])
    assert _value(await communicator.receive_json_from(timeout=5), "lessons_pending") == 1

    lesson = await database_sync_to_async(Lesson.objects.get)()
    await database_sync_to_async(review.approve)(lesson, user=carol)
    message = await communicator.receive_json_from(timeout=5)
    assert _value(message, "lessons_pending") == 0 and _value(message, "lessons_approved") == 1
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_promotion_updates_the_candidate_counter_live(client, viewer, alice, settings):
    from jobs import broadcast
    from models_registry import services
    from tests.models_registry.factories import make_line, make_version

    settings.LIVE_BATCH_WINDOW_MS = 20
    version = await database_sync_to_async(lambda: make_version(make_line()))()
    communicator, connected, _ = await open_socket(application, "/ws/overview/", client, viewer)
    assert connected
    assert _value(await communicator.receive_json_from(timeout=5), "candidate_versions") == 1
    broadcast.set_server_loop(asyncio.get_running_loop())
    await database_sync_to_async(services.promote_version)(version, alice, "ship it")
    while (message := await communicator.receive_json_from(timeout=5))["type"] != "overview.counts":
        assert message["type"] == "model.activated"
    assert _value(message, "candidate_versions") == 0
    await communicator.disconnect()
