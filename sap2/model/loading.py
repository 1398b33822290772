"""Load a local Qwen2-Audio (or saved SAP²) folder as a SAP² model with its processor."""

import hashlib
import importlib.util
import logging
from pathlib import Path

import torch
from safetensors import SafetensorError
from transformers import AutoConfig, ProcessorMixin

from sap2.errors import InputError
from sap2.fileio import atomic_folder
from sap2.model.configuration_sap2 import Sap2Config
from sap2.model.modeling_sap2 import Sap2ForConditionalGeneration
from sap2.model.processor import add_context_tokens, load_processor

logger = logging.getLogger(__name__)


def default_attn_implementation(device: str | torch.device | None = None) -> str:
    """``flash_attention_2`` on CUDA when flash-attn is installed, else ``sdpa``."""
    on_cuda = torch.cuda.is_available() if device is None else torch.device(device).type == "cuda"
    if on_cuda and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def one_line(err: BaseException, limit: int = 200) -> str:
    """An exception as one short line (type and the start of its message)."""
    return f"{type(err).__name__}: {' '.join(str(err).split())[:limit]}"


def model_fingerprint(model_dir: str | Path, adapter_dir: str | Path | None = None) -> str:
    """A short hash of what makes a model's outputs, cheap on a 7B folder: the base
    folder's ``config.json`` and the names and sizes of its weight files, and every file
    of the adapter (small). It names the model wherever its folders are moved to."""
    digest = hashlib.sha256()
    base = Path(model_dir)
    if (base / "config.json").is_file():
        digest.update((base / "config.json").read_bytes())
    for weights in sorted([*base.glob("*.safetensors"), *base.glob("*.bin")]):
        digest.update(f"{weights.name}:{weights.stat().st_size}\n".encode())
    if adapter_dir is not None:
        for path in sorted(p for p in Path(adapter_dir).iterdir() if p.is_file()):
            digest.update(path.name.encode() + b"\n" + path.read_bytes())
    return digest.hexdigest()[:16]


def sap2_config_from(model_dir: str | Path, **overrides) -> Sap2Config:
    """The :class:`Sap2Config` of a saved SAP² folder, or of a Qwen2-Audio folder with the
    SAP² defaults; ``overrides`` (``sap_window_size=...``) win. A config.json that
    transformers cannot read raises :class:`InputError` naming it."""
    try:
        config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    except (OSError, ValueError, KeyError) as err:
        raise InputError(f"{Path(model_dir) / 'config.json'}: not a readable model config "
                         f"({one_line(err)})") from None  # fmt: skip
    fields = config.to_dict()
    if not isinstance(config, Sap2Config):
        for name in ("model_type", "transformers_version"):
            fields.pop(name, None)
    fields.update(overrides)
    return Sap2Config(**{k: v for k, v in fields.items() if k != "model_type"})


def load_sap2_model(
    model_dir: str | Path,
    sap_window_size: int | None = None,
    sap_num_heads: int | None = None,
    sap_mode: str | None = None,
    dtype: torch.dtype | str | None = None,
    device_map: str | dict | None = None,
    attn_implementation: str | None = None,
) -> tuple[Sap2ForConditionalGeneration, ProcessorMixin]:
    """Load model and processor from a local folder; nothing is downloaded.

    ``model_dir`` is a Qwen2-Audio-7B-Instruct folder (then the SAP² options default to
    window 2, 4 heads, ``speech``) or a folder saved by sap2 (then its saved options
    apply). Options given here override either. The context tokens are added to the
    tokenizer and the embedding matrix grows to match.

    Args:
      dtype: e.g. ``torch.bfloat16`` on GPU; default: the checkpoint's dtype on GPU,
        float32 on CPU.
      device_map: e.g. ``"auto"`` to spread a 7B model over the visible GPUs.
      attn_implementation: default :func:`default_attn_implementation`.
    """
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise InputError(f"{model_dir}: no config.json; expected a Qwen2-Audio model folder")
    overrides = {
        name: value
        for name, value in (
            ("sap_window_size", sap_window_size),
            ("sap_num_heads", sap_num_heads),
            ("sap_mode", sap_mode),
        )
        if value is not None
    }
    config = sap2_config_from(model_dir, **overrides)
    if dtype is None and not torch.cuda.is_available():
        dtype = torch.float32
    try:
        model = Sap2ForConditionalGeneration.from_pretrained(
            model_dir,
            config=config,
            dtype=dtype if dtype is not None else "auto",
            device_map=device_map,
            attn_implementation=attn_implementation or default_attn_implementation(),
            local_files_only=True,
        )
        processor = load_processor(model_dir)
    except (OSError, ValueError, RuntimeError, SafetensorError) as err:
        raise InputError(f"{model_dir}: cannot load the model ({one_line(err)})") from None
    add_context_tokens(processor, model)
    logger.info(
        "loaded %s: SAP window %d, %d heads, mode %s, %s, attention %s",
        model_dir, config.sap_window_size, config.sap_num_heads, config.sap_mode,
        model.dtype, model.config._attn_implementation,
    )  # fmt: skip
    return model, processor


def save_sap2_model(
    model: Sap2ForConditionalGeneration, processor: ProcessorMixin, out_dir: str | Path
) -> None:
    """Save a model folder that :func:`load_sap2_model` reads, through
    :func:`sap2.fileio.atomic_folder`: a save that fails never leaves a half-written
    ``out_dir``."""
    with atomic_folder(out_dir) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
