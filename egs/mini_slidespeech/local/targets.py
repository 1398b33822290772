#!/usr/bin/env python3
"""Stage 30 of egs/mini_slidespeech: this recipe's targets, met or not, from this run.

Reads the scored decodes (``scoring/wer.json``), ``decode_stats.json`` and the training's
``train_stats.json``, and writes a markdown section (appended to exp/RESULTS.md):

- SAP² two-stage, free pruning, speech pooling, w=2 (``two_stage_speech_w2``): B-WER at
  least 50 % lower than the same model without context, and at least 25 % lower than
  Whisper tiny.en prompted with the slide's keywords; pruning recall >= 85 %, precision
  >= 70 %; U-WER at most 1 point above no context;
- the recipe (stages 0 to 30 in one run) in at most 25 minutes; peak memory of training
  and decoding at most 6 GB.

Usage:
  python local/targets.py --exp-dir exp/sap2_train --whisper-dir exp/whisper_tiny_en \\
      --sets test --elapsed-seconds 1200 --stages 0-30 --out exp/targets.md
"""

import argparse
import json
from pathlib import Path

from sap2.cli import doc_parser, nonnegative_float, run_tool
from sap2.errors import InputError
from sap2.fileio import atomic_write_text

SAP2 = "two_stage_speech_w2"
MAX_MINUTES = 25
MAX_MEMORY_GB = 6.0


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("local/targets.py", __doc__)
    parser.add_argument("--exp-dir", required=True, help="the SAP² system's folder")
    parser.add_argument("--whisper-dir", required=True, help="the Whisper baseline's folder")
    parser.add_argument("--sets", nargs="+", default=["test"], help="test sets")
    parser.add_argument(
        "--elapsed-seconds", type=nonnegative_float, help="run.sh's time for --stages"
    )
    parser.add_argument("--stages", default="", help="the stages run.sh ran, e.g. 0-30")
    parser.add_argument("--out", required=True, help="markdown file to write")
    return parser


def read_json(path: Path) -> dict:
    """A JSON object, or a one-line error naming the file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: not found (run the decoding and scoring stages)") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not JSON ({err})") from None


def score(system: Path, condition: str, split: str) -> dict:
    return read_json(system / f"decode_{condition}" / split / "scoring" / "wer.json")


def rate(summary: dict, key: str) -> float:
    return summary[key]["error_rate"]


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def relative_drop(value: float, base: float) -> float:
    """How much lower ``value`` is than ``base``, in percent of ``base``."""
    return 100 * (base - value) / base if base else 0.0


def target_rows(exp: Path, whisper: Path, split: str) -> list[tuple[str, str, bool]]:
    """(target, what this run measured, met) for the accuracy targets on ``split``."""
    sap2, alone = score(exp, SAP2, split), score(exp, "no_context", split)
    prompted = score(whisper, "prompt_keywords", split)
    b, b_alone, b_whisper = rate(sap2, "b_wer"), rate(alone, "b_wer"), rate(prompted, "b_wer")
    u, u_alone = rate(sap2, "u_wer"), rate(alone, "u_wer")
    pruning = sap2.get("pruning", {})
    recall, precision = pruning.get("recall", 0.0), pruning.get("precision", 0.0)
    drop, drop_whisper = relative_drop(b, b_alone), relative_drop(b, b_whisper)
    return [
        ("B-WER at least 50 % below no context",
         f"{b:.2f} against {b_alone:.2f}: {drop:.2f} % lower", drop >= 50),
        ("B-WER at least 25 % below Whisper tiny.en prompted with the keywords",
         f"{b:.2f} against {b_whisper:.2f}: {drop_whisper:.2f} % lower", drop_whisper >= 25),
        ("pruning recall at least 85 %", f"{recall:.2f} %", recall >= 85),
        ("pruning precision at least 70 %", f"{precision:.2f} %", precision >= 70),
        ("U-WER at most 1 point above no context",
         f"{u:.2f} against {u_alone:.2f}: {u - u_alone:+.2f} points", u <= u_alone + 1),
    ]  # fmt: skip


def peak_memory(exp: Path, whisper: Path) -> float:
    """The largest peak memory (GB) of the training and every decode."""
    peaks = [read_json(exp / "train_stats.json").get("peak_memory_gb") or 0.0]
    for stats in [*exp.glob("decode_*/*/decode_stats.json"),
                  *whisper.glob("decode_*/*/decode_stats.json")]:  # fmt: skip
        peaks.append(read_json(stats).get("peak_memory_gb") or 0.0)
    return max(peaks)


def targets(args: argparse.Namespace) -> None:
    exp, whisper = Path(args.exp_dir), Path(args.whisper_dir)
    lines = ["## Targets", "", "SAP² two-stage, free pruning, speech pooling, w=2, measured in "
             "this run:", "", "| set | target | measured | |", "|---|---|---|---|"]  # fmt: skip
    for split in args.sets:
        for target, measured, met in target_rows(exp, whisper, split):
            lines.append(f"| {split} | {target} | {measured} | {verdict(met)} |")
    if args.stages == "0-30" and args.elapsed_seconds is not None:
        minutes = args.elapsed_seconds / 60
        time_cells = f"{minutes:.2f} min | {verdict(minutes <= MAX_MINUTES)}"
    else:
        time_cells = f"not measured: this run ran stages {args.stages or '?'} | -"
    memory = peak_memory(exp, whisper)
    lines += [
        f"| - | the recipe (stages 0-30) in at most {MAX_MINUTES} minutes | {time_cells} |",
        f"| - | peak memory at most {MAX_MEMORY_GB:.0f} GB (training, decoding) | "
        f"{memory:.2f} GB | {verdict(memory <= MAX_MEMORY_GB)} |",
    ]
    atomic_write_text(args.out, "\n".join(lines) + "\n")


def main(cmd: list[str] | None = None) -> int:
    return run_tool("local/targets.py", get_parser(), targets, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
