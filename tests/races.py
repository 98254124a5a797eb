"""Racing threads against the database: the helper the one-of-many tests (registration, cycles) share."""

import threading

from django.db import connection


def race(racers: int, attempt, *, refusals: tuple[type[Exception], ...] = ()) -> tuple[list, list[str], list[str]]:
    """Call attempt() from `racers` threads released together, each on its own connection.

    Returns (what the calls returned, the refusals' messages (exceptions of the `refusals` types), the other
    errors' reprs); a test asserts on all three.
    """
    barrier = threading.Barrier(racers)
    returned, refused, errors = [], [], []

    def run():
        try:
            barrier.wait(timeout=10)
            returned.append(attempt())
        except refusals as exc:
            refused.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - handed to the test's assertions
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return returned, refused, errors
