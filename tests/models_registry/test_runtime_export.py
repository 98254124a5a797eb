"""manage.py export_runtime (base GGUF, adapter as a GGUF LoRA, Modelfile, README) and promotion with Ollama.

The base is the real SmolLM2-135M-Instruct snapshot (its GGUF kept as original.gguf); the
adapter is a small PEFT-format LoRA written here with numpy (layers 0 and 1, q/k/v and
down_proj), so no model is loaded. Whether llama.cpp runs the export as Academy serves it is
tests/models_registry/test_runtime_parity.py.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from artifacts.hashing import file_sha256
from models_registry import gguf_lora, services
from models_registry.models import VersionStatus
from models_registry.runtime_export import RuntimeExportError, export_runtime
from tests.models_registry.factories import make_line, make_version
from tests.real_model import NAME, cached_snapshot, install_snapshot

gguf = pytest.importorskip("gguf", reason="GGUF files are read and written with the gguf package")

HEADS, KV_HEADS, HIDDEN, HEAD_DIM = 9, 3, 576, 64
MODULES = {"self_attn.q_proj": HEADS * HEAD_DIM, "self_attn.k_proj": KV_HEADS * HEAD_DIM,
           "self_attn.v_proj": KV_HEADS * HEAD_DIM, "mlp.down_proj": HIDDEN}


@pytest.fixture(scope="module")
def smol_prompt():
    from transformers import AutoTokenizer

    from training.trainer.prompts import PromptFormat

    return PromptFormat(AutoTokenizer.from_pretrained(str(cached_snapshot())), 512).metadata()


def write_adapter(folder: Path, prompt: dict, *, extra: dict | None = None, config: dict | None = None) -> Path:
    """A PEFT LoRA folder on SmolLM2 (rank 4) with seeded weights; returns the folder."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(3)
    tensors = {}
    for layer in (0, 1):
        for module, rows in MODULES.items():
            columns = 1536 if module == "mlp.down_proj" else HIDDEN
            key = f"base_model.model.model.layers.{layer}.{module}"
            tensors[f"{key}.lora_A.weight"] = rng.standard_normal((4, columns)).astype(np.float32)
            tensors[f"{key}.lora_B.weight"] = rng.standard_normal((rows, 4)).astype(np.float32)
    tensors.update(extra or {})
    folder.mkdir(parents=True)
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    (folder / "adapter_config.json").write_text(json.dumps({
        "peft_type": "LORA", "r": 4, "lora_alpha": 8, "base_model_name_or_path": NAME,
        "target_modules": ["q_proj", "k_proj", "v_proj", "down_proj"], **(config or {})}))
    (folder / "academy_adapter.json").write_text(json.dumps({
        "format_version": 1, "base_model": NAME, "base_architecture": "LlamaForCausalLM", "dataset_sha256": "",
        "hyperparameters": {}, "metrics": {}, "prompt": prompt, "trainer": {"backend": "peft", "versions": {}}}))
    return folder


@pytest.fixture
def smol_version(db, settings, tmp_path, smol_prompt):
    install_snapshot(Path(settings.DATA_DIR) / "models")
    line = make_line(name="smol", base_model=NAME)
    return make_version(line, adapter_src=write_adapter(tmp_path / "adapter", smol_prompt))


def tensors_of(path: Path) -> dict:
    return {t.name: t for t in gguf.GGUFReader(str(path)).tensors}


def fields_of(path: Path) -> dict:
    return {f.name: f.contents() for f in gguf.GGUFReader(str(path)).fields.values()
            if not f.name.startswith("tokenizer.ggml.")}


def test_export_writes_the_stored_gguf_the_adapter_a_modelfile_and_a_readme(smol_version, tmp_path):
    call_command("export_runtime", "smol", "v1", "--to", str(tmp_path / "out"))
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "Modelfile", "README.md", "academy_runtime.json", "adapter.gguf", "base.gguf"]
    assert file_sha256(out / "base.gguf") == file_sha256(cached_snapshot() / "original.gguf")
    modelfile = (out / "Modelfile").read_text()
    assert modelfile.startswith("FROM ./base.gguf\nADAPTER ./adapter.gguf\nTEMPLATE \"\"\"")
    assert modelfile.endswith('PARAMETER stop "<|im_end|>"\n')
    # SmolLM2's BOS text is <|im_start|> but its tokenizer adds no BOS: the TEMPLATE keeps the first one
    assert '{{ if eq $prev "" }}<|im_start|>system\nYou are a helpful AI assistant named SmolLM' in modelfile
    readme = (out / "README.md").read_text()
    assert "ollama create smol:v1 -f Modelfile" in readme
    assert "llama-cli -m base.gguf --lora adapter.gguf" in readme
    assert 'Llama(model_path="base.gguf", lora_path="adapter.gguf"' in readme
    manifest = json.loads((out / "academy_runtime.json").read_text())
    assert manifest["base_precision"] == "original" and manifest["version"] == "v1"
    assert manifest["files"] == {name: file_sha256(out / name) for name in
                                 ("Modelfile", "README.md", "adapter.gguf", "base.gguf")}


