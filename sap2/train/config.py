"""The training configuration: YAML defaults (a recipe's ``conf/train.yaml``), command-line
overrides (``--name value`` for every field), and the effective configuration saved to
the experiment folder."""

import argparse
import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path

import yaml

from sap2.cli import str2bool
from sap2.errors import InputError
from sap2.fileio import read_yaml_mapping


@dataclass
class TrainConfig:
    """Everything that can change a training result (paper settings as defaults)."""

    model_dir: str = ""  # local Qwen2-Audio-7B-Instruct (or tiny) folder
    train_cuts: str = ""  # lhotse cuts manifest
    exp_dir: str = "exp/sap2"  # checkpoints, logs, TensorBoard, final adapter
    # SAP²
    sap_window_size: int = 2
    sap_num_heads: int = 4
    sap_mode: str = "speech"
    sap_window_mix: str = ""  # e.g. "1 2": a window size drawn per step, one model for all
    # LoRA (rank 0: train every weight, for small models trained from scratch)
    lora_rank: int = 8
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    train_audio_encoder: bool = False
    # Auxiliary CTC loss on the audio features (0: none; for encoders trained from scratch)
    ctc_weight: float = 0.0
    # Tasks (proportions, normalised) and context
    task_transcribe: float = 0.1
    task_transcribe_context: float = 0.4
    task_prune: float = 0.3
    task_multitask: float = 0.2
    p_no_context: float = 0.1  # context dropout: the utterance gets no context at all
    p_long_context: float = 0.0  # transcribe_context with the long context, not the keywords
    rare_word_pool: str = ""  # distractor pool for cuts with 'rare_words' (LibriSpeech)
    min_distractors: int = 0
    max_distractors: int = 1000
    spelling_families: str = ""  # words that sound alike, respelt per draw (sap2.train.respelling)
    p_renamed_keywords: float = 0.0  # transcribe_context: said words renamed (sap2.train.renaming)
    p_renamed_prune: float = 0.0  # prune and multitask: said words renamed after syllable 1
    keyword_distractors: int = 0  # transcribe_context: up to N unsaid context words added
    p_short_prune_context: float = 0.0  # prune: context cut to the said words and some others
    # Optimisation
    num_epochs: float = 1.0
    max_steps: int = 0  # > 0 overrides num_epochs
    max_duration: float = 200.0  # seconds of audio per batch and device
    num_buckets: int = 10
    gradient_accumulation_steps: int = 1
    learning_rate: float = 1e-4
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 42
    bf16: str = "auto"  # auto: bf16 on CUDA, fp32 on CPU; or true / false
    deepspeed: str = ""  # DeepSpeed JSON (ZeRO-2), GPU only
    gradient_checkpointing: bool = False
    num_workers: int = 2
    # Checkpoints and logs
    save_steps: int = 1000
    save_total_limit: int = 2
    logging_steps: int = 10
    log_batches: bool = False  # write the cut ids of every step to exp_dir/batches.txt

    def task_weights(self) -> dict[str, float]:
        weights = {
            "transcribe": self.task_transcribe,
            "transcribe_context": self.task_transcribe_context,
            "prune": self.task_prune,
            "multitask": self.task_multitask,
        }
        if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise InputError(f"task proportions must be >= 0 with a positive sum, got {weights}")
        total = sum(weights.values())
        return {k: w / total for k, w in weights.items()}

    def window_sizes(self) -> list[int]:
        """The window sizes of ``sap_window_mix`` (empty without a mix)."""
        try:
            sizes = [int(w) for w in self.sap_window_mix.split()]
        except ValueError:
            sizes = [0]
        if any(w < 1 for w in sizes):
            raise InputError(
                f"sap_window_mix must be window sizes >= 1, got {self.sap_window_mix!r}"
            )
        if sizes and self.sap_mode == "none":
            raise InputError("sap_window_mix needs SAP pooling (sap_mode speech or mean, not none)")
        return sizes

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(yaml.safe_dump(dataclasses.asdict(self), sort_keys=False))


def _field_type(f: dataclasses.Field) -> type:
    hint = typing.get_type_hints(TrainConfig)[f.name]
    return hint if not isinstance(hint, types.UnionType) else str


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` plus ``--<field> value`` for every :class:`TrainConfig` field."""
    parser.add_argument("--config", help="YAML file of defaults (e.g. conf/train.yaml)")
    parser.add_argument("--print-config", action="store_true", help="print the config, exit")
    for f in dataclasses.fields(TrainConfig):
        kind = _field_type(f)
        parser.add_argument(
            f"--{f.name.replace('_', '-')}",
            type=str2bool if kind is bool else kind,
            default=argparse.SUPPRESS,  # unset: the YAML's value, else the field's default
            help=f"(default {f.default!r} unless --config sets it)",
        )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """YAML (if any), then the command line, into a checked :class:`TrainConfig`."""
    values: dict = {}
    if args.config:
        loaded = read_yaml_mapping(args.config)
        names = {f.name for f in dataclasses.fields(TrainConfig)}
        unknown = sorted(set(loaded) - names)
        if unknown:
            raise InputError(f"{args.config}: unknown keys {', '.join(unknown)}")
        values.update(loaded)
    for f in dataclasses.fields(TrainConfig):
        if getattr(args, f.name, None) is not None:
            values[f.name] = getattr(args, f.name)
    config = TrainConfig(**values)
    for name in ("model_dir", "train_cuts"):
        if not getattr(config, name):
            raise InputError(f"--{name.replace('_', '-')} is required (command line or YAML)")
    config.task_weights()
    config.window_sizes()
    probabilities = (
        "p_no_context", "p_long_context", "p_renamed_keywords", "p_renamed_prune",
        "p_short_prune_context",
    )  # fmt: skip
    for name in probabilities:
        if not 0 <= getattr(config, name) <= 1:
            raise InputError(f"{name} must be in [0, 1], got {getattr(config, name)}")
    if config.keyword_distractors < 0:
        raise InputError(f"keyword_distractors must be >= 0, got {config.keyword_distractors}")
    if not 0 <= config.ctc_weight < 1:
        raise InputError(f"ctc_weight must be in [0, 1), got {config.ctc_weight}")
    return config
