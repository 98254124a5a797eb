"""The artifact store: the data root by default; with S3, a real S3 server (moto's) between two data roots."""

import hashlib

import pytest

from artifacts import store


def _write(root, key: str, body: bytes) -> str:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return hashlib.sha256(body).hexdigest()


def test_without_a_remote_store_the_data_root_is_the_store_and_hashes_are_still_checked(settings):
    assert settings.ARTIFACT_STORE_URL == "" and not store.is_remote()
    sha = _write(settings.DATA_DIR, "datasets/a.jsonl", b'{"a": 1}\n')
    store.publish_file("datasets/a.jsonl")
    assert store.fetch_file("datasets/a.jsonl", sha) == (settings.DATA_DIR / "datasets/a.jsonl").resolve()
    with pytest.raises(store.ArtifactMissing, match="does not match its hash"):
        store.fetch_file("datasets/a.jsonl", "0" * 64)
    with pytest.raises(store.ArtifactMissing, match="missing from the data root"):
        store.fetch_file("datasets/b.jsonl", sha)
    with pytest.raises(store.ArtifactMissing, match="not a path inside the data root"):
        store.fetch_file("../outside.jsonl", sha)


def test_a_file_published_on_one_host_is_fetched_verified_and_cached_on_another(s3_store, settings, tmp_path):
    server, _ = s3_store
    sha = _write(settings.DATA_DIR, "datasets/a.jsonl", b'{"instruction": "hi"}\n')
    store.publish_file("datasets/a.jsonl")

    settings.DATA_DIR = tmp_path / "other-host"
    fetched = store.fetch_file("datasets/a.jsonl", sha)
    assert fetched == (tmp_path / "other-host" / "datasets" / "a.jsonl").resolve()
    assert fetched.read_bytes() == b'{"instruction": "hi"}\n'
    server.stop()
    # The cache answers without the store once it holds the right content.
    assert store.fetch_file("datasets/a.jsonl", sha) == fetched


def test_a_tampered_or_missing_object_is_refused_and_never_lands_in_the_cache(s3_store, settings, tmp_path):
    server, values = s3_store
    sha = _write(settings.DATA_DIR, "datasets/a.jsonl", b"original\n")
    store.publish_file("datasets/a.jsonl")
    server.filesystem().pipe(values["ARTIFACT_STORE_URL"].removeprefix("s3://") + "/datasets/a.jsonl", b"altered\n")

    host = tmp_path / "other-host"
    settings.DATA_DIR = host
    with pytest.raises(store.ArtifactMissing, match="does not match its hash"):
        store.fetch_file("datasets/a.jsonl", sha)
    with pytest.raises(store.ArtifactMissing, match="neither in this host's cache nor in the artifact store"):
        store.fetch_file("datasets/never-published.jsonl", sha)
    assert [p for p in host.rglob("*") if p.is_file()] == []


def test_a_folder_travels_with_its_hashes_and_a_stale_cached_file_is_replaced(s3_store, settings, tmp_path):
    bodies = {"adapter_config.json": b"{}", "adapter_model.safetensors": b"\0weights", "sub/x.txt": b"x"}
    for name, body in bodies.items():
        _write(settings.DATA_DIR, f"runs/7/adapter/{name}", body)
    files = store.publish_folder("runs/7/adapter")
    assert sorted(files) == ["adapter_config.json", "adapter_model.safetensors", "sub/x.txt"]

    host = tmp_path / "other-host"
    settings.DATA_DIR = host
    _write(host, "runs/7/adapter/adapter_model.safetensors", b"stale")
    folder = store.fetch_folder("runs/7/adapter", files)
    assert store.folder_hashes(folder) == files
