#!/usr/bin/env python3
"""Speed of ``sap2-score`` against a plain pure-Python scorer, with identical counts.

The baseline is the textbook dynamic programme of the is21 protocol written in plain
Python (lists of lists) with plain-Python counting; file reading is shared with sap2.
Both must give the same counts for every utterance, or the benchmark fails. Three
comparisons are printed, each baseline against sap2:

* alignment + counting of the pre-split words (the dynamic programme itself);
* reading the files and scoring, in process (file reading is shared code);
* the command line end to end: Python start-up, imports, reading, scoring, printing.

The workload is the is21 N=100 reference and hypotheses repeated ``--copies`` times under
new ids (10 copies of test-clean: 26,200 utterances, a corpus-scale run). The target is a
command line at least 5x faster than the baseline's; the last line says whether it is met.

Usage:
  python benchmarks/score_speed.py                       # is21 test-clean x 10, b1 baseline
  python benchmarks/score_speed.py --is21-dir ../shared/is21 --test-set test-other --repeat 5
"""

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sap2.scoring.align import IS21_RULE, align
from sap2.scoring.counts import BiasedErrorCounts, ErrorCounts
from sap2.scoring.is21 import score_is21
from sap2.scoring.readers import read_is21_ref, read_text

REPO = Path(__file__).resolve().parent.parent


def baseline_align(ref: Sequence[str], hyp: Sequence[str]) -> str:
    """is21 alignment in plain Python: sub 4, ins 3, del 3; diagonal, insertion, deletion."""
    n, m = len(ref), len(hyp)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    back = [[""] * (m + 1) for _ in range(n + 1)]
    for j in range(1, m + 1):
        cost[0][j] = cost[0][j - 1] + 3
        back[0][j] = "I"
    for i in range(1, n + 1):
        cost[i][0] = cost[i - 1][0] + 3
        back[i][0] = "D"
        for j in range(1, m + 1):
            best = cost[i - 1][j - 1] + (0 if ref[i - 1] == hyp[j - 1] else 4)
            move = "M"
            if cost[i][j - 1] + 3 < best:
                best = cost[i][j - 1] + 3
                move = "I"
            if cost[i - 1][j] + 3 < best:
                best = cost[i - 1][j] + 3
                move = "D"
            cost[i][j] = best
            back[i][j] = move
    ops = []
    i, j = n, m
    while i > 0 or j > 0:
        move = back[i][j]
        if move == "M":
            ops.append("C" if ref[i - 1] == hyp[j - 1] else "S")
            i, j = i - 1, j - 1
        elif move == "I":
            ops.append("I")
            j -= 1
        else:
            ops.append("D")
            i -= 1
    return "".join(reversed(ops))


def baseline_count(
    ref: Sequence[str], hyp: Sequence[str], ops: str, biased: set[str]
) -> BiasedErrorCounts:
    """Count WER / U-WER / B-WER of one alignment in plain Python."""
    unbiased, biased_part = ErrorCounts(), ErrorCounts()
    i = j = 0
    for op in ops:
        if op == "I":
            part = biased_part if hyp[j] in biased else unbiased
            part.ins += 1
            j += 1
            continue
        part = biased_part if ref[i] in biased else unbiased
        part.ref_words += 1
        part.subs += op == "S"
        part.dels += op == "D"
        i += 1
        j += op != "D"
    return BiasedErrorCounts.from_parts(unbiased, biased_part)


def baseline_score(
    refs: dict[str, tuple[str, list[str]]], hyps: dict[str, str]
) -> dict[str, BiasedErrorCounts]:
    """Per-utterance counts with :func:`baseline_align` (references without a hypothesis
    are left out, as with ``--lenient``)."""
    out = {}
    for utt, (text, rare) in refs.items():
        if utt in hyps:
            ref, hyp = text.split(), hyps[utt].split()
            out[utt] = baseline_count(ref, hyp, baseline_align(ref, hyp), set(rare))
    return out


