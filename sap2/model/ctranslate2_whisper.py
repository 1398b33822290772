"""Whisper in CTranslate2's binary format (``model.bin``) converted to a transformers folder.

CTranslate2 (the engine of faster-whisper) keeps a model in one file: a uint32 format
version, the spec name (``WhisperSpec``), a revision, the variables (name, rank, dims,
dtype, byte count, data) and aliases (``decoder/projection/weight`` names the token
embeddings). Its Whisper variables map one to one onto transformers'
``WhisperForConditionalGeneration``: the self-attention's q/k/v are fused in
``linear_0`` (with a zero k bias, as Whisper has none), the cross-attention's k/v in
``linear_1``. Beside ``model.bin`` a converted folder holds ``config.json`` (suppressed
tokens, alignment heads) and ``tokenizer.json``; :func:`convert_ctranslate2_whisper`
writes the model, tokenizer, feature extractor and generation config that transformers
loads with ``WhisperForConditionalGeneration.from_pretrained`` and
``WhisperProcessor.from_pretrained``.
"""

import json
import struct
from pathlib import Path

import numpy as np
import torch

from sap2.errors import InputError
from sap2.fileio import atomic_folder

Pathlike = str | Path

#: CTranslate2's ``DataType`` codes.
DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
SUPPORTED_VERSIONS = (5, 6)

_LAYER_NORM = {"gamma": "weight", "beta": "bias"}


class _Reader:
    """Little-endian fields of a ``model.bin``, with the file named in every error."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = path.read_bytes()
        self.at = 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise InputError(f"{self.path}: truncated CTranslate2 model (at byte {self.at})")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def number(self, fmt: str) -> int:
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        return self.take(self.number("H")).decode("utf-8").rstrip("\0")


def read_ctranslate2(path: Pathlike) -> tuple[str, dict[str, np.ndarray]]:
    """``(spec name, variables)`` of a CTranslate2 ``model.bin``; aliases resolved."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such CTranslate2 model file")
    reader = _Reader(path)
    version = reader.number("I")
    if version not in SUPPORTED_VERSIONS:
        raise InputError(f"{path}: CTranslate2 format version {version}, expected 5 or 6")
    spec = reader.string()
    reader.number("I")  # the spec's revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(reader.number("I")):
        name = reader.string()
        dims = [reader.number("I") for _ in range(reader.number("B"))]
        dtype = reader.number("B")
        size = reader.number("I")
        if dtype not in DTYPES:
            raise InputError(f"{path}: variable {name} has dtype code {dtype} (quantised?)")
        array = np.frombuffer(reader.take(size), dtype=DTYPES[dtype])
        variables[name] = array.reshape(dims) if dims else array.reshape(())
    for _ in range(reader.number("I")):
        alias, target = reader.string(), reader.string()
        variables[alias] = variables[target]
    return spec, variables


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(array, dtype=np.float32))


