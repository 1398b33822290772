#!/usr/bin/env python3
"""Decode cuts with Whisper alone, or prompted with each cut's context words: the
baseline a user would pick instead of SAP² (transformers' ``generate(prompt_ids=...)``).

Writes OUT_DIR as ``sap2-decode`` does (hyp.jsonl, hyp.txt, decode_stats.json,
decode_options.json; resumable, locked, a rerun with other options refused), so the
recipes score it like every other decode. ``--model-dir`` is a transformers Whisper
folder, e.g. from ``sap2.model.ctranslate2_whisper``.

Usage:
  sap2-whisper-decode --model-dir exp/whisper_tiny_en --cuts data/cuts/test.jsonl.gz \\
      --mode prompt --context-field ocr_keywords --out-dir exp/whisper/decode_prompt/test
"""

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from sap2.cli import (
    add_verbose_option,
    doc_parser,
    nonnegative_float,
    positive_float,
    positive_int,
    run_tool,
)
from sap2.decode.options import WHISPER_MODES, WhisperOptions
from sap2.errors import InputError
from sap2.fileio import folder_lock

logger = logging.getLogger("sap2-whisper-decode")


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-whisper-decode", __doc__)
    parser.add_argument("--config", help="YAML of these options; the command line wins")
    parser.add_argument("--model-dir", required=True, help="transformers Whisper folder")
    parser.add_argument("--cuts", required=True, help="lhotse cuts manifest to decode")
    parser.add_argument(
        "--mode", choices=WHISPER_MODES, default="no_context",
        help="no_context: Whisper alone; prompt: the context words as Whisper's prompt",
    )  # fmt: skip
    parser.add_argument("--context-field", default="context", help="cut field of the prompt")
    parser.add_argument("--num-beams", type=positive_int, default=1, help="1: greedy search")
    parser.add_argument("--max-new-tokens", type=positive_int, default=128, help="per utterance")
    parser.add_argument(
        "--max-duration", type=positive_float, default=100.0, help="audio seconds per batch"
    )
    parser.add_argument(
        "--lead-silence", type=nonnegative_float, default=0.3,
        help="seconds of silence before the audio (cut tight, Whisper drops first words)",
    )  # fmt: skip
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--out-dir", required=True, help="the decoding folder (locked while used)")
    add_verbose_option(parser)
    return parser


def decode(args: argparse.Namespace) -> int:
    import torch
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    from sap2.data.manifests import read_cuts
    from sap2.decode.decoder import decode_cuts
    from sap2.decode.outputs import check_options, decode_provenance
    from sap2.decode.whisper_baseline import WhisperDecoder
    from sap2.model.loading import model_fingerprint

    options = WhisperOptions(args.mode, args.context_field, args.num_beams, args.max_new_tokens,
                             args.max_duration, args.lead_silence)  # fmt: skip
    record = {
        "model_dir": str(Path(args.model_dir).resolve()),
        "model": model_fingerprint(args.model_dir),
        "decoder": "whisper",
        **options.record(),
    }
    with folder_lock(args.out_dir, "sap2-whisper-decode"):
        check_options(Path(args.out_dir), record)  # before the model loads
        cuts = read_cuts(args.cuts)
        try:
            model = WhisperForConditionalGeneration.from_pretrained(args.model_dir)
            processor = WhisperProcessor.from_pretrained(args.model_dir)
        except (OSError, ValueError) as err:
            raise InputError(f"{args.model_dir}: cannot load a Whisper model ({err})") from None
        device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
        decoder = WhisperDecoder(model.to(device).eval(), processor, options)
        provenance = decode_provenance(args.command_line, record, args.cuts)
        decode_cuts(decoder, cuts, args.out_dir, record, provenance)
    return 0


def main(cmd: Sequence[str] | None = None) -> int:
    """Entry point of ``sap2-whisper-decode``."""
    return run_tool("sap2-whisper-decode", get_parser(), decode, cmd, config_file=True)


if __name__ == "__main__":
    raise SystemExit(main())
