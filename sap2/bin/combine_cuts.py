#!/usr/bin/env python3
"""Combine cuts manifests into one (e.g. the training parts of a corpus).

Usage:
  sap2-combine-cuts --out data/cuts/train.jsonl.gz \\
      data/cuts/train-clean-100.jsonl.gz data/cuts/train-clean-360.jsonl.gz
"""

import argparse
from collections.abc import Sequence
from pathlib import Path

from sap2.cli import add_verbose_option, doc_parser, run_tool
from sap2.errors import InputError
from sap2.fileio import atomic_output


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-combine-cuts", __doc__)
    parser.add_argument("inputs", nargs="+", help="cuts manifests")
    parser.add_argument("--out", required=True, help="combined cuts manifest")
    add_verbose_option(parser)
    return parser


def combine(args: argparse.Namespace) -> int:
    from lhotse import CutSet

    from sap2.data.manifests import read_cuts

    if str(Path(args.out).resolve()) in {str(Path(p).resolve()) for p in args.inputs}:
        raise InputError(f"{args.out}: --out is one of the inputs")
    combined = CutSet.from_cuts(cut for path in args.inputs for cut in read_cuts(path))
    with atomic_output(args.out) as tmp:
        combined.to_file(tmp)
    return 0


def main(cmd: Sequence[str] | None = None) -> int:
    """Entry point of ``sap2-combine-cuts``."""
    return run_tool("sap2-combine-cuts", get_parser(), combine, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
