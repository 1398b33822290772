#!/usr/bin/env python3
"""Split a cuts manifest into N shards for JOB=1:N jobs: OUT_DIR/cuts.JOB.jsonl.gz.

Usage:
  sap2-split-cuts --cuts data/cuts/test.jsonl.gz --num-jobs 4 \\
      --out-dir exp/sap2/decode/test/split4
"""

import argparse
from collections.abc import Sequence
from pathlib import Path

from sap2.cli import add_verbose_option, doc_parser, positive_int, run_tool
from sap2.errors import InputError
from sap2.fileio import atomic_output


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-split-cuts", __doc__)
    parser.add_argument("--cuts", required=True, help="cuts manifest to split")
    parser.add_argument(
        "--num-jobs", type=positive_int, required=True, help="number of shards (at most the cuts)"
    )
    parser.add_argument("--out-dir", required=True, help="folder of cuts.<JOB>.jsonl.gz")
    add_verbose_option(parser)
    return parser


def split(args: argparse.Namespace) -> int:
    from sap2.data.manifests import read_cuts

    cuts = read_cuts(args.cuts)
    if not 1 <= args.num_jobs <= len(cuts):
        raise InputError(f"--num-jobs must be between 1 and {len(cuts)} (the number of cuts)")
    for job, shard in enumerate(cuts.split(args.num_jobs), start=1):
        with atomic_output(Path(args.out_dir) / f"cuts.{job}.jsonl.gz") as tmp:
            shard.to_file(tmp)
    return 0


def main(cmd: Sequence[str] | None = None) -> int:
    """Entry point of ``sap2-split-cuts``."""
    return run_tool("sap2-split-cuts", get_parser(), split, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
