"""export_merged: the adapter folded into its base, saved as a full safetensors model."""

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tests.models_registry.factories import make_line, make_version


def test_the_merged_model_answers_like_base_plus_adapter(db, toy):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    line = make_line(base_model=str(toy["base"]))
    version = make_version(line, adapter_src=toy["a"])
    out = StringIO()
    call_command("export_merged", line.name, version.label, stdout=out)
    target = Path(settings.DATA_DIR) / "exports" / f"{line.name}-{version.label}"
    assert str(target) in out.getvalue() and f"ollama create {version.ollama_name}" in out.getvalue()
    assert (target / "config.json").is_file() and list(target.glob("*.safetensors"))
    assert (target / "tokenizer_config.json").is_file()
    modelfile = (target / "Modelfile").read_text()
    assert modelfile.startswith(f"FROM {target}\nTEMPLATE \"\"\"") and "ADAPTER" not in modelfile

    tokenizer = AutoTokenizer.from_pretrained(target)
    ids = torch.tensor([tokenizer("<|user|>\nhello</s>\n<|assistant|>\n", add_special_tokens=False)["input_ids"]])
    merged = AutoModelForCausalLM.from_pretrained(target).eval()
    adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(toy["base"]), toy["a"]).eval()
    base = AutoModelForCausalLM.from_pretrained(toy["base"]).eval()
    with torch.no_grad():
        expected, got, plain = adapted(ids).logits, merged(ids).logits, base(ids).logits
    assert torch.allclose(got, expected, atol=1e-4)
    assert not torch.allclose(got, plain, atol=1e-3)  # the adapter really is in the weights


def test_a_base_model_that_is_not_here_is_named_with_the_fetch_command(db):
    line = make_line(base_model="unsloth/Phi-3-mini-4k-instruct")
    version = make_version(line)
    with pytest.raises(CommandError, match="fetch_base_model unsloth/Phi-3-mini-4k-instruct"):
        call_command("export_merged", line.name, version.label, stdout=StringIO())
