"""GGUF files for llama.cpp and Ollama: a PEFT LoRA adapter as a GGUF LoRA, a base model at full precision.

Follows llama.cpp's own converters (convert_lora_to_gguf.py on top of convert_hf_to_gguf.py):

- Tensor names: PEFT's `base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight` becomes
  `blk.N.attn_q.weight.lora_a` (gguf's tensor name map), lora_B `.lora_b`; lora_A keeps PEFT's
  (rank, in) shape and lora_B its (out, rank) shape, which GGUF stores as ne = [in, rank] and
  [rank, out], the layout llama.cpp's adapter loader checks against the base tensor.
- Metadata: general.type = adapter, adapter.type = lora, adapter.lora.alpha (llama.cpp then
  scales by alpha / rank, as PEFT does; rsLoRA's alpha / sqrt(rank) is written as the alpha
  that gives the same scale).
- The Llama q/k permutation: convert_hf_to_gguf.py reorders the rows of q_proj and k_proj
  (per head, the two rotary halves interleaved) for the `llama` architecture. For a LoRA the
  product B @ A gets the same row order by permuting lora_B's rows. transformers' GGUF loader
  (LlamaTensorProcessor) undoes that permutation, so a base snapshot converted from a GGUF and
  the adapters trained on it are in Hugging Face order, and the permutation is applied here.

The full-precision base is the GGUF itself with every tensor dequantized by the gguf package
(the same gguf.quants.dequantize transformers uses when it loads the GGUF, so the weights are
those training and serving computed with) and every metadata key copied.

No Django import, no torch: numpy, the gguf package and the trainer's adapter file names only.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np

from training.trainer.run import ADAPTER_CONFIG, ADAPTER_WEIGHTS

# GGUF architectures whose adapters are converted here: those convert_hf_to_gguf.py writes
# with the q/k permutation above (LlamaModel: Llama, Mistral, SmolLM, ...).
PERMUTED_ARCHITECTURES = ("llama",)
PRECISIONS = ("f32", "f16")


class GGUFExportError(ValueError):
    """The adapter or base cannot be written as GGUF for llama.cpp; the message says why."""


def _gguf():
    try:
        import gguf
    except ImportError as exc:  # pragma: no cover - a dependency of make run
        raise GGUFExportError(f"writing GGUF files needs the gguf package (pip install gguf): {exc}") from exc
    return gguf


def _reader(path: Path):
    gguf = _gguf()
    try:
        return gguf.GGUFReader(str(path))
    except (OSError, ValueError) as exc:
        raise GGUFExportError(f"{Path(path).name} is not a readable GGUF file: {exc}") from exc


def _field(reader, key: str, default=None):
    field = reader.fields.get(key)
    return field.contents() if field is not None else default


def base_facts(path: Path) -> dict:
    """What the adapter converter needs from a base GGUF: architecture, head counts, tensor shapes."""
    reader = _reader(path)
    arch = _field(reader, "general.architecture")
    if not arch:
        raise GGUFExportError(f"{Path(path).name} names no general.architecture")
    return {
        "architecture": arch,
        "type": _field(reader, "general.type", "model"),
        "block_count": int(_field(reader, f"{arch}.block_count", 0)),
        "head_count": _field(reader, f"{arch}.attention.head_count"),
        "head_count_kv": _field(reader, f"{arch}.attention.head_count_kv"),
        # numpy order (rows, columns), i.e. GGUF's ne reversed
        "tensors": {t.name: tuple(int(n) for n in reversed(t.shape.tolist())) for t in reader.tensors},
    }


# ---- full-precision base


def write_full_precision_base(source: Path, target: Path, precision: str) -> None:
    """Write source's model with every tensor dequantized to `precision` (f32, or f16 for matrices)."""
    gguf = _gguf()
    if precision not in PRECISIONS:
        raise GGUFExportError(f"base precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    reader = _reader(source)
    arch = _field(reader, "general.architecture")
    writer = gguf.GGUFWriter(str(target), arch)
    alignment = _field(reader, "general.alignment")
    if alignment:
        writer.data_alignment = int(alignment)
    file_type = gguf.LlamaFileType.ALL_F32 if precision == "f32" else gguf.LlamaFileType.MOSTLY_F16
    for field in reader.fields.values():
        # general.architecture and the GGUF.* header fields are written by the writer itself
        if field.name == "general.architecture" or field.name.startswith("GGUF."):
            continue
        value = int(file_type) if field.name == "general.file_type" else field.contents()
        sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, value, field.types[0], sub_type=sub_type)
    if "general.file_type" not in reader.fields:
        writer.add_file_type(int(file_type))
    plans = []
    for tensor in reader.tensors:
        shape = tuple(int(n) for n in reversed(tensor.shape.tolist()))
        # llama.cpp keeps vectors (norms, biases) in F32 in an F16 model too
        dtype = np.float16 if precision == "f16" and len(shape) > 1 else np.float32
        plans.append((tensor, dtype))
        writer.add_tensor_info(tensor.name, shape, np.dtype(dtype), math.prod(shape) * np.dtype(dtype).itemsize)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for tensor, dtype in plans:  # one tensor in memory at a time
        data = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        writer.write_tensor_data(np.ascontiguousarray(data.astype(dtype, copy=False)),
                                 tensor_endianess=reader.endianess)
    writer.close()


