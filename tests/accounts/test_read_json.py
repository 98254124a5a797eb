import tracemalloc

from django.core.exceptions import RequestDataTooBig

from accounts.api import read_json


class FakeChunkedRequest:
    """A request whose body Django refused while streaming it (chunked: no Content-Length)."""

    headers: dict = {}

    @property
    def body(self):
        raise RequestDataTooBig("too big")


def test_an_oversized_streamed_body_is_a_413_without_a_buffer_of_the_limits_size():
    limit = 50 * 1024 * 1024
    tracemalloc.start()
    data, response = read_json(FakeChunkedRequest(), limit)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert data is None and response.status_code == 413
    assert peak < 1024 * 1024  # the old code built a bytes object of limit + 1 to say so
