"""LoRA fine-tuning of SAP² with peft: which weights train, and how they are saved.

Trained: LoRA adapters on the language model's attention and MLP projections, the
multi-modal projector (whole, or with ``projector="lora"`` LoRA on it too, as the
authors' ms-swift run: its ``all-linear`` targets include the aligner when it is not
frozen), and the embedding rows of the two context tokens; the audio encoder only when
asked. Everything trained is saved by peft as
``adapter_model.safetensors`` beside ``adapter_config.json``; :func:`save_adapter` adds
the SAP² configuration and the processor so that :func:`load_adapter` can rebuild the
model from the base folder. :func:`export_merged` writes a plain model folder.
"""

from pathlib import Path

from peft import LoraConfig, PeftModel, get_peft_model
from safetensors import SafetensorError
from transformers import ProcessorMixin

from sap2.errors import InputError
from sap2.fileio import atomic_folder
from sap2.model.loading import load_sap2_model, one_line, sap2_config_from, save_sap2_model
from sap2.model.modeling_sap2 import Sap2ForConditionalGeneration

LORA_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
PROJECTOR_TRAINING = ("full", "lora")


def lora_config(
    model: Sap2ForConditionalGeneration,
    rank: int = 8,
    alpha: int = 32,
    dropout: float = 0.05,
    train_audio_encoder: bool = False,
    projector: str = "full",
) -> LoraConfig:
    """The peft configuration of SAP² training (rank 8 in the paper); ``projector``:
    ``full`` trains the multi-modal projector whole, ``lora`` puts LoRA on it."""
    start, end = model.config.context_start_token_id, model.config.context_end_token_id
    if start is None or end is None:
        raise ValueError("add the context tokens first (sap2.model.processor.add_context_tokens)")
    if projector not in PROJECTOR_TRAINING:
        raise ValueError(f"projector must be one of {PROJECTOR_TRAINING}, got {projector!r}")
    modules_to_save = ["multi_modal_projector"] if projector == "full" else []
    if train_audio_encoder:
        modules_to_save.append("audio_tower")
    # Only the language model: the audio encoder has q/k/v projections too.
    targets = r".*language_model\..*\.(" + "|".join(LORA_TARGET_MODULES) + r")"
    if projector == "lora":
        targets = rf"({targets}|.*multi_modal_projector\.linear)"
    return LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=targets,
        modules_to_save=modules_to_save or None,
        trainable_token_indices={"embed_tokens": [start, end]},
        task_type="CAUSAL_LM",
    )


def apply_lora(model: Sap2ForConditionalGeneration, **options) -> PeftModel:
    """Wrap ``model`` for LoRA training (options as in :func:`lora_config`)."""
    return get_peft_model(model, lora_config(model, **options))


def save_adapter(model: PeftModel, processor: ProcessorMixin, out_dir: str | Path) -> None:
    """Save the trained weights (safetensors), the SAP² config and the processor, through
    :func:`sap2.fileio.atomic_folder` (never a half-written ``out_dir``)."""
    with atomic_folder(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        model.get_base_model().config.save_pretrained(tmp)
        processor.save_pretrained(tmp)


def load_adapter(
    base_dir: str | Path, adapter_dir: str | Path, is_trainable: bool = False, **load_options
) -> tuple[PeftModel, ProcessorMixin]:
    """Rebuild a model saved by :func:`save_adapter` on top of the base model folder.

    The SAP² settings saved with the adapter apply unless ``load_options`` override them
    (see :func:`sap2.model.loading.load_sap2_model`).
    """
    if not (Path(adapter_dir) / "adapter_config.json").is_file():
        raise InputError(
            f"{adapter_dir}: no adapter_config.json; expected EXP/final from sap2-train"
        )
    saved = sap2_config_from(adapter_dir)
    for name in ("sap_window_size", "sap_num_heads", "sap_mode"):
        load_options.setdefault(name, getattr(saved, name))
    model, processor = load_sap2_model(base_dir, **load_options)
    try:
        adapted = PeftModel.from_pretrained(model, adapter_dir, is_trainable=is_trainable)
    except (OSError, ValueError, RuntimeError, SafetensorError) as err:  # e.g. size mismatch
        raise InputError(
            f"{adapter_dir}: does not fit the model in {base_dir} ({one_line(err, 160)})"
        ) from None
    return adapted, processor


def export_merged(model: PeftModel, processor: ProcessorMixin, out_dir: str | Path) -> None:
    """Merge the adapters into the weights and save a standalone model folder, loadable
    with :func:`sap2.model.loading.load_sap2_model`."""
    save_sap2_model(model.merge_and_unload(), processor, out_dir)