def test_the_adapter_gguf_has_llama_cpp_names_metadata_and_permuted_q_k_rows(smol_version, tmp_path):
    export_runtime(smol_version, tmp_path / "out")
    path = tmp_path / "out" / "adapter.gguf"
    fields = fields_of(path)
    assert (fields["general.type"], fields["adapter.type"], fields["adapter.lora.alpha"]) == ("adapter", "lora", 8.0)
    assert fields["general.architecture"] == "llama"
    tensors = tensors_of(path)
    assert len(tensors) == 16
    peft = gguf_lora.read_safetensors(_adapter_weights(smol_version))
    q_b = peft["base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight"]
    k_b = peft["base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"]
    v_b = peft["base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"]
    assert np.array_equal(tensors["blk.1.attn_q.weight.lora_b"].data, gguf_lora.permute_rows(q_b, HEADS, HEADS))
    assert np.array_equal(tensors["blk.1.attn_k.weight.lora_b"].data, gguf_lora.permute_rows(k_b, HEADS, KV_HEADS))
    assert not np.array_equal(tensors["blk.1.attn_q.weight.lora_b"].data, q_b)
    assert np.array_equal(tensors["blk.1.attn_v.weight.lora_b"].data, v_b)
    assert np.array_equal(tensors["blk.1.attn_q.weight.lora_a"].data,
                          peft["base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight"])
    # GGUF's ne order, as llama.cpp's adapter loader checks it against the base tensor
    assert list(tensors["blk.0.ffn_down.weight.lora_a"].shape) == [1536, 4]
    assert list(tensors["blk.0.ffn_down.weight.lora_b"].shape) == [4, HIDDEN]


def _adapter_weights(version) -> Path:
    from models_registry.adapters import data_path

    return data_path(version.adapter_dir) / "adapter_model.safetensors"


def test_the_snapshot_holds_q_and_k_in_hugging_face_order_so_the_permutation_is_needed():
    from safetensors import safe_open

    snapshot = cached_snapshot()
    original = tensors_of(snapshot / "original.gguf")
    with safe_open(str(snapshot / "model.safetensors"), framework="numpy") as weights:
        q = weights.get_tensor("model.layers.2.self_attn.q_proj.weight")
        k = weights.get_tensor("model.layers.2.self_attn.k_proj.weight")
    in_gguf = {name: gguf.quants.dequantize(original[f"blk.2.{name}.weight"].data,
                                            original[f"blk.2.{name}.weight"].tensor_type)
               for name in ("attn_q", "attn_k")}
    assert np.array_equal(gguf_lora.permute_rows(q, HEADS, HEADS), in_gguf["attn_q"])
    assert np.array_equal(gguf_lora.permute_rows(k, HEADS, KV_HEADS), in_gguf["attn_k"])
    assert not np.array_equal(q, in_gguf["attn_q"])


