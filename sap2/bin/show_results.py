#!/usr/bin/env python3
"""Summarise every scored decode of a recipe into RESULTS.md and a B-WER plot.

Reads ``EXP/<system>/decode_<tag>/<set>/scoring/wer.json`` (written by the recipes'
scoring stage with ``sap2-score --json``) and ``decode_stats.json`` beside the
hypotheses, and writes RESULTS.md, headed by the date, the Python, PyTorch and git
versions and the command that regenerates it:

- one table: system, decode, test set, context list size N, WER, U-WER, B-WER, keyword
  recall and precision of pruning, false alarms from the context (count and per 100
  reference words, where scored with ``--context``), context positions the LLM read per
  utterance, real-time factor, peak memory;
- every decode against the baseline decode of its system and set (``--baseline``, the
  recipes' ``no_context``): U-WER and B-WER errors and their relative change, which is
  how the context's gain is judged;
- what each system is: the model its decodes read, its training settings
  (``EXP/<system>/config.yaml``) and the short hashes of its model config, adapter
  weights and code (the decodes' provenance);
- a recipe's own notes (``--notes``: what its targets are).

``--labels`` names the rows in words and orders them; otherwise each system's baseline
decode comes first. The PNG shows U-WER and B-WER of the decodes without a list size as
bars with their values, the baseline's as dashed lines, and where decode tags end in
``_N<size>`` (the context list size), B-WER and the real-time factor against N.

The labels file is YAML, ``<system>/<decode tag>: label`` (``*`` for any system; a tag
ending in ``_N`` names all its list sizes, and a tag without its ``_N<size>`` also
names them where there is no ``_N`` key), in the order the rows are to be shown::

    whisper_tiny_en/no_context: Whisper tiny.en alone
    "*/two_stage_speech_w2": SAP² two-stage, speech pooling, w=2

Usage:
  sap2-show-results exp --out RESULTS.md --plot RESULTS_bwer.png
  utils/show_results.sh exp          # the same, from a recipe
"""

import argparse
import json
import math
import platform
import re
import subprocess
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from sap2.cli import add_verbose_option, doc_parser, run_tool
from sap2.errors import InputError
from sap2.fileio import atomic_output, atomic_write_text, read_yaml_mapping

_SIZE = re.compile(r"_N(\d+)$")
_COUNT_FIELDS = ("ref_words", "subs", "ins", "dels", "error_rate")
# Training settings named in the systems section, where a system's config.yaml has them.
SYSTEM_KEYS = (
    "model_dir", "lora_rank", "p_no_context", "sap_mode", "sap_window_size",
    "sap_window_mix", "align_projector_steps", "max_steps",
)  # fmt: skip


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-show-results", __doc__)
    parser.add_argument("exp_dir", help="a recipe's exp/ folder")
    parser.add_argument("--out", default="RESULTS.md", help="markdown file to write")
    parser.add_argument("--plot", default="RESULTS_bwer.png", help="PNG of the error rates")
    parser.add_argument(
        "--baseline", default="no_context",
        help="decode tag every other decode is compared with ('' for no comparison)",
    )  # fmt: skip
    parser.add_argument(
        "--notes", help="markdown file appended at the end (a recipe's notes on its results)"
    )
    parser.add_argument("--labels", help="YAML of row labels in words, in the rows' order")
    add_verbose_option(parser)
    return parser


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not JSON ({err})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a JSON object")
    return data


