#!/usr/bin/env python3
"""Score ASR hypotheses: WER, U-WER (unbiased words) and B-WER (biased words).

Two protocols, reproduced count for count (see README, "Scoring"):

* ``is21``: LibriSpeech biasing lists (Le et al., 2021). The reference is the is21
  four-column TSV (id, text, JSON rare words, JSON biasing list), or a Kaldi ``text``
  file plus ``--biased-words`` (``uttid word word ...``).
* ``slidespeech``: OCR keyword lists. Reference and hypothesis are Kaldi ``text``
  files; ``--keywords`` has lines ``uttid KEYWORD$KEYWORD$...``. Also reports keyword
  tp/fp/fn/tn, recall and precision, and per-session WER with ``--utt2session``.

Hypotheses may be Kaldi ``text`` or two-column TSV. Prints the summary on stdout.

With ``--context`` (the context each utterance was given, e.g. the ``context.txt`` that
``sap2-decode`` writes), also counts false alarms: hypothesis words that are in the
utterance's context but not in its reference, written in place of another word or inserted.

Usage:
  sap2-score --protocol is21 --ref test-clean.biasing_100.tsv --hyp hyp.tsv
  sap2-score --protocol is21 --ref data/test_clean/text --biased-words rare.txt \\
      --hyp exp/decode/hyp.txt --json exp/decode/scoring/wer.json
  sap2-score --protocol slidespeech --ref ref.txt --hyp hyp.txt --keywords ocr.txt \\
      --utt2session utt2session --normalize whisper --details exp/decode/scoring/details
  sap2-score --protocol is21 --ref test-clean.biasing_100.tsv --hyp hyp.tsv \\
      --context test-clean.biasing_100.tsv --context-format is21
"""

import argparse
import gc
import logging
import os
from collections.abc import Sequence

from sap2.cli import add_verbose_option, doc_parser, run_tool
from sap2.errors import InputError
from sap2.provenance import run_provenance
from sap2.scoring.corpus import CorpusScore
from sap2.scoring.is21 import score_is21
from sap2.scoring.normalize import NORMALIZERS, get_normalizer
from sap2.scoring.readers import (
    read_is21_context,
    read_is21_ref,
    read_text,
    read_utt2session,
    read_word_lists,
)
from sap2.scoring.report import (
    check_details_folder,
    format_summary,
    write_details,
    write_json,
)
from sap2.scoring.slidespeech import score_slidespeech, tokenize

logger = logging.getLogger("sap2-score")

#: The options naming input files (hashed in the ``--json`` provenance).
INPUTS = ("ref", "hyp", "biased_words", "keywords", "utt2session", "spelling_map",
          "pruned_keywords", "context")  # fmt: skip
#: How ``--context`` lists its words (see the option's help).
CONTEXT_FORMATS = ("words", "keywords", "is21")


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-score", __doc__)
    parser.add_argument(
        "--protocol", required=True, choices=("is21", "slidespeech"), help="scoring protocol"
    )
    parser.add_argument("--ref", required=True, help="reference file (see above)")
    parser.add_argument("--hyp", required=True, help="hypothesis file: Kaldi text or TSV")
    parser.add_argument(
        "--biased-words",
        help="is21 only: 'uttid word ...' biased words, making --ref a Kaldi text file",
    )
    parser.add_argument(
        "--keywords", help="slidespeech only (required): 'uttid KEYWORD$KEYWORD$...' OCR file"
    )
    parser.add_argument(
        "--utt2session", help="slidespeech only: 'uttid session' for per-session WER"
    )
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="leave out reference utterances that have no hypothesis instead of failing",
    )
    parser.add_argument(
        "--normalize",
        choices=NORMALIZERS,
        default="none",
        help="text normaliser applied to reference, hypothesis and biased words/keywords",
    )
    parser.add_argument(
        "--spelling-map",
        help="with --normalize whisper: a Whisper tokenizer's normalizer.json "
        "(British -> American spellings)",
    )
    parser.add_argument(
        "--pruned-keywords",
        help="'uttid KW$KW...' keywords of stage 1 (sap2-decode keywords.txt), scored against "
        "each utterance's biased words",
    )
    parser.add_argument(
        "--context",
        help="the context each utterance was given (see --context-format): count false alarms",
    )
    parser.add_argument(
        "--context-format",
        choices=CONTEXT_FORMATS,
        default="words",
        help="--context lines: 'uttid word word ...' (words), 'uttid KW$KW$...' (keywords, "
        "as sap2-decode's context.txt), or an is21 reference TSV's biasing list (is21)",
    )
    parser.add_argument("--json", metavar="OUT", help="write a JSON summary here")
    parser.add_argument(
        "--details",
        metavar="DIR",
        help="write alignments, confusion pairs and per-keyword recall to this folder",
    )
    add_verbose_option(parser)
    return parser


