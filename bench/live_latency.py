"""Live monitoring latency: the trainer writes a metric line -> a websocket client has it.

Runs the real server (`manage.py serve`, embedded Celery worker, local backend) in a
subprocess, once with the in-memory channel layer and once with Redis. For each layer and
for 1, 10 and 100 concurrent clients it starts a run through the start-run form; the run's
trainer is FakeTrainer (tests/training/fake_live_trainer.py), which stamps every metric line
with the time it wrote it. Every client records, for each point it receives live, the
delay from that stamp; points that came in a snapshot count as delivered but not as latency.

Baseline, in the same run: the websocket transport itself (ping -> pong round trip on the
same server), so the ratio shows what the pipeline (stdout -> ingest -> database ->
broadcast batching -> consumer) adds on top of the socket.

    .venv/bin/python bench/live_latency.py [--steps 100] [--interval 0.1] [--clients 1,10,100]

Client and server share the machine's cores (2 here), so absolute figures are pessimistic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.academy_server import AcademyServer  # noqa: E402  (needs the repository on sys.path)

PASSWORD = "bench-password-1"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
FORM = {"base_model": "academy-test/fake-tiny", "backend": "local", "lora_rank": 16, "lora_alpha": 32,
        "lora_dropout": 0.05, "target_modules": "all-linear", "learning_rate": 0.0002, "num_epochs": 1,
        "batch_size": 8, "gradient_accumulation": 1, "max_seq_length": 1024, "seed": 42, "eval_every_steps": 50}


# ---------------------------------------------------------------------------- server
def server_for(layer: str, steps: int, interval: float, data_dir: Path) -> AcademyServer:
    env = {
        "TRAINING_TRAINER_MODULE": "tests.training.fake_live_trainer", "FAKE_TRAINER_STEPS": str(steps),
        "FAKE_TRAINER_STEP_SECONDS": str(interval), "FAKE_TRAINER_START_SECONDS": "4",
        "TRAINING_INGEST_FLUSH_SECONDS": os.environ.get("TRAINING_INGEST_FLUSH_SECONDS", "0.1"),
    }
    if layer == "redis":
        env["REDIS_URL"] = REDIS_URL
        subprocess.run(["redis-cli", "-u", REDIS_URL, "flushdb"], check=True, capture_output=True)
    return AcademyServer(data_dir, username="bench", password=PASSWORD, env=env)


def sign_in(base: str) -> requests.Session:
    session = requests.Session()
    session.get(base + "/accounts/login/")
    session.post(base + "/accounts/login/", data={"username": "bench", "password": PASSWORD,
                                                  "csrfmiddlewaretoken": session.cookies["csrftoken"]},
                 headers={"Referer": base + "/accounts/login/"})
    if "sessionid" not in session.cookies:
        raise RuntimeError("sign-in failed")
    return session


def start_run(session: requests.Session, base: str) -> int:
    page = session.get(base + "/training/runs/new/").text
    dataset = re.search(r'<option value="(\d+)"', page).group(1)
    response = session.post(base + "/training/runs/new/", allow_redirects=False, headers={"Referer": base},
                            data={**FORM, "dataset": dataset, "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    match = re.search(r"/training/runs/(\d+)/", response.headers.get("Location", ""))
    if not match:
        raise RuntimeError(f"run not started ({response.status_code})")
    return int(match.group(1))


# ---------------------------------------------------------------------------- clients
async def watch(url: str, headers: dict, steps: int, deadline: float, result: dict) -> None:
    seen: list[int] = []
    async with websockets.connect(url, additional_headers=headers, max_size=2**24) as ws:
        result["connected"] += 1
        while len(set(seen)) < steps and time.time() < deadline:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=max(0.1, deadline - time.time()))
            except TimeoutError:
                break
            now = time.time()
            message = json.loads(raw)
            if message["type"] not in ("snapshot", "run.metrics"):
                continue
            for point in message["points"]:
                if point["kind"] != "train":
                    continue
                seen.append(point["step"])
                if message["type"] == "run.metrics" and point.get("ts"):
                    result["latencies"].append(now - point["ts"])
    result["delivered"] += len(set(seen))
    result["duplicates"] += len(seen) - len(set(seen))


async def transport_baseline(url: str, headers: dict, rounds: int = 50) -> list[float]:
    async with websockets.connect(url, additional_headers=headers, max_size=2**24) as ws:
        await ws.recv()  # snapshot
        rtts = []
        for _ in range(rounds):
            start = time.perf_counter()
            await ws.send('{"type": "ping"}')
            while json.loads(await ws.recv())["type"] != "pong":
                pass
            rtts.append(time.perf_counter() - start)
        return rtts


async def scenario(server: AcademyServer, clients: int, steps: int, interval: float) -> dict:
    session = sign_in(server.base)
    run_id = start_run(session, server.base)
    url = f"ws://127.0.0.1:{server.port}/ws/runs/{run_id}/"
    headers = {"Origin": server.base, "Cookie": f"sessionid={session.cookies['sessionid']}"}
    result = {"latencies": [], "delivered": 0, "duplicates": 0, "connected": 0}
    deadline = time.time() + 4 + steps * interval + 30
    await asyncio.gather(*(watch(url, headers, steps, deadline, result) for _ in range(clients)))
    result["baseline"] = await transport_baseline(url, headers)
    result["expected"] = clients * steps
    return result


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between metric lines")
    parser.add_argument("--clients", default="1,10,100")
    parser.add_argument("--layers", default="memory,redis")
    args = parser.parse_args()
    flush = os.environ.get("TRAINING_INGEST_FLUSH_SECONDS", "0.1")
    print(f"{os.cpu_count()} CPU cores shared by server, trainer and clients; {args.steps} points per run, "
          f"one every {args.interval * 1000:.0f} ms; ingest flush {flush} s")
    print("| layer | clients | p50 ms | p95 ms | p99 ms | delivered/expected | duplicates | transport p50 ms | "
          "p50 ratio to transport |")
    print("|---|---|---|---|---|---|---|---|---|")
    for layer in args.layers.split(","):
        with tempfile.TemporaryDirectory(prefix=f"live-bench-{layer}-") as data_dir, \
                server_for(layer, args.steps, args.interval, Path(data_dir)) as server:
            for clients in map(int, args.clients.split(",")):
                r = asyncio.run(scenario(server, clients, args.steps, args.interval))
                p50, base = pct(r["latencies"], 50), pct(r["baseline"], 50)
                print(f"| {layer} | {clients} | {p50:.0f} | {pct(r['latencies'], 95):.0f} | "
                      f"{pct(r['latencies'], 99):.0f} | {r['delivered']}/{r['expected']} = "
                      f"{r['delivered'] / r['expected']:.3f} | {r['duplicates']} | {base:.1f} | {p50 / base:.0f}x |",
                      flush=True)


if __name__ == "__main__":
    main()
