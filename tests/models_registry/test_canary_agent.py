"""An agent as docs/canary.md shows it: the openai client against a served Academy, outcomes with requests."""

import pytest

openai = pytest.importorskip("openai", reason="the dev extra installs the official openai client")
requests = pytest.importorskip("requests")

from tests.academy_server import AcademyServer  # noqa: E402
from tests.models_registry.factories import serving_setup  # noqa: E402

CANARY = "canary.start_canary(make_version(line, adapter_src=b), admin, share=0.5)"
MESSAGES = [{"role": "user", "content": "What is a lesson?"}]


@pytest.fixture(scope="module")
def server(toy, tmp_path_factory):
    data = tmp_path_factory.mktemp("canary-agent-server")
    setup = serving_setup(toy, data, "Operator", then=CANARY)
    with AcademyServer(data, username="admin", password="pw-for-canary-agents", setup=setup) as running:
        running.token = (data / "agent-token").read_text()
        yield running


def _feedback(server, body):
    return requests.post(f"{server.base}/api/v1/feedback", headers={"Authorization": f"Bearer {server.token}"},
                         json=body, timeout=60)


def test_an_agent_sends_outcomes_for_plain_and_streamed_completions(server):
    client = openai.OpenAI(base_url=f"{server.base}/v1", api_key=server.token, max_retries=0, timeout=120)
    seen = set()
    for i in range(8):
        response = client.chat.completions.with_raw_response.create(
            model="venom-coder", messages=MESSAGES, max_tokens=2, extra_headers={"X-Academy-Session": f"task-{i}"})
        completion = response.parse()
        version = response.headers["X-Academy-Version"]
        seen.add(version)
        assert completion.system_fingerprint == version
        answer = _feedback(server, {"completion_id": completion.id, "outcome": "success", "score": 0.9,
                                    "words": "tests pass"})
        assert answer.status_code == 201, answer.text
        assert f"venom-coder:{answer.json()['version']}" == version
    assert seen == {"venom-coder:v1", "venom-coder:v2"}  # both versions answer during the canary

    chunks = list(client.chat.completions.create(model="venom-coder", messages=MESSAGES, max_tokens=3, stream=True,
                                                 extra_headers={"X-Academy-Session": "task-streamed"}))
    streamed = _feedback(server, {"completion_id": chunks[0].id, "outcome": "failure"})
    assert streamed.status_code == 201, streamed.text
    again = _feedback(server, {"completion_id": chunks[0].id, "outcome": "success"})
    assert again.status_code == 409 and again.json()["details"][0]["field"] == "completion_id"

    canary = requests.get(f"{server.base}/api/v1/lines/venom-coder/canary",
                          headers={"Authorization": f"Bearer {server.token}"}, timeout=60).json()["canary"]
    outcomes = sum(v["outcomes"] for v in canary["versions"].values())
    assert canary["state"] == "running" and outcomes == 9
