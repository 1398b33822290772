"""Word alignment and error counting with the costs and tie-breaking of a protocol.

The dynamic programme and its back-trace run in C (``_align.c``); this module holds the
protocols' rules and turns the C results into :class:`~sap2.scoring.counts.BiasedErrorCounts`.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sap2.scoring._align import align as _align
from sap2.scoring.counts import BiasedErrorCounts


@dataclass(frozen=True)
class AlignmentRule:
    """Costs of the three edits and the order in which a cell's predecessors are tried.

    ``order`` is a permutation of ``"MID"``: ``M`` the diagonal (match or substitution),
    ``I`` the insertion from (i, j-1), ``D`` the deletion from (i-1, j). The first move
    tried sets the best cost; a later move replaces it only if strictly cheaper. A match
    costs 0. Row 0 is reached by insertions, column 0 by deletions; the alignment is
    read back from (n, m).
    """

    sub_cost: int
    ins_cost: int
    del_cost: int
    order: str


#: is21 (fbai-speech ``is21_deep_bias``): sub 4, ins 3, del 3; diagonal, then insertion,
#: then deletion.
IS21_RULE = AlignmentRule(sub_cost=4, ins_cost=3, del_cost=3, order="MID")

#: SlideSpeech (wenet-style ``compute-wer``): unit costs; deletion, then insertion, then
#: diagonal.
SLIDESPEECH_RULE = AlignmentRule(sub_cost=1, ins_cost=1, del_cost=1, order="DIM")


def align(
    ref: Sequence[str],
    hyp: Sequence[str],
    rule: AlignmentRule,
    biased: frozenset[str] | set[str] = frozenset(),
) -> tuple[str, BiasedErrorCounts]:
    """Align two word sequences and count their errors.

    Args:
      ref: reference words.
      hyp: hypothesis words.
      rule: costs and tie-breaking, e.g. :data:`IS21_RULE`.
      biased: the biased words of this utterance. A reference word (matched,
        substituted or deleted) counts towards B-WER if it is in ``biased``, else U-WER;
        an inserted hypothesis word likewise by its own spelling.
    Returns:
      ``(ops, counts)``: ``ops`` has one character per aligned pair in reading order,
      ``C`` correct, ``S`` substitution, ``I`` insertion (a hypothesis word only), ``D``
      deletion (a reference word only); ``counts`` the WER / U-WER / B-WER counts.
    """
    ops, parts = align_parts(ref, hyp, rule, biased)
    return ops, BiasedErrorCounts.from_tuple(parts)


def align_parts(
    ref: Sequence[str],
    hyp: Sequence[str],
    rule: AlignmentRule,
    biased: frozenset[str] | set[str] = frozenset(),
) -> tuple[str, tuple[int, ...]]:
    """:func:`align` with the counts as a plain tuple (:data:`~sap2.scoring.counts.PARTS`
    order), which a corpus sums without building count objects per utterance."""
    if not isinstance(ref, list):
        ref = list(ref)
    if not isinstance(hyp, list):
        hyp = list(hyp)
    ops, parts = _align(ref, hyp, biased, rule.sub_cost, rule.ins_cost, rule.del_cost, rule.order)
    return ops.decode("ascii"), parts
