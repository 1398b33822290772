#!/usr/bin/env python3
"""Transcribe your own audio files with SAP², optionally biased towards keywords.

Any sample rate, mono or stereo (resampled to 16 kHz mono with librosa), up to the
encoder window (30 s for Qwen2-Audio). With --keywords (one keyword or phrase per line,
icefall's --context-file format) the two-stage SAP² decoding runs: the keywords heard
are selected first, then the audio is transcribed with them. Prints ``FILE<TAB>TEXT``,
one line per file; a file that cannot be read, or is too long or too short for the
encoder, gets one error line on stderr and the exit status is 1 after the others are done.
An output that is no transcript (cut at --max-new-tokens, or of another task's shape)
prints an empty text and a warning saying why.

Usage:
  sap2-transcribe --model /data/Qwen2-Audio-7B-Instruct --adapter exp/sap2/final \\
      --keywords talk_terms.txt talk1.wav talk2.flac
"""

import argparse
import logging
import sys
from collections.abc import Sequence

from sap2.cli import add_verbose_option, doc_parser, positive_int, run_tool, token_budget
from sap2.decode.options import DECODE_MODES
from sap2.errors import InputError

logger = logging.getLogger("sap2-transcribe")


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-transcribe", __doc__)
    parser.add_argument("audio", nargs="+", help="audio files (wav, flac, mp3, ...)")
    parser.add_argument("--model", required=True, help="base model or merged SAP² folder")
    parser.add_argument("--adapter", help="LoRA adapter folder from sap2-train")
    parser.add_argument("--keywords", help="context keywords, one per line")
    parser.add_argument("--mode", choices=DECODE_MODES,
                        help="default: two_stage with --keywords, else no_context")  # fmt: skip
    parser.add_argument("--num-beams", type=positive_int, default=1, help="1: greedy search")
    parser.add_argument(
        "--max-new-tokens",
        type=token_budget,
        default="auto",
        help="most tokens a pass generates (auto: from the audio length, as sap2-decode)",
    )
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    add_verbose_option(parser)
    return parser


def read_keywords(path: str) -> list[str]:
    from sap2.scoring.readers import read_lines

    return [line.strip() for _, line in read_lines(path)]


def transcribe(args: argparse.Namespace) -> int:
    import librosa
    import torch

    from sap2.decode.decoder import Decoder
    from sap2.decode.options import DecodeOptions
    from sap2.model.loading import load_sap2_model
    from sap2.model.lora import load_adapter
    from sap2.model.processor import SAMPLING_RATE, min_audio_samples

    keywords = read_keywords(args.keywords) if args.keywords else []
    mode = args.mode or ("two_stage" if keywords else "no_context")
    if mode != "no_context" and not keywords:
        raise InputError(f"--mode {mode} needs --keywords")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    if args.adapter:
        model, processor = load_adapter(args.model, args.adapter, dtype=dtype)
        model = model.merge_and_unload()
    else:
        model, processor = load_sap2_model(args.model, dtype=dtype)
    decoder = Decoder(
        model.to(device).eval(), processor,
        DecodeOptions(mode, "keywords", args.num_beams, args.max_new_tokens),
    )  # fmt: skip
    window = processor.feature_extractor.chunk_length
    failed = 0
    for path in args.audio:
        try:
            audio, _ = librosa.load(path, sr=SAMPLING_RATE, mono=True)
        except Exception as err:  # soundfile/audioread raise many types
            print(f"sap2-transcribe: error: {path}: cannot read audio ({err})", file=sys.stderr)
            failed += 1
            continue
        seconds = len(audio) / SAMPLING_RATE
        problem = None
        if seconds > window:
            problem = f"{seconds:.1f} s is longer than the {window} s encoder window; cut it first"
        elif len(audio) < min_audio_samples(processor):
            shortest = min_audio_samples(processor) / SAMPLING_RATE
            problem = (
                f"{seconds * 1000:.0f} ms is shorter than the {shortest * 1000:.0f} ms "
                "the encoder needs"
            )
        if problem is not None:
            print(f"sap2-transcribe: error: {path}: {problem}", file=sys.stderr)
            failed += 1
            continue
        result = decoder.decode([audio], [keywords])[0]
        if result.get("problems"):  # the transcript is then left empty
            problems = "; ".join(result["problems"])
            print(f"sap2-transcribe: warning: {path}: {problems}", file=sys.stderr)
        print(f"{path}\t{result['hyp']}", flush=True)
    return 1 if failed else 0


def main(cmd: Sequence[str] | None = None) -> int:
    """Entry point of ``sap2-transcribe``."""
    return run_tool("sap2-transcribe", get_parser(), transcribe, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
