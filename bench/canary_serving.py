"""The cost of a second adapter: /v1 with one adapter loaded against two (a canary), in the same run.

    .venv/bin/python bench/canary_serving.py [--clients 4] [--seconds 8] [--max-tokens 8] [--share 0.5]

In-process, as bench/hot_swap.py: client threads post to /v1/chat/completions through the whole
view stack (token auth, the serving runtime, the engine) against a throwaway SQLite database, on
the toy base model with two LoRA adapters. Each request carries its own X-Academy-Session.

1. One adapter: v1 is active, no canary (the baseline).
2. Two adapters: a canary lets v2 answer --share of the conversations; the same load.

The phases alternate --rounds times (the canary stopped and started again in between), each
getting --seconds in all, so that the shared machine's drift falls on both.

Reported: p50/p95 latency and throughput of each phase, and their ratios (two / one). Every
answer is checked against the answer its version gives alone (greedy decoding: the adapter
decides the text), and the header X-Academy-Version against the canary's assignment of the
session: a request answered by the wrong adapter is counted (target 0).
"""

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hot_swap import BODY, _fixtures, _pct, _setup  # noqa: E402


class Load:
    """Client threads posting chat completions with fresh sessions; records (start, end, label, text, session)."""

    def __init__(self, token: str, clients: int, max_tokens: int, tag: str):
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        self.body = {**BODY, "max_tokens": max_tokens}
        self.records: list[tuple] = []
        self.stop = threading.Event()
        self.tag = tag
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(clients)]

    def _run(self, index: int):
        from django.db import connections
        from django.test import Client

        client = Client()
        n = 0
        while not self.stop.is_set():
            n += 1
            session = f"{self.tag}-{index}-{n}"
            start = time.perf_counter()
            try:
                response = client.post("/v1/chat/completions", self.body, content_type="application/json",
                                       HTTP_X_ACADEMY_SESSION=session, **self.headers)
                ok = response.status_code == 200
                label = response["X-Academy-Version"].split(":")[1] if ok else None
                text = response.json()["choices"][0]["message"]["content"] if ok else None
            except Exception:  # a failed request, counted below
                label = text = None
            self.records.append((start, time.perf_counter(), label, text, session))
        connections.close_all()

    def run(self, seconds: float) -> "Load":
        for t in self.threads:
            t.start()
        time.sleep(seconds)
        self.stop.set()
        for t in self.threads:
            t.join()
        return self


class _Merged:
    def __init__(self, records):
        self.records = records


def _merge(loads) -> "_Merged":
    return _Merged([record for load in loads for record in load.records])


def _reference(line, versions, max_tokens: int) -> dict:
    from models_registry.serving.chat import prepare

    answers = {}
    for version in versions:
        prepared = prepare(line.name, BODY["messages"], max_tokens=max_tokens, version=version)
        try:
            answers[version.label] = prepared.generate(0, max_tokens=max_tokens).text
        finally:
            prepared.close()
    return answers


def _summary(name: str, load: Load, seconds: float) -> dict:
    done = [r for r in load.records if r[2]]
    latencies = [end - start for start, end, *_ in done]
    return {"name": name, "requests": len(done), "failed": len(load.records) - len(done),
            "p50_ms": _pct(latencies, 0.5), "p95_ms": _pct(latencies, 0.95), "per_s": len(done) / seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=12.0, help="seconds of load per phase, all rounds")
    parser.add_argument("--max-tokens", type=int, default=8)
    parser.add_argument("--share", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two phases")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="academy-canary-serving-"))
    _setup(data_dir)
    from models_registry import canary as canaries
    from models_registry.serving import runtime

    admin, token, line, v1, v2 = _fixtures(data_dir)
    reference = _reference(line, (v1, v2), args.max_tokens)
    assert reference["v1"] != reference["v2"], "the two adapters must answer differently to tell them apart"
    Load(token, 1, args.max_tokens, "warm").run(1.0)  # base model and first adapter loaded
    ones, twos, canaries_run, loaded = [], [], {}, {}
    per_phase = args.seconds / args.rounds
    for r in range(args.rounds):  # alternate the phases: a noisy machine drifts, and both see the drift
        ones.append(Load(token, args.clients, args.max_tokens, f"one{r}").run(per_phase))
        loaded["one"] = runtime.loaded_adapters(line.base_model)
        canary = canaries.start_canary(v2, admin, share=args.share)
        runtime.notify_canary(line.name)
        Load(token, 1, args.max_tokens, f"warm{r}").run(0.5)  # the candidate's adapter loaded
        two = Load(token, args.clients, args.max_tokens, f"two{r}").run(per_phase)
        twos.append(two)
        canaries_run[id(two)] = canary
        loaded["two"] = runtime.loaded_adapters(line.base_model)
        canaries.stop_canary(line, admin, "benchmark phase over")
        runtime.notify_canary(line.name)
    one, two = _merge(ones), _merge(twos)

    wrong = 0
    for load in ones + twos:
        canary = canaries_run.get(id(load))
        for *_, label, text, session in load.records:
            if label is None:
                continue
            expected = "v1"
            if canary is not None and runtime.in_canary(canary.pk, f"session:{session}", canary.share):
                expected = "v2"
            wrong += label != expected or text != reference[label]
    loaded_one, loaded_two = loaded["one"], loaded["two"]
    rows = [_summary(f"one adapter ({len(loaded_one)} loaded)", one, args.seconds),
            _summary(f"two adapters ({len(loaded_two)} loaded)", two, args.seconds)]
    candidate_share = sum(1 for r in two.records if r[2] == "v2") / max(1, len(two.records))
    print(f"{args.clients} clients, {args.seconds:.0f} s per phase, max_tokens {args.max_tokens}, "
          f"canary share {args.share} (v2 answered {candidate_share:.1%} of phase two)")
    print(f"{'phase':28} {'requests':>8} {'failed':>6} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7}")
    for r in rows:
        print(f"{r['name']:28} {r['requests']:8d} {r['failed']:6d} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} "
              f"{r['per_s']:7.2f}")
    print(f"ratio two/one: p95 {rows[1]['p95_ms'] / rows[0]['p95_ms']:.2f}, "
          f"throughput {rows[1]['per_s'] / rows[0]['per_s']:.2f}")
    print(f"answered by the wrong adapter: {wrong} of {sum(r['requests'] for r in rows)}")
    return 1 if wrong or rows[0]["failed"] or rows[1]["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
