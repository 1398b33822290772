#!/usr/bin/env python3
"""Train SAP² with LoRA: transformers' Trainer, lhotse data, resumable from any checkpoint.

Options come from --config (a recipe's conf/train.yaml) and --<name> overrides; the
effective configuration is written to EXP_DIR/config.yaml. Checkpoints go to
EXP_DIR/checkpoint-<step> every --save-steps (the last --save-total-limit kept); a rerun
resumes from the latest one, with the optimizer, scheduler and data position restored.
TensorBoard logs are under EXP_DIR/runs/, the log under EXP_DIR/log/train.log, and the
trained adapter (with config and processor) in EXP_DIR/final/; with --lora-rank 0 every
weight trains and EXP_DIR/final/ is a whole model folder (small models from scratch).
EXP_DIR/train_stats.json has the last run's training seconds and peak memory.

One process trains on one GPU or the CPU (float32). Several GPUs or nodes: launch with
torchrun (DistributedDataParallel), optionally with --deepspeed conf/ds_zero2.json.

Usage:
  sap2-train --config conf/train.yaml --model-dir /data/Qwen2-Audio-7B-Instruct \\
      --train-cuts data/cuts/train.jsonl.gz --exp-dir exp/sap2_w2
  torchrun --nproc-per-node 8 -m sap2.bin.train --config conf/train.yaml \\
      --deepspeed conf/ds_zero2.json ...
"""

import argparse
import contextlib
import dataclasses
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import torch
import yaml

from sap2.cli import LOG_FORMAT, add_verbose_option, doc_parser, run_tool
from sap2.errors import InputError
from sap2.fileio import atomic_write_text, folder_lock
from sap2.memory import peak_memory_gb
from sap2.train.config import (
    TrainConfig,
    add_config_arguments,
    check_resumable,
    config_from_args,
)

logger = logging.getLogger("sap2-train")


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-train", __doc__)
    add_config_arguments(parser)
    add_verbose_option(parser)
    return parser


def training_arguments(config: TrainConfig, max_steps: int):
    """The ``TrainingArguments`` of a configuration."""
    from transformers import TrainingArguments

    cuda = torch.cuda.is_available()
    if config.deepspeed and not cuda:
        logger.warning("no GPU: training without DeepSpeed (%s ignored)", config.deepspeed)
    bf16 = cuda if config.bf16 == "auto" else config.bf16 == "true"
    return TrainingArguments(
        output_dir=config.exp_dir,
        max_steps=max_steps,
        per_device_train_batch_size=1,  # batches come from the lhotse sampler
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        warmup_steps=int(config.warmup_ratio * max_steps),
        lr_scheduler_type="cosine",
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        logging_steps=config.logging_steps,
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        bf16=bf16,
        deepspeed=config.deepspeed if config.deepspeed and cuda else None,
        gradient_checkpointing=config.gradient_checkpointing,
        report_to=["tensorboard"],
        ignore_data_skip=True,  # the sampler state is restored instead (Sap2Trainer)
        remove_unused_columns=False,
        use_cpu=not cuda,
        # torchrun on CPUs (tests, debugging) needs gloo; GPUs use NCCL.
        ddp_backend="gloo" if not cuda and int(os.environ.get("WORLD_SIZE", "1")) > 1 else None,
        # the alignment steps leave the LLM's trainable weights without gradients
        ddp_find_unused_parameters=config.align_projector_steps > 0,
    )


def train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.print_config:
        print(yaml.safe_dump(dataclasses.asdict(config), sort_keys=False))
        return 0
    exp = Path(config.exp_dir)
    rank = int(os.environ.get("RANK", "0"))
    # One run at a time in an experiment folder (rank 0 holds the lock for all ranks).
    with folder_lock(exp, "sap2-train") if rank == 0 else contextlib.nullcontext():
        return train_in_folder(config, exp, rank)


