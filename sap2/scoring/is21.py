"""The is21 protocol (LibriSpeech biasing lists of Le et al., Interspeech 2021).

Words are split on white space; biased words are the rare words of each reference
(column 3 of the reference TSV); alignment by :data:`~sap2.scoring.align.IS21_RULE`.
"""

from collections.abc import Callable

from sap2.scoring.align import IS21_RULE
from sap2.scoring.corpus import CorpusScore, paired_ids, score_utterance
from sap2.scoring.normalize import identity


def score_is21(
    refs: dict[str, tuple[str, list[str]]],
    hyps: dict[str, str],
    hyp_path: str = "hypothesis",
    lenient: bool = False,
    normalize: Callable[[str], str] = identity,
) -> CorpusScore:
    """Score hypotheses against is21 references.

    Args:
      refs: ``{uttid: (reference text, rare words)}`` as read by
        :func:`~sap2.scoring.readers.read_is21_ref`.
      hyps: ``{uttid: hypothesis text}``.
      hyp_path: named in the error when a reference has no hypothesis.
      lenient: leave out references without a hypothesis instead of failing.
      normalize: applied to reference, hypothesis and each rare word.
    """
    score = CorpusScore(protocol="is21")
    for utt_id in paired_ids(refs, hyps, hyp_path, lenient):
        text, rare = refs[utt_id]
        if normalize is identity:  # the same words, split in one call
            biased = frozenset(" ".join(rare).split())
        else:
            biased = frozenset(w for word in rare for w in normalize(word).split())
        score.add(
            score_utterance(
                utt_id,
                normalize(text).split(),
                normalize(hyps[utt_id]).split(),
                biased,
                IS21_RULE,
            )
        )
    return score