# ---- LoRA adapter


def write_lora_adapter(adapter_dir: Path, target: Path, *, base_gguf: Path) -> dict:
    """Convert a PEFT LoRA folder to a GGUF LoRA for base_gguf; returns {"alpha", "rank", "tensors"}."""
    gguf = _gguf()
    facts = base_facts(base_gguf)
    arch = facts["architecture"]
    if arch not in PERMUTED_ARCHITECTURES:
        raise GGUFExportError(f"LoRA adapters are converted for GGUF bases of architecture "
                              f"{', '.join(PERMUTED_ARCHITECTURES)}; this base is {arch!r}")
    config = _adapter_config(adapter_dir)
    alpha = _effective_alpha(config)
    tensors = _pairs(read_safetensors(adapter_dir / ADAPTER_WEIGHTS))
    name_map = gguf.get_tensor_name_map(_model_arch(arch), facts["block_count"])
    writer = gguf.GGUFWriter(str(target), arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    ranks = set()
    for module, (lora_a, lora_b) in sorted(tensors.items()):
        name = name_map.get_name(module + ".weight", try_suffixes=(".weight",))
        if name is None or name not in facts["tensors"]:
            raise GGUFExportError(f"the adapter changes {module}, which the base GGUF has no tensor for "
                                  "(a tied output layer or an unknown module); llama.cpp cannot apply it")
        rows, columns = facts["tensors"][name]
        if lora_a.shape[1] != columns or lora_b.shape[0] != rows or lora_a.shape[0] != lora_b.shape[1]:
            raise GGUFExportError(f"{module}: lora_A {lora_a.shape} and lora_B {lora_b.shape} do not fit the "
                                  f"base tensor {name} ({rows} x {columns})")
        if name.endswith("attn_q.weight"):
            lora_b = permute_rows(lora_b, facts["head_count"], facts["head_count"])
        elif name.endswith("attn_k.weight"):
            lora_b = permute_rows(lora_b, facts["head_count"], facts["head_count_kv"])
        writer.add_tensor(name + ".lora_a", np.ascontiguousarray(lora_a, dtype=np.float32))
        writer.add_tensor(name + ".lora_b", np.ascontiguousarray(lora_b, dtype=np.float32))
        ranks.add(lora_a.shape[0])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {"alpha": alpha, "rank": sorted(ranks), "tensors": len(tensors) * 2}


def permute_rows(weights: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """convert_hf_to_gguf.py's LlamaModel.permute: Hugging Face q/k row order -> llama.cpp's."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def _model_arch(arch: str):
    gguf = _gguf()
    found = {name: key for key, name in gguf.MODEL_ARCH_NAMES.items()}.get(arch)
    if found is None:
        raise GGUFExportError(f"the gguf package does not know the architecture {arch!r}")
    return found


def _adapter_config(adapter_dir: Path) -> dict:
    path = adapter_dir / ADAPTER_CONFIG
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise GGUFExportError(f"the adapter folder has no {ADAPTER_CONFIG}") from None
    except ValueError as exc:
        raise GGUFExportError(f"{ADAPTER_CONFIG} is not valid JSON: {exc}") from None
    if not isinstance(config, dict) or config.get("peft_type", "LORA") != "LORA":
        raise GGUFExportError(f"{ADAPTER_CONFIG} is not a PEFT LoRA config")
    refused = {"use_dora": "DoRA", "modules_to_save": "fully trained modules (modules_to_save)",
               "rank_pattern": "per-module ranks (rank_pattern)", "alpha_pattern": "per-module alphas (alpha_pattern)"}
    for key, what in refused.items():
        if config.get(key):
            raise GGUFExportError(f"the adapter uses {what}, which a GGUF LoRA cannot carry; "
                                  "export a merged model instead")
    return config


def _effective_alpha(config: dict) -> float:
    alpha, rank = config.get("lora_alpha"), config.get("r")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not isinstance(rank, int) or rank <= 0:
        raise GGUFExportError(f"{ADAPTER_CONFIG} needs a numeric lora_alpha and a positive r "
                              f"(has lora_alpha={alpha!r}, r={rank!r})")
    # llama.cpp scales by alpha / rank; rsLoRA scales by alpha / sqrt(rank)
    return float(alpha) * math.sqrt(rank) if config.get("use_rslora") else float(alpha)


def _pairs(tensors: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{HF module name: (lora_A, lora_B)} from PEFT's saved tensor names."""
    found: dict[str, dict[str, np.ndarray]] = {}
    for key, value in tensors.items():
        module, kind = key.removeprefix("base_model.model."), None
        for suffix, part in ((".lora_A.weight", "A"), (".lora_B.weight", "B")):
            if module.endswith(suffix):
                module, kind = module.removesuffix(suffix), part
        if kind is None:
            raise GGUFExportError(f"the adapter holds {key}, which is not a LoRA A/B matrix "
                                  "(embeddings or fully trained weights); export a merged model instead")
        if value.ndim != 2:
            raise GGUFExportError(f"{key} is not a matrix (shape {value.shape})")
        found.setdefault(module, {})[kind] = value
    incomplete = sorted(m for m, parts in found.items() if set(parts) != {"A", "B"})
    if incomplete:
        raise GGUFExportError(f"the adapter has lora_A without lora_B (or the reverse) for {incomplete[0]}")
    if not found:
        raise GGUFExportError(f"{ADAPTER_WEIGHTS} holds no LoRA tensors")
    return {module: (parts["A"], parts["B"]) for module, parts in found.items()}


# ---- safetensors without torch

_SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F64": np.float64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as float32 numpy arrays (bf16 widened exactly)."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise GGUFExportError(f"the adapter folder has no {Path(path).name}") from None
    try:
        (size,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8:8 + size])
    except (struct.error, ValueError) as exc:
        raise GGUFExportError(f"{Path(path).name} is not a safetensors file: {exc}") from None
    body = memoryview(raw)[8 + size:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(info.get("dtype"))
        start, end = info.get("data_offsets", (0, -1))
        if dtype is None:
            raise GGUFExportError(f"{name} has dtype {info.get('dtype')}; adapters are read as F32, F16 or BF16")
        data = np.frombuffer(body[start:end], dtype=dtype)
        if info["dtype"] == "BF16":
            data = (data.astype(np.uint32) << 16).view(np.float32)
        try:
            tensors[name] = data.astype(np.float32).reshape(info["shape"])
        except ValueError as exc:
            raise GGUFExportError(f"{name} in {Path(path).name} does not match its shape: {exc}") from None
    return tensors
