"""The SlideSpeech protocol: OCR keyword lists, wenet-style tokens and alignment.

Tokens are upper-cased, split on white space, with every character of Unicode category
``Lo`` (CJK ideographs) a token of its own and the marks ``! , ?`` and CJK punctuation
dropped. The biased words of an utterance are its OCR keywords that occur in its
reference. Alignment by :data:`~sap2.scoring.align.SLIDESPEECH_RULE`.
"""

import logging
import unicodedata
from collections.abc import Callable

from sap2.scoring.align import SLIDESPEECH_RULE
from sap2.scoring.corpus import CorpusScore, paired_ids, score_utterance
from sap2.scoring.keywords import count_keywords
from sap2.scoring.normalize import identity

logger = logging.getLogger(__name__)

DROPPED_MARKS = frozenset("!,?、。！，；？：「」『』《》︰")


def tokenize(text: str) -> list[str]:
    """Split text into SlideSpeech scoring tokens (see the module docstring)."""
    tokens: list[str] = []
    for word in text.upper().split():
        current = []
        for char in word:
            if char in DROPPED_MARKS:
                continue
            if unicodedata.category(char) == "Lo":
                if current:
                    tokens.append("".join(current))
                    current = []
                tokens.append(char)
            else:
                current.append(char)
        if current:
            tokens.append("".join(current))
    return tokens


def score_slidespeech(
    refs: dict[str, str],
    hyps: dict[str, str],
    keywords: dict[str, list[str]],
    hyp_path: str = "hypothesis",
    lenient: bool = False,
    normalize: Callable[[str], str] = identity,
) -> CorpusScore:
    """Score hypotheses under the SlideSpeech protocol.

    Args:
      refs, hyps: ``{uttid: text}``.
      keywords: ``{uttid: [keyword phrase, ...]}`` from the OCR keyword file; each phrase
        is normalised and tokenised like the texts. Utterances without an entry have no
        keywords.
      hyp_path: named in the error when a reference has no hypothesis.
      lenient: leave out references without a hypothesis instead of failing.
      normalize: applied to reference, hypothesis and each keyword phrase before
        tokenisation (e.g. the Whisper English normaliser).
    """
    unknown = len(keywords.keys() - refs.keys())
    if unknown:
        logger.warning("ignored keyword lines of %d utterances not in the reference", unknown)
    score = CorpusScore(protocol="slidespeech")
    for utt_id in paired_ids(refs, hyps, hyp_path, lenient):
        ref = tokenize(normalize(refs[utt_id]))
        hyp = tokenize(normalize(hyps[utt_id]))
        utt_keywords = [
            w for phrase in keywords.get(utt_id, []) for w in tokenize(normalize(phrase))
        ]
        in_ref = set(ref)
        biased = frozenset(w for w in utt_keywords if w in in_ref)
        utt = score_utterance(utt_id, ref, hyp, biased, SLIDESPEECH_RULE)
        utt.keywords = count_keywords(ref, hyp, utt_keywords)
        score.add(utt)
    return score