def check_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject option combinations that do not fit the protocol (usage error, exit 2)."""
    if args.protocol == "is21":
        for name in ("keywords", "utt2session"):
            if getattr(args, name) is not None:
                parser.error(f"--{name.replace('_', '')} applies to --protocol slidespeech only")
    else:
        if args.biased_words is not None:
            parser.error("--biased-words applies to --protocol is21 only")
        if args.keywords is None:
            parser.error("--protocol slidespeech needs --keywords")
    if args.spelling_map is not None and args.normalize != "whisper":
        parser.error("--spelling-map needs --normalize whisper")
    read = {os.path.realpath(getattr(args, n)) for n in INPUTS if getattr(args, n) is not None}
    for output in ("json", "details"):
        if getattr(args, output) is not None and os.path.realpath(getattr(args, output)) in read:
            parser.error(f"--{output} would overwrite an input ({getattr(args, output)})")


def score(args: argparse.Namespace) -> CorpusScore:
    """Read the inputs named by ``args`` and score them."""
    normalize = get_normalizer(args.normalize, args.spelling_map)
    if args.protocol == "is21":
        if args.biased_words is None:
            refs = read_is21_ref(args.ref)
        else:
            refs = _join_biased_words(read_text(args.ref), args.biased_words)
        result = score_is21(refs, read_text(args.hyp), args.hyp, args.lenient, normalize)
    else:
        result = _score_slidespeech(args, normalize)
    split = tokenize if args.protocol == "slidespeech" else str.split

    def words_of(phrase: str) -> list[str]:  # a keyword phrase's words, as the references'
        return split(normalize(phrase))

    if args.pruned_keywords is not None:
        result.add_pruning(read_word_lists(args.pruned_keywords, separator="$"), words_of)
    if args.context is not None:
        result.add_false_alarms(read_context(args.context, args.context_format), words_of)
    return result


def read_context(path: str, context_format: str) -> dict[str, list[str]]:
    """The ``--context`` file in one of :data:`CONTEXT_FORMATS`."""
    if context_format == "is21":
        return read_is21_context(path)
    return read_word_lists(path, separator="$" if context_format == "keywords" else None)


def _score_slidespeech(args: argparse.Namespace, normalize) -> CorpusScore:
    refs = read_text(args.ref)
    keywords = read_word_lists(args.keywords, separator="$")
    result = score_slidespeech(
        refs, read_text(args.hyp), keywords, args.hyp, args.lenient, normalize
    )
    if args.utt2session is not None:
        result.add_sessions(read_utt2session(args.utt2session))
    return result


def _join_biased_words(
    texts: dict[str, str], biased_words_path: str
) -> dict[str, tuple[str, list[str]]]:
    biased = read_word_lists(biased_words_path)
    unknown = [u for u in biased if u not in texts]
    if unknown:
        raise InputError(
            f"{biased_words_path}: {len(unknown)} utterance ids are not in the reference "
            f"(first: {', '.join(unknown[:3])})"
        )
    return {utt: (text, biased.get(utt, [])) for utt, text in texts.items()}


def main(cmd: Sequence[str] | None = None) -> int:
    """Entry point of ``sap2-score``."""
    parser = get_parser()

    def body(args: argparse.Namespace) -> int:
        check_options(parser, args)
        if args.details is not None:  # refused before any output is written
            check_details_folder(args.details)
        gc.disable()  # many small acyclic objects: the cyclic collector would only cost time
        try:
            result = score(args)
        finally:
            gc.enable()
        if args.json is not None:
            inputs = {name: getattr(args, name) for name in INPUTS}
            provenance = run_provenance(args.command_line, inputs, normalize=args.normalize)
            write_json(result, args.json, provenance)
        if args.details is not None:
            write_details(result, args.details)
        print(format_summary(result))
        return 0

    return run_tool("sap2-score", parser, body, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
