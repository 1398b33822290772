#!/usr/bin/env python3
"""Count the words of training transcripts and write the most frequent ones.

Reads Kaldi ``text`` files (``uttid word word ...``) and writes ``word<TAB>count`` lines,
most frequent first (ties alphabetical): the common-word list of the is21 protocol
(``--top 5000``), and with ``--rest-out`` every other word, the rare-word pool.

Usage:
  sap2-common-words --text data/train_960/text --top 5000 \\
      --out data/lang/common_words_5k.txt --rest-out data/lang/rare_words.txt
"""

import argparse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from sap2.cli import add_verbose_option, doc_parser, positive_int, run_tool
from sap2.fileio import atomic_write_text
from sap2.scoring.readers import read_text


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-common-words", __doc__)
    parser.add_argument("--text", nargs="+", required=True, help="Kaldi text file(s)")
    parser.add_argument("--top", type=positive_int, default=5000, help="how many common words")
    parser.add_argument("--out", required=True, help="common words: word<TAB>count")
    parser.add_argument("--rest-out", help="all other words (the rare-word pool)")
    add_verbose_option(parser)
    return parser


def count(args: argparse.Namespace) -> int:
    if args.rest_out is not None and Path(args.rest_out).resolve() == Path(args.out).resolve():
        get_parser().error("--out and --rest-out must be different files")
    counts: Counter = Counter()
    for path in args.text:
        for text in read_text(path).values():
            counts.update(text.split())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    atomic_write_text(args.out, "".join(f"{w}\t{c}\n" for w, c in ranked[: args.top]))
    if args.rest_out is not None:
        atomic_write_text(args.rest_out, "".join(f"{w}\t{c}\n" for w, c in ranked[args.top :]))
    return 0


def main(cmd: Sequence[str] | None = None) -> int:
    """Entry point of ``sap2-common-words``."""
    return run_tool("sap2-common-words", get_parser(), count, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
