#!/usr/bin/env python3
"""Prepare a corpus: lhotse manifests, cut sets with context fields, Kaldi text files.

Writes under OUT_DIR (a recipe's ``data/``): ``manifests/``, ``cuts/<part>.jsonl.gz`` and
``<part>/text`` (plus ``utt2session`` and ``keywords`` for SlideSpeech).

Usage:
  sap2-prepare librispeech download/LibriSpeech data --parts test-clean test-other
  sap2-prepare slidespeech /corpora/SlideSpeech data --parts dev test \\
      --num-slides 5 --common-words data/lang/common_words_5k.txt
  sap2-prepare slidespeech /corpora/SlideSpeech data --parts test \\
      --segments /corpora/ss/test/segments --text /corpora/ss/test/text.norm \\
      --keywords /corpora/ss/test/keywords --slides /corpora/ss/test/slides_ocr
"""

import argparse
from collections.abc import Sequence
from pathlib import Path

from sap2.cli import (
    HelpFormatter,
    add_verbose_option,
    doc_parser,
    nonnegative_int,
    positive_float,
    positive_int,
    run_tool,
    str2bool,
)
from sap2.context.biasing import read_word_list
from sap2.context.ocr_keywords import KeywordExtractor
from sap2.errors import InputError


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-prepare", __doc__)
    corpora = parser.add_subparsers(dest="corpus", required=True)
    for name in ("librispeech", "slidespeech"):
        sub = corpora.add_parser(name, formatter_class=HelpFormatter)
        sub.add_argument("corpus_dir", help="the corpus folder")
        sub.add_argument("out_dir", help="output folder (a recipe's data/)")
        sub.add_argument("--parts", nargs="+", required=True, help="parts / splits to prepare")
        sub.add_argument("--skip-bad", action="store_true", help="leave out bad utterances")
        sub.add_argument(
            "--max-seconds", type=positive_float, default=30.0, help="encoder window (seconds)"
        )
        add_verbose_option(sub)
    slide = corpora.choices["slidespeech"]
    for name, what in (
        ("wav-dir", "folder of <category>/<video>.wav"),
        ("segments", "uttid video start end"),
        ("text", "uttid transcript"),
        ("keywords", "uttid KEYWORD$KEYWORD$..."),
        ("slides", "video start end OCR text"),
    ):
        slide.add_argument(
            f"--{name}", help=f"{what}; default <corpus>/<part>/{name.replace('-dir', '')} "
            "(one part only when given)"
        )  # fmt: skip
    slide.add_argument(
        "--num-slides", type=positive_int, default=5, help="slides in the context window"
    )
    slide.add_argument("--common-words", help="words never used as context keywords")
    slide.add_argument(
        "--min-keyword-length", type=positive_int, default=3, help="shortest keyword (letters)"
    )
    slide.add_argument("--max-context-words", type=nonnegative_int, default=0, help="cap (0: none)")
    slide.add_argument("--lowercase", type=str2bool, default=True, help="lower-case transcripts")
    return parser


def prepare(args: argparse.Namespace) -> int:
    if args.corpus == "librispeech":
        from sap2.data.librispeech import prepare_librispeech

        prepare_librispeech(args.corpus_dir, args.out_dir, args.parts, args.skip_bad,
                            args.max_seconds)  # fmt: skip
        return 0
    from sap2.data.slidespeech import SlideSpeechPart, prepare_slidespeech

    paths = {k: getattr(args, k) for k in ("wav_dir", "segments", "text", "keywords", "slides")}
    if any(paths.values()) and len(args.parts) > 1:
        raise InputError("file options (--segments, --text, ...) apply to one --parts value")
    common = frozenset(read_word_list(args.common_words)) if args.common_words else frozenset()
    extractor = KeywordExtractor(
        common_words=common, min_length=args.min_keyword_length,
        max_keywords=args.max_context_words,
    )  # fmt: skip
    for split in args.parts:
        part = SlideSpeechPart.default(args.corpus_dir, split)
        for name, value in paths.items():
            if value is not None:
                setattr(part, name, Path(value))
        prepare_slidespeech(part, split, args.out_dir, extractor, args.num_slides,
                            args.lowercase, args.skip_bad, args.max_seconds)  # fmt: skip
    return 0


def main(cmd: Sequence[str] | None = None) -> int:
    """Entry point of ``sap2-prepare``."""
    return run_tool("sap2-prepare", get_parser(), prepare, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