def collect(exp_dir: Path) -> list[dict]:
    """One row per scored decode, sorted by system, decode tag and test set."""
    rows = []
    for wer_json in sorted(exp_dir.glob("*/decode_*/*/scoring/wer.json")):
        set_dir = wer_json.parent.parent
        summary = _read_json(wer_json)
        counts = {key: summary.get(key) for key in ("wer", "u_wer", "b_wer")}
        if "utterances" not in summary or not all(
            isinstance(c, dict) and all(field in c for field in _COUNT_FIELDS)
            for c in counts.values()
        ):
            raise InputError(f"{wer_json}: not a sap2-score --json summary")
        stats_path = set_dir / "decode_stats.json"
        stats = _read_json(stats_path) if stats_path.is_file() else {}
        tag = set_dir.parent.name.removeprefix("decode_")
        size = _SIZE.search(tag)
        rows.append(
            {
                "system": set_dir.parent.parent.name,
                "decode": tag,
                "set": set_dir.name,
                "list_size": int(size.group(1)) if size else None,
                "utterances": summary["utterances"],
                "wer": counts["wer"]["error_rate"],
                "u_wer": counts["u_wer"]["error_rate"],
                "b_wer": counts["b_wer"]["error_rate"],
                "u_counts": counts["u_wer"],
                "b_counts": counts["b_wer"],
                "pruning_recall": summary.get("pruning", {}).get("recall"),
                "pruning_precision": summary.get("pruning", {}).get("precision"),
                "false_alarms": summary.get("false_alarms", {}).get("count"),
                "false_alarms_per_100": summary.get("false_alarms", {}).get("per_100_words"),
                "context_tokens": stats.get("context_tokens"),
                "rtf": stats.get("rtf"),
                "peak_memory_gb": stats.get("peak_memory_gb"),
                "provenance": stats.get("provenance") or {},
            }
        )
    return rows


def read_labels(path: str) -> dict[str, str]:
    """``<system>/<decode tag>`` (or ``*/<tag>``) -> label, in the file's order."""
    labels = read_yaml_mapping(path)
    for key, label in labels.items():
        if not isinstance(key, str) or key.count("/") != 1 or not isinstance(label, str):
            raise InputError(f"{path}: {key!r}: expected '<system>/<decode tag>: label'")
    return labels


def label_rows(rows: list[dict], labels: dict[str, str], baseline: str = "") -> list[dict]:
    """``rows`` with a ``label`` each (its decode tag where ``labels`` has none), in the
    order of ``labels``, unlabelled rows after; without labels, each system's ``baseline``
    decode first."""
    order = list(labels)

    def key_of(row: dict) -> str | None:
        decode = row["decode"]
        for tag in dict.fromkeys((decode, _SIZE.sub("_N", decode), _SIZE.sub("", decode))):
            for key in (f"{row['system']}/{tag}", f"*/{tag}"):
                if key in labels:
                    return key
        return None

    def rank(row: dict) -> tuple:
        key = key_of(row)
        size = -1 if row["list_size"] is None else row["list_size"]  # N in numeric order
        return (
            order.index(key) if key else len(order),
            row["system"],
            row["decode"] != baseline,
            _SIZE.sub("", row["decode"]),
            size,
        )

    for row in rows:
        key = key_of(row)
        row["label"] = labels[key] if key else row["decode"]
    return sorted(rows, key=rank)


def _cell(value, digits: int = 2) -> str:
    return (
        "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)
    )


def _errors(counts: dict) -> str:
    errors = counts["subs"] + counts["ins"] + counts["dels"]
    return f"{errors} / {counts['ref_words']}"


def _change(value: float | None, base: float | None) -> str:
    """Relative change of an error rate in percent; '-' against a baseline of 0 and where
    a rate is undefined (errors without reference words, as on non-speech controls)."""
    if value is None or base is None or base == 0 or math.isnan(base) or math.isnan(value):
        return "-"
    return f"{100 * (value - base) / base:+.2f} %"


