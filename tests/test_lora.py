"""LoRA wiring: what trains, and that saving, loading and merging keep the outputs."""

import numpy as np
import pytest
import torch

from sap2.model.loading import load_sap2_model
from sap2.model.lora import apply_lora, export_merged, load_adapter, save_adapter
from sap2.model.processor import Example, encode_batch
from sap2.model.prompts import Task


@pytest.fixture(scope="module")
def trained(tiny_model_dir):
    """A LoRA model whose trainable weights were moved away from their initial values."""
    model, processor = load_sap2_model(tiny_model_dir, sap_window_size=3, sap_mode="mean")
    peft_model = apply_lora(model, rank=4)
    torch.manual_seed(0)
    with torch.no_grad():
        for param in peft_model.parameters():
            if param.requires_grad:
                param.add_(0.05 * torch.randn_like(param))
    return peft_model.eval(), processor


def batch_of(processor):
    audio = (np.random.default_rng(0).standard_normal(12000) * 0.1).astype(np.float32)
    example = Example(audio, Task.TRANSCRIBE_CONTEXT, ["quick", "fox"], "the quick fox")
    return encode_batch(processor, [example], with_targets=True)


def test_what_trains(tiny_model_dir):
    model, _ = load_sap2_model(tiny_model_dir)
    names = [n for n, p in apply_lora(model).named_parameters() if p.requires_grad]
    lora = [n for n in names if "lora_" in n]
    others = sorted(n for n in names if "lora_" not in n)
    assert lora and all(".language_model." in n for n in lora)
    assert {n.split(".lora_A")[0].split(".")[-1] for n in lora if "lora_A" in n} == {
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"
    }  # fmt: skip
    assert any("multi_modal_projector" in n for n in others)
    assert any("embed_tokens.token_adapter" in n for n in others)
    assert not any("audio_tower" in n for n in names)

    model, _ = load_sap2_model(tiny_model_dir)
    names = [
        n for n, p in apply_lora(model, projector="lora").named_parameters() if p.requires_grad
    ]
    projector = [n for n in names if "multi_modal_projector" in n]
    assert projector and all("lora_" in n for n in projector)  # LoRA, as the authors' run
    assert any(".language_model." in n for n in names if "lora_" in n)

    model, _ = load_sap2_model(tiny_model_dir)
    with_encoder = apply_lora(model, train_audio_encoder=True)
    assert any("audio_tower" in n for n, p in with_encoder.named_parameters() if p.requires_grad)


def test_save_load_and_merge_keep_the_outputs(trained, tiny_model_dir, tmp_path):
    model, processor = trained
    batch = batch_of(processor)
    with torch.no_grad():
        expected = model(**batch).logits
    save_adapter(model, processor, tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    reloaded, reloaded_processor = load_adapter(tiny_model_dir, tmp_path / "adapter")
    assert reloaded.get_base_model().config.sap_window_size == 3
    with torch.no_grad():
        torch.testing.assert_close(reloaded.eval()(**batch).logits, expected)

    export_merged(reloaded, reloaded_processor, tmp_path / "merged")
    merged, _ = load_sap2_model(tmp_path / "merged")
    assert merged.config.sap_mode == "mean"
    with torch.no_grad():
        torch.testing.assert_close(merged.eval()(**batch).logits, expected, rtol=1e-4, atol=1e-4)
