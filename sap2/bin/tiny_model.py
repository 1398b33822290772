#!/usr/bin/env python3
"""Write a small random Qwen2-Audio checkpoint folder in the published layout.

A sentencepiece BPE tokenizer trained on the texts of --texts, Whisper log-mel features
and a randomly initialised Qwen2AudioForConditionalGeneration (sap2.model.tiny): the
real loading, training and decoding code runs on it, fast, on a CPU. Nothing is
downloaded.

Usage:
  sap2-tiny-model --out exp/tiny_qwen2_audio --texts data/train/text
  sap2-tiny-model --out exp/tiny_qwen2_audio --texts data/train/text --config conf/model.yaml
"""

import argparse
import inspect
from collections.abc import Sequence

from sap2.cli import add_verbose_option, doc_parser, run_tool
from sap2.errors import InputError


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-tiny-model", __doc__)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--texts", required=True, help="Kaldi text file to train the tokenizer on")
    parser.add_argument(
        "--config",
        help="YAML of sap2.model.tiny.build_tiny_qwen2_audio options (hidden_size, "
        "num_layers, vocab_size, window_seconds, ...)",
    )
    add_verbose_option(parser)
    return parser


def build(args: argparse.Namespace) -> int:
    from sap2.fileio import read_yaml_mapping
    from sap2.model.tiny import build_tiny_qwen2_audio
    from sap2.scoring.readers import read_text

    options = read_yaml_mapping(args.config) if args.config else {}
    known = set(inspect.signature(build_tiny_qwen2_audio).parameters) - {"out_dir", "texts"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise InputError(f"{args.config}: unknown keys {', '.join(unknown)}")
    texts = [text for text in read_text(args.texts).values() if text]
    if not texts:
        raise InputError(f"{args.texts}: no text to train the tokenizer on")
    build_tiny_qwen2_audio(args.out, texts, **options)
    return 0


def main(cmd: Sequence[str] | None = None) -> int:
    """Entry point of ``sap2-tiny-model``."""
    return run_tool("sap2-tiny-model", get_parser(), build, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
