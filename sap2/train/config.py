"""The training configuration: YAML defaults (a recipe's ``conf/train.yaml``), command-line
overrides (``--name value`` for every field), and the effective configuration saved to
the experiment folder."""

import argparse
import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sap2.cli import (
    fraction,
    nonnegative_float,
    nonnegative_int,
    number_type,
    parse_yaml_value,
    positive_float,
    positive_int,
    str2bool,
)
from sap2.errors import InputError
from sap2.fileio import atomic_write_text, read_yaml_mapping
from sap2.model.configuration_sap2 import valid_ctc_weight
from sap2.model.pooling import POOLING_MODES

#: Fields that a resumed run may change: they do not change what is learnt.
RESUMABLE_CHANGES = frozenset({"num_workers", "logging_steps", "save_total_limit", "log_batches"})


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in allowed:
            raise argparse.ArgumentTypeError(f"expected one of {', '.join(allowed)}, got {value!r}")
        return value

    return parse


def _option(default, parse: Callable[[str], object]):
    """A field whose command-line and YAML values go through ``parse`` (an argparse type)."""
    return field(default=default, metadata={"parse": parse})


_weight = functools.partial(_option, parse=nonnegative_float)
_probability = functools.partial(_option, parse=fraction)
_count = functools.partial(_option, parse=nonnegative_int)
_ctc_weight = number_type(float, valid_ctc_weight, "a number in [0, 1)")
_two_or_more = number_type(int, lambda n: n >= 2, "an integer >= 2")


@dataclass
class TrainConfig:
    """Everything that can change a training result (paper settings as defaults)."""

    model_dir: str = ""  # local Qwen2-Audio-7B-Instruct (or tiny) folder
    train_cuts: str = ""  # lhotse cuts manifest
    exp_dir: str = "exp/sap2"  # checkpoints, logs, TensorBoard, final adapter
    # SAP²
    sap_window_size: int = _option(2, positive_int)
    sap_num_heads: int = _option(4, positive_int)
    sap_mode: str = _option("speech", _choice(*POOLING_MODES))
    sap_window_mix: str = ""  # e.g. "1 2": a window size drawn per step, one model for all
    # LoRA (rank 0: train every weight, for small models trained from scratch)
    lora_rank: int = _count(8)
    lora_alpha: int = _option(32, positive_int)
    lora_dropout: float = _probability(0.05)
    train_audio_encoder: bool = False
    projector: str = _option("full", _choice("full", "lora"))  # lora: as the authors' run
    # Auxiliary CTC loss on the audio features (0: none; for encoders trained from scratch)
    ctc_weight: float = _option(0.0, _ctc_weight)
    # The first N steps train the projector with that CTC loss alone, the LLM not run
    align_projector_steps: int = _count(0)
    # Tasks (proportions, normalised) and context
    task_transcribe: float = _weight(0.1)
    task_transcribe_context: float = _weight(0.4)
    task_prune: float = _weight(0.3)
    task_multitask: float = _weight(0.2)
    p_no_context: float = _probability(0.1)  # context dropout: the utterance gets no context
    p_long_context: float = _probability(0.0)  # transcribe_context with the long context
    rare_word_pool: str = ""  # distractor pool for cuts with 'rare_words' (LibriSpeech)
    min_distractors: int = _count(0)
    max_distractors: int = _count(1000)
    # Optimisation
    num_epochs: float = _option(1.0, positive_float)
    max_steps: int = _count(0)  # > 0 overrides num_epochs
    max_duration: float = _option(200.0, positive_float)  # seconds of audio per batch, device
    num_buckets: int = _option(10, _two_or_more)  # lhotse's bucketing needs 2
    gradient_accumulation_steps: int = _option(1, positive_int)
    learning_rate: float = _option(1e-4, positive_float)
    warmup_ratio: float = _probability(0.03)
    weight_decay: float = _option(0.0, nonnegative_float)
    max_grad_norm: float = _option(1.0, nonnegative_float)  # 0: no clipping
    seed: int = 42
    bf16: str = _option("auto", _choice("auto", "true", "false"))  # auto: bf16 on CUDA only
    deepspeed: str = ""  # DeepSpeed JSON (ZeRO-2), GPU only
    gradient_checkpointing: bool = False
    num_workers: int = _count(2)
    # Checkpoints and logs
    save_steps: int = _option(1000, positive_int)
    save_total_limit: int = _option(2, positive_int)
    logging_steps: int = _option(10, positive_int)
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
        return sizes

    def save(self, path: str | Path) -> None:
        """Write the configuration as YAML (atomically)."""
        atomic_write_text(path, yaml.safe_dump(dataclasses.asdict(self), sort_keys=False))


def _field_parser(f: dataclasses.Field) -> Callable[[str], object]:
    """The argparse type of a field: its own checker, else from its annotation."""
    if "parse" in f.metadata:
        return f.metadata["parse"]
    hint = typing.get_type_hints(TrainConfig)[f.name]
    if isinstance(hint, types.UnionType) or hint is str:
        return str
    return str2bool if hint is bool else hint


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` plus ``--<field> value`` for every :class:`TrainConfig` field."""
    parser.add_argument("--config", help="YAML file of defaults (e.g. conf/train.yaml)")
    parser.add_argument("--print-config", action="store_true", help="print the config, exit")
    for f in dataclasses.fields(TrainConfig):
        parser.add_argument(
            f"--{f.name.replace('_', '-')}",
            type=_field_parser(f),
            default=argparse.SUPPRESS,  # unset: the YAML's value, else the field's default
            help=f"(default {f.default!r} unless --config sets it)",
        )


def read_config_file(path: str | Path) -> dict:
    """The options of a YAML config, each coerced and checked as on the command line
    (YAML 1.1 reads ``1e-3`` as a string: it becomes a float here); a bad value raises
    :class:`InputError` naming the file and the key."""
    loaded = read_yaml_mapping(path)
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(loaded) - set(fields))
    if unknown:
        raise InputError(f"{path}: unknown keys {', '.join(unknown)}")
    return {
        name: parse_yaml_value(path, name, value, _field_parser(fields[name]))
        for name, value in loaded.items()
    }


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """YAML (if any), then the command line, into a checked :class:`TrainConfig`."""
    values = read_config_file(args.config) if args.config else {}
    for f in dataclasses.fields(TrainConfig):
        if getattr(args, f.name, None) is not None:
            values[f.name] = getattr(args, f.name)
    config = TrainConfig(**values)
    for name in ("model_dir", "train_cuts"):
        if not getattr(config, name):
            raise InputError(f"--{name.replace('_', '-')} is required (command line or YAML)")
    config.task_weights()
    config.window_sizes()
    return config


def check_resumable(config: TrainConfig, saved_path: str | Path) -> None:
    """Refuse to go on training an experiment with settings other than those it was
    started with (``saved_path``: its ``config.yaml``); :data:`RESUMABLE_CHANGES` may
    differ. Raises :class:`InputError` listing what differs."""
    saved = read_config_file(saved_path)
    current = dataclasses.asdict(config)
    differ = [
        f"{name} {saved[name]!r} -> {current[name]!r}"
        for name in current
        if name in saved and name not in RESUMABLE_CHANGES | {"exp_dir"}
        and saved[name] != current[name]
    ]  # fmt: skip
    if differ:
        raise InputError(
            f"{saved_path}: this experiment was started with other settings ({'; '.join(differ)}); "
            "rerun with the saved ones or use another --exp-dir"
        )
