"""Word alignment with the costs and tie-breaking of a scoring protocol.

The dynamic programme runs in C (``_align.c``); this module holds the rules and maps
words to the integer ids the C code compares.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sap2.scoring._align import align as _align_ids


@dataclass(frozen=True)
class AlignmentRule:
    """Costs of the three edits and the order in which a cell's predecessors are tried.

    ``order`` is a permutation of ``"MID"``: ``M`` the diagonal (match or substitution),
    ``I`` the insertion from (i, j-1), ``D`` the deletion from (i-1, j). The first move
    tried sets the best cost; a later move replaces it only if strictly cheaper. A match
    costs 0.
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


class WordIds(dict):
    """A growing word -> int map, shared by all utterances of one scoring run."""

    def ids(self, words: Sequence[str]) -> list[int]:
        """Return the ids of ``words``, adding unseen words."""
        return [self.setdefault(w, len(self)) for w in words]


def align(
    ref: Sequence[str], hyp: Sequence[str], rule: AlignmentRule, word_ids: WordIds | None = None
) -> str:
    """Align two word sequences.

    Args:
      ref: reference words.
      hyp: hypothesis words.
      rule: costs and tie-breaking, e.g. :data:`IS21_RULE`.
      word_ids: reuse one map across many calls to avoid re-hashing (optional).
    Returns:
      one character per aligned pair in reading order: ``C`` correct, ``S``
      substitution, ``I`` insertion (a hypothesis word only), ``D`` deletion (a
      reference word only). ``C``, ``S`` and ``D`` consume a reference word; ``C``,
      ``S`` and ``I`` consume a hypothesis word.
    """
    word_ids = WordIds() if word_ids is None else word_ids
    ops = _align_ids(
        word_ids.ids(ref), word_ids.ids(hyp), rule.sub_cost, rule.ins_cost, rule.del_cost,
        rule.order,
    )
    return ops.decode("ascii")
