#!/usr/bin/env python3
"""Write non-speech negative controls: silence and noise cuts that carry a real context.

For NUM cuts of --cuts (spread over its ids), one cut of digital silence and one of white
noise of the same duration, with the same custom fields (contexts) and an empty
reference. Decoded like the real cuts and scored with --context, they show how often a
model writes words of its context when nothing is said. Writes DATA_DIR/audio/PART/*.wav,
DATA_DIR/cuts/PART.jsonl.gz and DATA_DIR/PART/{text,keywords,utt2session} (the kind,
silence or noise, is the session, so per-session scoring splits them).

Usage:
  sap2-nonspeech-cuts --cuts data/cuts/test.jsonl.gz --data-dir data --part test_nonspeech
"""

import argparse
from collections.abc import Sequence

from sap2.cli import add_verbose_option, doc_parser, positive_int, run_tool


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-nonspeech-cuts", __doc__)
    parser.add_argument(
        "--cuts", required=True, help="cuts whose durations and contexts are copied"
    )
    parser.add_argument("--data-dir", required=True, help="the recipe's data/ folder")
    parser.add_argument("--part", required=True, help="name of the new set, e.g. test_nonspeech")
    parser.add_argument(
        "--num", type=positive_int, default=10, help="source cuts (each gives two controls)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise")
    add_verbose_option(parser)
    return parser


def write(args: argparse.Namespace) -> int:
    from sap2.data.manifests import read_cuts
    from sap2.data.nonspeech import write_nonspeech_part

    write_nonspeech_part(read_cuts(args.cuts), args.data_dir, args.part, args.num, args.seed)
    return 0


def main(cmd: Sequence[str] | None = None) -> int:
    """Entry point of ``sap2-nonspeech-cuts``."""
    return run_tool("sap2-nonspeech-cuts", get_parser(), write, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
