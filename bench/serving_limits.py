"""Serving limits: an oversized prompt is refused at once, and a full queue answers 429 at once.

    .venv/bin/python bench/serving_limits.py [--rounds 5]

In-process (Django test Client through the whole view stack, the toy base model with one
LoRA adapter), one throwaway SQLite database. Three figures, each a ratio against a
baseline measured in the same run:

1. The refusal of a 100 KB prompt (400 context_length_exceeded) against one short
   completion (16 tokens): how much of a generation a refused giant prompt costs.
2. Short completions while another client keeps sending 100 KB prompts, against short
   completions alone: whether other callers wait behind the giant prompts.
3. With SERVING_QUEUE_DEPTH=0 and the one slot taken (as by a running generation), the 429
   answer's latency against a short completion: a caller is told to come back at once.
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SHORT = {"model": "bench-line", "messages": [{"role": "user", "content": "What is a lesson?"}], "max_tokens": 16}
HUGE = {"model": "bench-line", "messages": [{"role": "user", "content": "lesson " * 14_600}]}  # ~100 KB


def _setup(data_dir: Path) -> None:
    os.environ.update(ACADEMY_DATA_DIR=str(data_dir), SECRET_KEY="bench-only", LOG_LEVEL="ERROR",
                      DJANGO_SETTINGS_MODULE="academy_site.settings", ACADEMY_EMBEDDED_WORKER="false",
                      ALLOWED_HOSTS="testserver,localhost", SERVING_MAX_SECONDS="120")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _fixtures(data_dir: Path) -> str:
    from models_registry import services
    from tests.factories import make_token, make_user
    from tests.models_registry.factories import make_line, make_version
    from tests.models_registry.tiny_models import build_toy_set

    toy = build_toy_set(data_dir / "toy")
    admin = make_user("bench-admin", "Admin")
    line = make_line(name="bench-line", base_model=str(toy["base"]))
    services.promote_version(make_version(line, adapter_src=toy["a"]), admin, "bench")
    return make_token(make_user("bench-agent", "Viewer"), "Viewer")


def _post(client, headers, body) -> tuple[float, int]:
    start = time.perf_counter()
    response = client.post("/v1/chat/completions", body, content_type="application/json", **headers)
    return time.perf_counter() - start, response.status_code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="academy-bench-") as tmp:
        _setup(Path(tmp))
        from django.conf import settings
        from django.test import Client

        headers = {"HTTP_AUTHORIZATION": f"Bearer {_fixtures(Path(tmp))}"}
        client = Client()
        _post(client, headers, SHORT)  # loads the base model and the adapter

        short = [_post(client, headers, SHORT) for _ in range(args.rounds)]
        huge = [_post(client, headers, HUGE) for _ in range(args.rounds)]
        assert {code for _, code in short} == {200} and {code for _, code in huge} == {400}
        short_s = statistics.median(t for t, _ in short)
        huge_s = statistics.median(t for t, _ in huge)

        stop = threading.Event()

        def flood():
            flooder = Client()
            while not stop.is_set():
                _post(flooder, headers, HUGE)

        thread = threading.Thread(target=flood)
        thread.start()
        try:
            loaded = [_post(client, headers, SHORT)[0] for _ in range(args.rounds)]
        finally:
            stop.set()
            thread.join()
        loaded_s = statistics.median(loaded)

        from models_registry.serving import admission

        settings.SERVING_QUEUE_DEPTH = 0
        admission.enter()  # the one slot is taken, as by a running generation
        try:
            refused = [_post(client, headers, SHORT) for _ in range(args.rounds)]
        finally:
            admission.leave()
        assert {code for _, code in refused} == {429}
        refused_s = statistics.median(t for t, _ in refused)

    print(f"short completion (16 tokens), median of {args.rounds}: {short_s * 1000:.0f} ms")
    print(f"100 KB prompt refused (400 context_length_exceeded): {huge_s * 1000:.0f} ms "
          f"-> ratio to a short completion {huge_s / short_s:.2f}")
    print(f"short completions while 100 KB prompts keep coming: {loaded_s * 1000:.0f} ms "
          f"-> ratio to alone {loaded_s / short_s:.2f}")
    print(f"queue full: 429 in {refused_s * 1000:.1f} ms -> ratio to a short completion {refused_s / short_s:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