def whisper_state_dict(variables: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """The ``WhisperForConditionalGeneration`` weights (float32) of WhisperSpec variables."""
    state: dict[str, torch.Tensor] = {}
    for side in ("encoder", "decoder"):
        prefix = f"model.{side}"
        for conv in ("conv1", "conv2"):
            for kind in ("weight", "bias"):
                key = f"{side}/{conv}/{kind}"
                if key in variables:
                    state[f"{prefix}.{conv}.{kind}"] = _tensor(variables[key])
        state[f"{prefix}.embed_positions.weight"] = _tensor(
            variables[f"{side}/position_encodings/encodings"]
        )
        for ct2, hf in _LAYER_NORM.items():
            state[f"{prefix}.layer_norm.{hf}"] = _tensor(variables[f"{side}/layer_norm/{ct2}"])
        layer = 0
        while f"{side}/layer_{layer}/ffn/linear_0/weight" in variables:
            state.update(_layer(variables, side, layer))
            layer += 1
    embeddings = _tensor(variables["decoder/embeddings/weight"])
    state["model.decoder.embed_tokens.weight"] = embeddings
    state["proj_out.weight"] = embeddings
    return state


def _layer(variables: dict[str, np.ndarray], side: str, index: int) -> dict[str, torch.Tensor]:
    src = f"{side}/layer_{index}"
    dst = f"model.{side}.layers.{index}"

    def get(name: str) -> torch.Tensor:
        return _tensor(variables[f"{src}/{name}"])

    out = {}
    q, k, v = get("self_attention/linear_0/weight").chunk(3)
    qb, _, vb = get("self_attention/linear_0/bias").chunk(3)
    out.update({f"{dst}.self_attn.q_proj.weight": q, f"{dst}.self_attn.k_proj.weight": k,
                f"{dst}.self_attn.v_proj.weight": v, f"{dst}.self_attn.q_proj.bias": qb,
                f"{dst}.self_attn.v_proj.bias": vb})  # fmt: skip
    out[f"{dst}.self_attn.out_proj.weight"] = get("self_attention/linear_1/weight")
    out[f"{dst}.self_attn.out_proj.bias"] = get("self_attention/linear_1/bias")
    norms = {"self_attention": "self_attn_layer_norm", "ffn": "final_layer_norm"}
    if side == "decoder":
        norms["attention"] = "encoder_attn_layer_norm"
        k, v = get("attention/linear_1/weight").chunk(2)
        _, vb = get("attention/linear_1/bias").chunk(2)
        out.update({
            f"{dst}.encoder_attn.q_proj.weight": get("attention/linear_0/weight"),
            f"{dst}.encoder_attn.q_proj.bias": get("attention/linear_0/bias"),
            f"{dst}.encoder_attn.k_proj.weight": k, f"{dst}.encoder_attn.v_proj.weight": v,
            f"{dst}.encoder_attn.v_proj.bias": vb,
            f"{dst}.encoder_attn.out_proj.weight": get("attention/linear_2/weight"),
            f"{dst}.encoder_attn.out_proj.bias": get("attention/linear_2/bias"),
        })  # fmt: skip
    for ct2_norm, hf_norm in norms.items():
        for ct2, hf in _LAYER_NORM.items():
            out[f"{dst}.{hf_norm}.{hf}"] = get(f"{ct2_norm}/layer_norm/{ct2}")
    for number, name in ((0, "fc1"), (1, "fc2")):
        out[f"{dst}.{name}.weight"] = get(f"ffn/linear_{number}/weight")
        out[f"{dst}.{name}.bias"] = get(f"ffn/linear_{number}/bias")
    return out


def whisper_config(variables: dict[str, np.ndarray], tokenizer):
    """A ``WhisperConfig`` for the variables and the tokenizer's special ids."""
    from transformers import WhisperConfig

    layers = {
        side: sum(1 for n in variables if n.startswith(f"{side}/layer_")
                  and n.endswith("ffn/linear_0/weight"))
        for side in ("encoder", "decoder")
    }  # fmt: skip
    vocab, d_model = variables["decoder/embeddings/weight"].shape
    ffn = variables["encoder/layer_0/ffn/linear_0/weight"].shape[0]
    end = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    return WhisperConfig(
        vocab_size=int(vocab), d_model=int(d_model),
        num_mel_bins=int(variables["encoder/conv1/weight"].shape[1]),
        encoder_layers=layers["encoder"], decoder_layers=layers["decoder"],
        encoder_attention_heads=int(variables["encoder/num_heads"]),
        decoder_attention_heads=int(variables["decoder/num_heads"]),
        encoder_ffn_dim=int(ffn), decoder_ffn_dim=int(ffn),
        max_source_positions=int(variables["encoder/position_encodings/encodings"].shape[0]),
        max_target_positions=int(variables["decoder/position_encodings/encodings"].shape[0]),
        decoder_start_token_id=tokenizer.convert_tokens_to_ids("<|startoftranscript|>"),
        bos_token_id=end, eos_token_id=end, pad_token_id=end, tie_word_embeddings=True,
    )  # fmt: skip


def convert_ctranslate2_whisper(ct2_dir: Pathlike, out_dir: Pathlike) -> Path:
    """Write a transformers Whisper folder (model, tokenizer, feature extractor,
    generation config) from a CTranslate2 Whisper folder (``model.bin``, ``config.json``,
    ``tokenizer.json``); returns ``out_dir``. English-only and multilingual models both
    convert; quantised ones (int8 weights) are refused."""
    from transformers import (
        GenerationConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperTokenizerFast,
    )

    ct2_dir = Path(ct2_dir)
    spec, variables = read_ctranslate2(ct2_dir / "model.bin")
    if spec != "WhisperSpec":
        raise InputError(f"{ct2_dir / 'model.bin'}: a {spec}, not a Whisper model")
    for name in ("config.json", "tokenizer.json"):
        if not (ct2_dir / name).is_file():
            raise InputError(f"{ct2_dir}: no {name} beside model.bin")
    try:
        extra = json.loads((ct2_dir / "config.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{ct2_dir / 'config.json'}: not valid JSON ({err})") from None
    tokenizer = WhisperTokenizerFast(tokenizer_file=str(ct2_dir / "tokenizer.json"))
    config = whisper_config(variables, tokenizer)
    model = WhisperForConditionalGeneration(config)
    missing, unexpected = model.load_state_dict(whisper_state_dict(variables), strict=False)
    if [m for m in missing if not m.endswith("k_proj.bias")] or unexpected:
        raise InputError(
            f"{ct2_dir}: variables do not fit Whisper ({missing[:3]}, {unexpected[:3]})"
        )
    multilingual = "<|en|>" in tokenizer.get_vocab() and len(extra.get("lang_ids", [])) > 1
    generation = GenerationConfig(
        decoder_start_token_id=config.decoder_start_token_id, eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id, bos_token_id=config.bos_token_id,
        max_length=config.max_target_positions,
        suppress_tokens=list(extra.get("suppress_ids", [])),
        begin_suppress_tokens=list(extra.get("suppress_ids_begin", [])),
        is_multilingual=multilingual,
        no_timestamps_token_id=tokenizer.convert_tokens_to_ids("<|notimestamps|>"),
        prev_sot_token_id=tokenizer.convert_tokens_to_ids("<|startofprev|>"),
        alignment_heads=extra.get("alignment_heads"),
    )  # fmt: skip
    model.generation_config = generation
    features = WhisperFeatureExtractor(feature_size=config.num_mel_bins)
    with atomic_folder(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        features.save_pretrained(tmp)
    return Path(out_dir)