def train_in_folder(config: TrainConfig, exp: Path, rank: int) -> int:
    """Train (or resume) the experiment in ``exp``; rank ``rank`` of a torchrun job."""
    from transformers import set_seed

    from sap2.data.dataset import Sap2Dataset
    from sap2.data.manifests import read_cuts
    from sap2.model.loading import load_sap2_model, save_sap2_model
    from sap2.model.lora import apply_lora, save_adapter
    from sap2.train.examples import TrainingExamples
    from sap2.train.trainer import (
        Sap2Trainer,
        count_batches,
        last_complete_checkpoint,
        steps_for_epochs,
    )

    if exp.exists() and not exp.is_dir():
        raise InputError(f"{exp}: is a file, expected a folder (--exp-dir)")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if (exp / "config.yaml").is_file() and has_trained(exp):
        check_resumable(config, exp / "config.yaml")
    # Inputs are read before EXP_DIR is written to, so that bad ones leave nothing there.
    cuts = read_cuts(config.train_cuts)
    examples = TrainingExamples(config)  # reads its word files: fail before loading the model
    if rank == 0:
        config.save(exp / "config.yaml")
        (exp / "log").mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(exp / "log" / "train.log")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logging.getLogger().addHandler(handler)
    set_seed(config.seed)  # the LoRA initialisation draws from the global generator
    model, processor = load_sap2_model(
        config.model_dir, config.sap_window_size, config.sap_num_heads, config.sap_mode,
        dtype=torch.bfloat16 if torch.cuda.is_available() and config.bf16 != "false" else None,
    )  # fmt: skip
    model.config.use_cache = False
    ctc = config.ctc_weight > 0 or config.align_projector_steps > 0
    if ctc:
        model.config.ctc_weight = config.ctc_weight
        model.config.ctc_blank_token_id = processor.tokenizer.pad_token_id
    if config.lora_rank > 0:
        model = apply_lora(
            model, rank=config.lora_rank, alpha=config.lora_alpha, dropout=config.lora_dropout,
            train_audio_encoder=config.train_audio_encoder, projector=config.projector,
        )  # fmt: skip
    else:  # every weight trains: small models trained from scratch (the CPU mini recipe)
        model.requires_grad_(True)
    max_steps = config.max_steps
    if max_steps <= 0:
        batches = count_batches(cuts, config.max_duration, config.num_buckets, world_size)
        max_steps = steps_for_epochs(config.num_epochs, batches, config.gradient_accumulation_steps)
        logger.info("%d batches per epoch and device: %d steps", batches, max_steps)
    trainer = Sap2Trainer(
        model=model,
        args=training_arguments(config, max_steps),
        train_cuts=cuts,
        dataset=Sap2Dataset(
            processor,
            examples,
            with_targets=True,
            with_ctc_labels=ctc,
        ),
        max_duration=config.max_duration,
        num_buckets=config.num_buckets,
        num_workers=config.num_workers,
        batch_log=exp / "batches.txt" if config.log_batches else None,
        window_sizes=config.window_sizes(),
        align_projector_steps=config.align_projector_steps,
    )
    last = last_complete_checkpoint(exp, world_size, remove_incomplete=rank == 0)
    if last is not None:
        logger.info("resuming from %s", last)
        trainer.restore_sampler(last)
    result = trainer.train(resume_from_checkpoint=str(last) if last is not None else None)
    if trainer.is_world_process_zero():
        if config.lora_rank > 0:
            save_adapter(model, processor, exp / "final")
        else:
            save_sap2_model(model, processor, exp / "final")
        stats = {"train_seconds": result.metrics.get("train_runtime"),
                 "peak_memory_gb": peak_memory_gb()}  # fmt: skip
        atomic_write_text(exp / "train_stats.json", json.dumps(stats, indent=2) + "\n")
        logger.info("saved the trained model to %s (peak memory %.2f GB)", exp / "final",
                    stats["peak_memory_gb"])  # fmt: skip
    return 0


def has_trained(exp: Path) -> bool:
    """Whether ``exp`` holds a checkpoint or a final model of an earlier run."""
    return (exp / "final").is_dir() or any(exp.glob("checkpoint-*"))


def main(cmd: Sequence[str] | None = None) -> int:
    """Entry point of ``sap2-train``."""
    return run_tool("sap2-train", get_parser(), train, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