def best_time(fn, repeat: int) -> tuple[float, object]:
    """Smallest wall time of ``repeat`` calls, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--is21-dir", default=str(REPO.parent / "shared" / "is21"))
    parser.add_argument("--test-set", default="test-clean", choices=("test-clean", "test-other"))
    parser.add_argument(
        "--system", default="b1.rnnt_baseline", help="hypothesis file: <test-set>.<system>.tsv"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timings are the best of N runs")
    parser.add_argument(
        "--copies", type=int, default=10, help="the files repeated N times under new ids"
    )
    parser.add_argument("--target", type=float, default=5.0, help="command-line speed-up aimed at")
    parser.add_argument("--ref", help=argparse.SUPPRESS)  # internal, for --baseline-cli
    parser.add_argument("--hyp", help=argparse.SUPPRESS)
    parser.add_argument(
        "--baseline-cli", action="store_true", help="internal: run only the baseline scorer"
    )
    return parser


def write_copies(source: Path, out: Path, copies: int) -> None:
    """``source`` (lines ``id<TAB>...``) repeated ``copies`` times, ids suffixed ``-c<k>``."""
    lines = source.read_text(encoding="utf-8").splitlines()
    with open(out, "w", encoding="utf-8") as f:
        for k in range(copies):
            for line in lines:
                utt, tab, rest = line.partition("\t")
                f.write(f"{utt}-c{k}{tab}{rest}\n")


def main(cmd: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(cmd)
    if args.baseline_cli:
        return baseline_cli(args)
    ref_source = Path(args.is21_dir) / "ref" / f"{args.test_set}.biasing_100.tsv"
    hyp_source = Path(args.is21_dir) / "hyp" / f"{args.test_set}.{args.system}.tsv"
    for path in (ref_source, hyp_source):
        if not path.is_file():
            sys.exit(f"score_speed.py: {path}: no such file (see --is21-dir)")
    with tempfile.TemporaryDirectory() as tmp:
        ref_path, hyp_path = Path(tmp) / ref_source.name, Path(tmp) / hyp_source.name
        write_copies(ref_source, ref_path, args.copies)
        write_copies(hyp_source, hyp_path, args.copies)
        return compare(args, ref_path, hyp_path)


def compare(args: argparse.Namespace, ref_path: Path, hyp_path: Path) -> int:
    """Time the baseline and sap2 on the same files; fail unless their counts agree."""
    refs, hyps = read_is21_ref(ref_path), read_text(hyp_path)
    pairs = [
        (text.split(), hyps[utt].split(), frozenset(rare))
        for utt, (text, rare) in refs.items()
        if utt in hyps
    ]

    def align_baseline():
        return [baseline_count(r, h, baseline_align(r, h), b) for r, h, b in pairs]

    def align_sap2():
        return [align(r, h, IS21_RULE, b)[1] for r, h, b in pairs]

    def score_baseline():
        return baseline_score(read_is21_ref(ref_path), read_text(hyp_path))

    def score_sap2():
        return score_is21(read_is21_ref(ref_path), read_text(hyp_path), str(hyp_path), True)

    cli = [
        sys.executable,
        "-m",
        "sap2.bin.score",
        "--protocol",
        "is21",
        "--lenient",
        "--ref",
        str(ref_path),
        "--hyp",
        str(hyp_path),
    ]
    cli_baseline = [sys.executable, str(Path(__file__).resolve()), "--baseline-cli",
                    "--ref", str(ref_path), "--hyp", str(hyp_path)]  # fmt: skip

    def run(command):
        return lambda: subprocess.run(command, check=True, capture_output=True, text=True).stdout

    timings = {}
    results = {}
    for name, fn in (
        ("align+count baseline", align_baseline),
        ("align+count sap2", align_sap2),
        ("scorer baseline", score_baseline),
        ("scorer sap2", score_sap2),
        ("CLI baseline", run(cli_baseline)),
        ("CLI sap2-score", run(cli)),
    ):
        timings[name], results[name] = best_time(fn, args.repeat)

    if results["align+count baseline"] != results["align+count sap2"]:
        sys.exit("score_speed.py: per-utterance counts differ between baseline and sap2")
    by_utt = {u.utt_id: u.counts for u in results["scorer sap2"].utterances}
    if by_utt != results["scorer baseline"]:
        sys.exit("score_speed.py: per-utterance counts differ between the two scorers")
    if results["CLI sap2-score"] != results["CLI baseline"]:
        sys.exit("score_speed.py: sap2-score prints other totals than the baseline")

    print(
        f"{ref_path.name} vs {hyp_path.name} x {args.copies}: {len(pairs)} utterances, "
        "identical counts"
    )
    print(results["CLI sap2-score"].strip())
    print(f"best of {args.repeat} runs")
    print(f"{'what is timed':<26} {'baseline s':>10} {'sap2 s':>8} {'speed-up':>9}")
    for what, base, fast in (
        ("alignment + counting", "align+count baseline", "align+count sap2"),
        ("read + score (library)", "scorer baseline", "scorer sap2"),
        ("command line, end to end", "CLI baseline", "CLI sap2-score"),
    ):
        t_base, t_fast = timings[base], timings[fast]
        print(f"{what:<26} {t_base:10.3f} {t_fast:8.3f} {t_base / t_fast:8.1f}x")
    speedup = timings["CLI baseline"] / timings["CLI sap2-score"]
    verdict = "met" if speedup >= args.target else "NOT met"
    print(f"target: command line at least {args.target:g}x the baseline: {speedup:.1f}x, {verdict}")
    return 0


def baseline_cli(args: argparse.Namespace) -> int:
    """The baseline as a command (for the end-to-end timing): print its totals."""
    totals = BiasedErrorCounts()
    for counts in baseline_score(read_is21_ref(args.ref), read_text(args.hyp)).values():
        totals += counts
    print(totals.format())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