def comparison(rows: list[dict], baseline: str) -> list[str]:
    """Markdown lines comparing each decode with the ``baseline`` decode of its system and
    set (none when no decode has that tag)."""
    bases = {(r["system"], r["set"]): r for r in rows if r["decode"] == baseline}
    others = [r for r in rows if r["decode"] != baseline and (r["system"], r["set"]) in bases]
    if not others:
        return []
    lines = [
        "",
        f"## Against {baseline}",
        "",
        f"Errors / reference words, and the change of the error rate relative to the {baseline} "
        "decode of the same system and set (negative: fewer errors).",
        "",
        "| condition | system | set | N | U-WER errors | U-WER change | B-WER errors | "
        "B-WER change |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in [r for r in rows if (r["system"], r["set"]) in bases]:
        base = bases[(r["system"], r["set"])]
        lines.append(
            f"| {r['label']} | {r['system']} | {r['set']} | {_cell(r['list_size'])} | "
            f"{_errors(r['u_counts'])} | "
            f"{'-' if r is base else _change(r['u_wer'], base['u_wer'])} | "
            f"{_errors(r['b_counts'])} | "
            f"{'-' if r is base else _change(r['b_wer'], base['b_wer'])} |"
        )
    return lines


def _setting(key: str, value) -> str:
    return f"context dropout (p_no_context {value})" if key == "p_no_context" else f"{key} {value}"


#: Provenance hashes shown per system, with the length of their short form.
SHORT_HASHES = (("model_config_sha256", "config", 8), ("adapter_weights_sha256", "adapter", 8),
                ("git_commit", "git", 7))  # fmt: skip


def _short_hashes(provenance: dict) -> str:
    """``config 1a2b3c4d, adapter 5e6f7a8b, git 0123456`` (+ ``dirty``) from a decode
    folder's provenance; '' where it has none."""
    parts = [
        f"{name} {provenance[key][:n]}" for key, name, n in SHORT_HASHES if provenance.get(key)
    ]
    if provenance.get("git_dirty"):
        parts.append("dirty")
    return ", ".join(parts)


def _model_of(provenance: dict, exp_dir: Path) -> str | None:
    """The adapter (else the model folder) a decode was made with, relative to the
    recipe folder where it is inside it."""
    options = provenance.get("options") or {}
    where = options.get("adapter") or options.get("model_dir")
    if not where:
        return None
    try:
        return str(Path(where).relative_to(exp_dir.resolve().parent))
    except ValueError:
        return where


def systems(rows: list[dict], exp_dir: Path) -> list[str]:
    """Markdown lines naming, per system, the model its decodes share, how it was trained
    (the :data:`SYSTEM_KEYS` of ``exp_dir/<system>/config.yaml``) and the short hashes of
    what its decodes were made with (:data:`SHORT_HASHES`; several sets where they differ)."""
    lines = []
    for system in sorted({r["system"] for r in rows}):
        own = [r for r in rows if r["system"] == system]
        decodes = len({r["decode"] for r in own})
        models = sorted({_model_of(r["provenance"], exp_dir) for r in own} - {None})
        model = ", ".join(models) or f"{exp_dir.name}/{system}/final"
        line = f"- {system}: {decodes} decodes of {model}"
        config_path = exp_dir / system / "config.yaml"
        if config_path.is_file():
            config = read_yaml_mapping(config_path)
            settings = [_setting(key, config[key]) for key in SYSTEM_KEYS if key in config]
            line += f"; trained with {', '.join(settings)}" if settings else ""
        hashes = sorted({_short_hashes(r["provenance"]) for r in own})
        line += "; " + " | ".join(h for h in hashes if h) if any(hashes) else ""
        lines.append(line)
    return ["", "## Systems", "", *lines]


def markdown(
    rows: list[dict], command: str, baseline: str = "", exp_dir: Path | None = None
) -> str:
    """The RESULTS.md text: header, table, comparison with ``baseline``, systems."""
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "-"
    lines = [
        "# RESULTS",
        "",
        f"- date: {date.today().isoformat()}",
        f"- python {platform.python_version()}, pytorch {torch_version}, "
        f"git {git.stdout.strip() or '-'}",
        "",
        "Regenerate with:",
        "",
        f"    {command}",
        "",
        "| condition | system | set | utts | N | WER | U-WER | B-WER | pruning recall "
        "| pruning precision | false alarms | FA / 100 words | context tokens | RTF "
        "| peak GB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.get('label', r['decode'])} | {r['system']} | {r['set']} | {r['utterances']} | "
            f"{_cell(r['list_size'])} | {_cell(r['wer'])} | {_cell(r['u_wer'])} | "
            f"{_cell(r['b_wer'])} | {_cell(r['pruning_recall'])} | "
            f"{_cell(r['pruning_precision'])} | {_cell(r['false_alarms'])} | "
            f"{_cell(r['false_alarms_per_100'])} | {_cell(r['context_tokens'])} | "
            f"{_cell(r['rtf'])} | {_cell(r['peak_memory_gb'])} |"
        )
    if baseline:
        lines += comparison(rows, baseline)
    if exp_dir is not None:
        lines += systems(rows, exp_dir)
    return "\n".join(lines) + "\n"


def _bars(ax, rows: list[dict], baseline: str) -> None:
    """U-WER and B-WER of every decode as bars with their values, the first ``baseline``
    decode's as dashed lines."""
    width = 0.4
    base = next((r for r in rows if r["decode"] == baseline), None)
    for k, (key, name, color) in enumerate((("u_wer", "U-WER", "tab:blue"),
                                            ("b_wer", "B-WER", "tab:orange"))):  # fmt: skip
        values = [r[key] if r[key] is not None else 0.0 for r in rows]
        bars = ax.bar([i + (k - 0.5) * width for i in range(len(rows))], values, width,
                      label=name, color=color)  # fmt: skip
        ax.bar_label(bars, fmt="%.2f", fontsize=6)
        if base is not None and base[key] is not None:
            ax.axhline(base[key], color=color, linestyle="--", linewidth=0.8,
                       label=f"{name} of {base.get('label', baseline)}")  # fmt: skip
    ax.set_xticks(range(len(rows)))
    labels = [f"{r.get('label', r['decode'])}\n{r['set']}" for r in rows]
    ax.set_xticklabels(labels, fontsize=6, rotation=25, ha="right")
    ax.set_ylabel("error rate (%)")


def _against_size(ax, rows: list[dict], key: str, ylabel: str) -> None:
    """``key`` against the context list size, one line per system, decode and set."""
    series: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        if r[key] is not None:
            name = f"{r['system']} {r.get('label', _SIZE.sub('', r['decode']))} {r['set']}"
            series.setdefault(name, []).append((r["list_size"], r[key]))
    for name, points in sorted(series.items()):
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlabel("context list size N (distractors)")
    ax.set_ylabel(ylabel)


def plot(rows: list[dict], path: Path, baseline: str = "") -> None:
    """One panel of U-WER / B-WER bars for the decodes without a list size (:func:`_bars`;
    not sets without reference words, such as non-speech controls, whose rates are
    undefined); where decodes have list sizes, B-WER and the real-time factor against N."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fixed = [r for r in rows if r["list_size"] is None and r["wer"] is not None]
    sized = [r for r in rows if r["list_size"] is not None]
    panels = int(bool(fixed)) + 2 * int(bool(sized))
    fig, axes = plt.subplots(1, panels, figsize=(7 * panels, 4.5), squeeze=False)
    axes = list(axes[0])
    if fixed:
        _bars(axes.pop(0), fixed, baseline)
    if sized:
        _against_size(axes[0], sized, "b_wer", "B-WER (%)")
        _against_size(axes[1], sized, "rtf", "real-time factor")
    for ax in fig.axes:
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def show(args: argparse.Namespace) -> int:
    exp_dir = Path(args.exp_dir)
    rows = collect(exp_dir)
    if not rows:
        raise InputError(f"{exp_dir}: no */decode_*/*/scoring/wer.json; run the scoring stage")
    rows = label_rows(rows, read_labels(args.labels) if args.labels else {}, args.baseline)
    command = " ".join(["sap2-show-results", *sys.argv[1:]])
    text = markdown(rows, command, args.baseline, exp_dir)
    if args.notes:
        try:
            notes = Path(args.notes).read_text(encoding="utf-8")
        except OSError as err:
            raise InputError(f"{args.notes}: cannot read the notes ({err.strerror})") from None
        except UnicodeDecodeError:
            raise InputError(f"{args.notes}: the notes are not UTF-8 text") from None
        text += "\n" + notes
    atomic_write_text(args.out, text)
    print(text.split("\n\n", 3)[-1], end="")
    plot(rows, Path(args.plot), args.baseline)
    print(f"plot: {args.plot}")
    return 0


def main(cmd: Sequence[str] | None = None) -> int:
    """Entry point of ``sap2-show-results``."""
    return run_tool("sap2-show-results", get_parser(), show, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
