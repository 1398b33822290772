#!/usr/bin/env python3
"""Build is21-style biasing lists: each reference's rare words plus N distractors.

Reads a Kaldi ``text`` file or an is21 TSV (its columns 1-2), and writes the is21
four-column TSV: id, text, JSON rare words (reference words not in the common list,
sorted), JSON biasing list (the rare words plus N distractors drawn from the rare-word
pool without the utterance's own rare words, shuffled). Lists depend only on the seed and
the utterance id. Several N at once share one read of the pool: put ``{N}`` in --out.
With --cuts, the lists are also stored on the cuts of a lhotse manifest, as custom
fields ``rare_words``, ``biasing_list_<N>`` and ``distractors_<N>`` (the list without the
utterance's rare words: the distractor-only negative control); the manifest is rewritten
in place.

Usage:
  sap2-biasing-lists --ref data/test_clean/text --common-words words/common_words_5k.txt \\
      --rare-words words/all_rare_words.txt --num-distractors 100 --seed 0 \\
      --out data/context/test_clean.biasing_100.tsv
  sap2-biasing-lists --ref data/test_clean/text --common-words ... --rare-words ... \\
      --num-distractors 100 500 1000 2000 --out 'data/context/test_clean.biasing_{N}.tsv' \\
      --cuts data/cuts/test_clean.jsonl.gz
"""

import argparse
import json
import logging
import time
from collections.abc import Sequence

from sap2.cli import add_verbose_option, doc_parser, nonnegative_int, run_tool
from sap2.context.biasing import (
    DistractorPool,
    biasing_list,
    rare_words,
    read_word_list,
)
from sap2.context.distractors import without_words
from sap2.errors import InputError
from sap2.fileio import atomic_output
from sap2.scoring.readers import read_is21_ref, read_lines, read_text
from sap2.seeding import utterance_rng

logger = logging.getLogger("sap2-biasing-lists")


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-biasing-lists", __doc__)
    parser.add_argument("--ref", required=True, help="Kaldi text file or is21 reference TSV")
    parser.add_argument("--common-words", required=True, help="common words, one per line")
    parser.add_argument("--rare-words", required=True, help="distractor pool, one per line")
    parser.add_argument(
        "--num-distractors",
        type=nonnegative_int,
        nargs="+",
        required=True,
        help="N (one or more)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--out", required=True, help="output TSV; must hold {N} for several N")
    parser.add_argument("--cuts", help="also store the lists on this lhotse cuts manifest")
    add_verbose_option(parser)
    return parser


def read_references(path: str) -> dict[str, str]:
    """Texts from a Kaldi text file or from the first two columns of an is21 TSV."""
    first = next(iter(read_lines(path)), (0, ""))[1]
    if first.count("\t") >= 2:
        return {utt: text for utt, (text, _) in read_is21_ref(path).items()}
    return read_text(path)


def build(args: argparse.Namespace) -> int:
    if len(args.num_distractors) > 1 and "{N}" not in args.out:
        raise InputError("--out must contain {N} when several --num-distractors are given")
    start = time.perf_counter()
    texts = read_references(args.ref)
    cuts = None
    if args.cuts is not None:  # checked before any output is written
        from sap2.data.manifests import read_cuts

        cuts = read_cuts(args.cuts)
        for cut in cuts:
            if _utterance(cut) not in texts:
                raise InputError(f"{args.cuts}: cut '{cut.id}' has no reference in {args.ref}")
    common = set(read_word_list(args.common_words))
    pool = DistractorPool(read_word_list(args.rare_words))
    rare = {utt: rare_words(text.split(), common) for utt, text in texts.items()}
    lists: dict[int, dict[str, list[str]]] = {}
    for n in args.num_distractors:
        try:
            lists[n] = {
                utt: biasing_list(rare[utt], pool, n, utterance_rng(args.seed, utt, n))
                for utt in texts
            }
        except ValueError as err:
            raise InputError(f"{args.rare_words}: {err}") from None
        out = args.out.replace("{N}", str(n))
        with atomic_output(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
            for utt, text in texts.items():
                f.write(f"{utt}\t{text}\t{json.dumps(rare[utt])}\t{json.dumps(lists[n][utt])}\n")
        logger.info("wrote %s (%d utterances, N=%d)", out, len(texts), n)
    if cuts is not None:
        store_on_cuts(cuts, args.cuts, rare, lists)
    logger.info(
        "%d lists for %d utterances in %.1f s",
        len(texts) * len(args.num_distractors), len(texts), time.perf_counter() - start,
    )  # fmt: skip
    return 0


def _utterance(cut) -> str:
    """The utterance id a cut's lists are keyed by (its supervision's)."""
    return cut.supervisions[0].id if cut.supervisions else cut.id


def store_on_cuts(
    cuts, cuts_path: str, rare: dict[str, list[str]], lists: dict[int, dict[str, list[str]]]
) -> None:
    """Add ``rare_words``, ``biasing_list_<N>`` and ``distractors_<N>`` to every cut and
    rewrite the manifest."""
    from lhotse import CutSet

    updated = []
    for cut in cuts:
        utt = _utterance(cut)
        cut = cut.with_custom("rare_words", rare[utt])
        for n, by_utt in lists.items():
            cut = cut.with_custom(f"biasing_list_{n}", by_utt[utt])
            cut = cut.with_custom(f"distractors_{n}", without_words(by_utt[utt], rare[utt]))
        updated.append(cut)
    with atomic_output(cuts_path) as tmp:
        CutSet.from_cuts(updated).to_file(tmp)
    logger.info("stored the lists on %d cuts of %s", len(updated), cuts_path)


def main(cmd: Sequence[str] | None = None) -> int:
    """Entry point of ``sap2-biasing-lists``."""
    return run_tool("sap2-biasing-lists", get_parser(), build, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
