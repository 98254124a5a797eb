"""Under concurrent requests, every canary conversation is answered by its own version's adapter."""

import threading

from models_registry import canary as canaries
from models_registry import services
from models_registry.serving import runtime
from models_registry.serving.chat import prepare
from tests.models_registry.factories import make_line, make_version

MESSAGES = [{"role": "user", "content": "What is a lesson?"}]


def _answer(line, *, key=None, version=None):
    prepared = prepare(line.name, MESSAGES, max_tokens=6, key=key, version=version)
    try:
        return prepared.served.label, prepared.generate(0, max_tokens=6).text
    finally:
        prepared.close()


def test_no_request_is_served_by_the_other_adapter_under_concurrency(db, toy, alice, settings):
    settings.SERVING_ACTIVE_TTL = 3600  # the threads read the cached routing, never the test's database
    line = make_line(base_model=str(toy["base"]))
    v1, v2 = make_version(line, adapter_src=toy["a"]), make_version(line, adapter_src=toy["b"])
    services.promote_version(v1, alice, "first")
    canary = canaries.start_canary(v2, alice, share=0.5)
    runtime.notify_canary(line.name)
    reference = {"v1": _answer(line, version=v1)[1], "v2": _answer(line, version=v2)[1]}
    assert reference["v1"] != reference["v2"]
    keys = [f"session:thread-{i}" for i in range(64)]
    expected = {k: "v2" if runtime.in_canary(canary.pk, k, 0.5) else "v1" for k in keys}
    assert set(expected.values()) == {"v1", "v2"}
    _answer(line, key=next(k for k in keys if expected[k] == "v2"))  # both adapters loaded before the threads

    results, failures = {}, []

    def work(chunk):
        try:
            for key in chunk:
                results[key] = _answer(line, key=key)
        except Exception as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(keys[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert len(results) == len(keys)
    for key, (label, text) in results.items():
        assert label == expected[key] and text == reference[label], key
    assert runtime.loaded_adapters(line.base_model) == {v1.adapter_name, v2.adapter_name}