def test_a_base_without_gguf_is_refused_with_the_merged_export_named(db, toy, tmp_path):
    line = make_line(name="toyline", base_model=str(toy["base"]))
    make_version(line, adapter_src=toy["a"])
    with pytest.raises(CommandError, match="has no GGUF file.*python manage.py export_merged toyline v1"):
        call_command("export_runtime", "toyline", "v1", "--to", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_a_missing_adapter_file_is_named_and_nothing_is_written(smol_version, tmp_path):
    _adapter_weights(smol_version).unlink()
    with pytest.raises(CommandError, match="adapter file adapter_model.safetensors is missing"):
        call_command("export_runtime", "smol", "v1", "--to", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_a_non_empty_folder_is_kept_unless_forced(smol_version, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(CommandError, match="is not empty; choose an empty folder, or pass --force"):
        call_command("export_runtime", "smol", "v1", "--to", str(out))
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    call_command("export_runtime", "smol", "v1", "--to", str(out), "--force")
    assert not (out / "notes.txt").exists() and (out / "adapter.gguf").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no staging folder left


def test_force_never_replaces_a_folder_holding_the_data_root(smol_version, settings):
    with pytest.raises(RuntimeExportError, match="holds the data root"):
        export_runtime(smol_version, Path(settings.DATA_DIR).parent, force=True)
    assert Path(settings.DATA_DIR).is_dir()


@pytest.mark.parametrize(("extra", "config", "message"), [
    ({"base_model.model.lm_head.lora_A.weight": np.ones((4, HIDDEN), np.float32),
      "base_model.model.lm_head.lora_B.weight": np.ones((49152, 4), np.float32)}, {}, "lm_head, which the base GGUF"),
    ({"base_model.model.model.embed_tokens.weight": np.ones((2, HIDDEN), np.float32)}, {}, "not a LoRA A/B matrix"),
    ({}, {"use_dora": True}, "DoRA"),
    ({}, {"rank_pattern": {"q_proj": 8}}, "per-module ranks"),
], ids=["tied-output", "full-embedding", "dora", "rank-pattern"])
def test_adapters_a_gguf_lora_cannot_carry_are_refused(db, settings, tmp_path, smol_prompt, extra, config, message):
    install_snapshot(Path(settings.DATA_DIR) / "models")
    version = make_version(make_line(name="smol", base_model=NAME),
                           adapter_src=write_adapter(tmp_path / "adapter", smol_prompt, extra=extra, config=config))
    with pytest.raises(RuntimeExportError, match=message):
        export_runtime(version, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_rslora_is_written_with_the_alpha_that_gives_its_scale(db, settings, tmp_path, smol_prompt):
    install_snapshot(Path(settings.DATA_DIR) / "models")
    version = make_version(make_line(name="smol", base_model=NAME), adapter_src=write_adapter(
        tmp_path / "adapter", smol_prompt, config={"use_rslora": True}))
    export_runtime(version, tmp_path / "out")
    alpha = fields_of(tmp_path / "out" / "adapter.gguf")["adapter.lora.alpha"]
    assert alpha / 4 == pytest.approx(8 / 4 ** 0.5)  # llama.cpp's alpha / rank == rsLoRA's alpha / sqrt(rank)


def test_promotion_sends_ollama_the_exported_gguf_files(smol_version, alice, settings, go_renderer, tmp_path, promote):
    from tests.models_registry.fake_ollama import FakeOllamaServer

    with FakeOllamaServer(template_checker=go_renderer.parse_error) as server:
        settings.OLLAMA_HOST = server.url
        promote(smol_version, alice, "to the agent")
        create = next(r["json"] for r in server.requests if r["path"] == "/api/create")
        assert "from" not in create and sorted(create) == [
            "adapters", "files", "model", "parameters", "stream", "template"]
        base, adapter = server.blobs[create["files"]["base.gguf"]], server.blobs[create["adapters"]["adapter.gguf"]]
        assert create["parameters"] == {"stop": ["<|im_end|>"]}
        assert server.models["smol:latest"]["model"] == "smol:v1"
    smol_version.refresh_from_db()
    assert smol_version.status == VersionStatus.ACTIVE
    manifest = export_runtime(smol_version, tmp_path / "out", base_precision="f16")
    assert (tmp_path / "out" / "base.gguf").read_bytes() == base
    assert (tmp_path / "out" / "adapter.gguf").read_bytes() == adapter
    assert create["template"] in (tmp_path / "out" / "Modelfile").read_text()
    assert manifest["base_precision"] == "f16"
    # the F16 base: every metadata key copied, matrices F16, vectors F32, values the dequantized original's
    exported, original = tmp_path / "out" / "base.gguf", cached_snapshot() / "original.gguf"
    assert {k: v for k, v in fields_of(exported).items() if k != "general.file_type"} == {
        k: v for k, v in fields_of(original).items() if k != "general.file_type"}
    assert fields_of(exported)["general.file_type"] == int(gguf.LlamaFileType.MOSTLY_F16)
    ours, theirs = tensors_of(exported), tensors_of(original)
    assert list(ours) == list(theirs)
    assert {t.tensor_type.name for t in ours.values() if len(t.shape) == 1} == {"F32"}
    assert {t.tensor_type.name for t in ours.values() if len(t.shape) == 2} == {"F16"}
    q = theirs["blk.0.attn_q.weight"]
    assert np.array_equal(ours["blk.0.attn_q.weight"].data,
                          gguf.quants.dequantize(q.data, q.tensor_type).astype(np.float16))


def test_a_refused_export_undoes_the_promotion_before_ollama_is_asked(db, settings, tmp_path, smol_prompt, alice):
    from tests.models_registry.fake_ollama import FakeOllamaServer

    install_snapshot(Path(settings.DATA_DIR) / "models")
    version = make_version(make_line(name="smol", base_model=NAME), adapter_src=write_adapter(
        tmp_path / "adapter", smol_prompt, config={"use_dora": True}))
    with FakeOllamaServer() as server:
        settings.OLLAMA_HOST = server.url
        with pytest.raises(services.RegistryError, match="DoRA"):
            services.promote_version(version, alice, "to the agent")
        assert server.requests == []
    version.refresh_from_db()
    assert version.status == VersionStatus.CANDIDATE
