"""The official openai client against a served Academy (uvicorn in a child process)."""

import pytest

openai = pytest.importorskip("openai", reason="the dev extra installs the official openai client")

from tests.academy_server import AcademyServer  # noqa: E402
from tests.models_registry.factories import serving_setup  # noqa: E402

MESSAGES = [{"role": "user", "content": "What is a lesson?"}]


@pytest.fixture(scope="module")
def server(toy, tmp_path_factory):
    data = tmp_path_factory.mktemp("openai-server")
    with AcademyServer(data, username="admin", password="pw-for-openai-tests",
                       setup=serving_setup(toy, data, "Viewer")) as running:
        yield running


@pytest.fixture
def ai(server):
    return openai.OpenAI(base_url=server.base + "/v1", api_key=(server.data_dir / "agent-token").read_text(),
                         max_retries=0, timeout=120)


def test_the_client_gets_a_completion_and_lists_the_line(ai):
    assert [m.id for m in ai.models.list()] == ["venom-coder"]
    answer = ai.chat.completions.create(model="venom-coder", messages=MESSAGES, max_tokens=12)
    assert answer.system_fingerprint == "venom-coder:v1"
    assert isinstance(answer.choices[0].message.content, str) and answer.usage.completion_tokens <= 12


def test_the_client_streams_the_same_answer_chunk_by_chunk(ai):
    whole = ai.chat.completions.create(model="venom-coder", messages=MESSAGES, max_tokens=12)
    chunks = list(ai.chat.completions.create(model="venom-coder", messages=MESSAGES, max_tokens=12, stream=True,
                                             stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == whole.choices[0].finish_reason
    assert chunks[-1].usage.total_tokens == whole.usage.total_tokens


def test_the_client_streams_n_choices(ai):
    chunks = list(ai.chat.completions.create(model="venom-coder", messages=MESSAGES, max_tokens=8, n=2,
                                             stream=True))
    assert {c.choices[0].index for c in chunks} == {0, 1}


def test_the_client_reads_the_error_objects(ai):
    with pytest.raises(openai.BadRequestError) as caught:
        ai.chat.completions.create(model="venom-coder", messages=[{"role": "user", "content": "x " * 2000}])
    assert caught.value.code == "context_length_exceeded" and caught.value.param == "messages"
    assert "maximum context length is 512 tokens" in caught.value.message
    with pytest.raises(openai.BadRequestError) as caught:
        ai.chat.completions.create(model="venom-coder", messages=MESSAGES, logprobs=True)
    assert caught.value.param == "logprobs" and caught.value.code == "unsupported_parameter"
    with pytest.raises(openai.BadRequestError) as caught:  # refused before any event is streamed
        ai.chat.completions.create(model="venom-coder", messages=MESSAGES, stream=True, n=99)
    assert caught.value.param == "n"
    with pytest.raises(openai.NotFoundError) as caught:
        ai.chat.completions.create(model="no-such-line", messages=MESSAGES)
    assert caught.value.code == "model_not_found"


def test_a_wrong_key_is_an_authentication_error(server):
    bad = openai.OpenAI(base_url=server.base + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        bad.models.list()
    assert caught.value.code == "invalid_api_key"
