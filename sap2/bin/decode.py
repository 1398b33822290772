#!/usr/bin/env python3
"""Decode cuts with SAP²: two-stage (prune, then transcribe), multitask or baselines.

Writes OUT_DIR/hyp.jsonl incrementally (a rerun skips utterances already there), then
hyp.txt (Kaldi text), keywords.txt (the pruned keywords, ``uttid KW$KW``) and
decode_stats.json (real-time factor, tokens per second). OUT_DIR/decode_options.json
records the model and options; a rerun with others is refused, and so is a second run
while one is writing to OUT_DIR (a lock). sap2-merge-decodes merges the folders of
split jobs.

Usage:
  sap2-decode --config conf/decode/two_stage_w2.yaml --model-dir /data/Qwen2-Audio-7B-Instruct \\
      --adapter exp/sap2/final --cuts data/cuts/test.jsonl.gz \\
      --out-dir exp/sap2/decode_two_stage_w2/test
  sap2-decode --model-dir /data/Qwen2-Audio-7B-Instruct --adapter exp/sap2/final \\
      --cuts data/cuts/test.jsonl.gz --mode two_stage --context-field context \\
      --out-dir exp/sap2/decode_two_stage/test
"""

import argparse
from collections.abc import Sequence
from pathlib import Path

from sap2.cli import (
    add_verbose_option,
    doc_parser,
    positive_float,
    positive_int,
    run_tool,
    str2bool,
    token_budget,
)
from sap2.decode.options import DECODE_MODES, EMPTY_KEYWORDS
from sap2.errors import InputError
from sap2.fileio import folder_lock
from sap2.model.pooling import POOLING_MODES


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-decode", __doc__)
    parser.add_argument(
        "--config", help="YAML of these options (a decoding condition, conf/decode/<tag>.yaml); "
        "the command line wins",
    )  # fmt: skip
    parser.add_argument("--model-dir", help="base model folder (or a merged SAP² folder)")
    parser.add_argument("--adapter", help="LoRA adapter folder from sap2-train (EXP/final)")
    parser.add_argument("--cuts", help="lhotse cuts manifest to decode")
    parser.add_argument(
        "--mode",
        default="two_stage",
        choices=DECODE_MODES,
        help="two_stage: prune the context, then transcribe with it; multitask: one pass; "
        "full_context: transcribe with the whole context; no_context: plain transcription",
    )
    parser.add_argument(
        "--context-field",
        default="context",
        help="cut field with the long context, e.g. biasing_list_100",
    )
    parser.add_argument("--num-beams", type=positive_int, default=1, help="1: greedy search")
    parser.add_argument(
        "--max-new-tokens",
        type=token_budget,
        default="auto",
        help="most tokens a pass generates; auto: 8 per second of audio (+ the context's "
        "tokens and a separator per word where the answer lists keywords) + 24; an output "
        "cut there is marked, not scored",
    )
    parser.add_argument(
        "--repetition-penalty",
        type=positive_float,
        default=1.0,
        help="transformers' penalty on tokens already generated (1: none)",
    )
    parser.add_argument(
        "--empty-keywords",
        choices=EMPTY_KEYWORDS,
        default="plain",
        help="two_stage, when pruning keeps no keyword: the plain transcription prompt (as "
        "the authors' code) or the keywords prompt with an empty span",
    )
    parser.add_argument(
        "--max-duration", type=positive_float, default=100.0, help="audio seconds per batch"
    )
    parser.add_argument(
        "--constrain-keywords",
        type=str2bool,
        default=False,
        help="two_stage: the pruning pass may only write words of the context",
    )
    parser.add_argument("--sap-window-size", type=positive_int, help="override the saved setting")
    parser.add_argument("--sap-mode", choices=POOLING_MODES, help="override the saved pooling mode")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--out-dir", required=True, help="the decoding folder (locked while used)")
    add_verbose_option(parser)
    return parser


def decode(args: argparse.Namespace) -> int:
    with folder_lock(args.out_dir, "sap2-decode"):
        return decode_to_folder(args)


def decode_to_folder(args: argparse.Namespace) -> int:
    """Load the model and decode ``--cuts`` into ``--out-dir`` (locked by the caller)."""
    if not args.model_dir or not args.cuts:
        raise InputError("--model-dir and --cuts are required (on the command line or in --config)")
    import torch

    from sap2.data.manifests import read_cuts
    from sap2.decode.decoder import Decoder, decode_cuts
    from sap2.decode.options import DecodeOptions
    from sap2.decode.outputs import check_options, decode_provenance
    from sap2.model.loading import load_sap2_model, model_fingerprint
    from sap2.model.lora import load_adapter

    options = DecodeOptions(
        args.mode, args.context_field, args.num_beams, args.max_new_tokens, args.max_duration,
        args.constrain_keywords, args.repetition_penalty, args.empty_keywords,
    )  # fmt: skip
    overrides = {"sap_window_size": args.sap_window_size, "sap_mode": args.sap_mode}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    record = {
        "model_dir": str(Path(args.model_dir).resolve()),
        "adapter": str(Path(args.adapter).resolve()) if args.adapter else None,
        "model": model_fingerprint(args.model_dir, args.adapter),
        **options.record(),
        **overrides,
    }
    check_options(Path(args.out_dir), record)  # before the model loads
    cuts = read_cuts(args.cuts)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    if args.adapter:
        model, processor = load_adapter(args.model_dir, args.adapter, dtype=dtype, **overrides)
        model = model.merge_and_unload()
    else:
        model, processor = load_sap2_model(args.model_dir, dtype=dtype, **overrides)
    model = model.to(device).eval()
    provenance = decode_provenance(args.command_line, record, args.cuts)
    decode_cuts(Decoder(model, processor, options), cuts, args.out_dir, record, provenance)
    return 0


def main(cmd: Sequence[str] | None = None) -> int:
    """Entry point of ``sap2-decode``."""
    return run_tool("sap2-decode", get_parser(), decode, cmd, config_file=True)


if __name__ == "__main__":
    raise SystemExit(main())
