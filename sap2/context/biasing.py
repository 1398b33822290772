"""Biasing lists of the is21 protocol: rare words of a reference plus distractors.

A word is *rare* if it is not among the most frequent training words (5,000 in is21).
The biasing list of an utterance holds its rare words and N distractors drawn from the
pool of rare words, never the utterance's own; lists are shuffled and depend only on
the seed and the utterance id, so they do not change with the order of the utterances.
"""

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from sap2.errors import InputError
from sap2.scoring.readers import read_lines

Pathlike = str | Path


def read_word_list(path: Pathlike) -> list[str]:
    """The first column of a word list (``word`` or ``word<TAB>count`` lines), in order."""
    words = [line.split()[0] for _, line in read_lines(path)]
    if not words:
        raise InputError(f"{path}: empty word list")
    return words


def rare_words(words: Iterable[str], common: set[str]) -> list[str]:
    """The distinct words not in ``common``, sorted (as column 3 of the is21 files)."""
    return sorted({w for w in words if w not in common})


class DistractorPool:
    """Draws distractors from a pool of rare words.

    Args:
      pool: the candidate words (e.g. is21 ``all_rare_words.txt``); duplicates ignored.
    """

    def __init__(self, pool: Iterable[str]) -> None:
        unique = list(dict.fromkeys(pool))
        if not unique:
            raise ValueError("the distractor pool is empty")
        self.words = np.array(unique, dtype=object)
        self.index = {w: i for i, w in enumerate(unique)}

    def available(self, exclude: Iterable[str] = ()) -> int:
        """How many pool words are not in ``exclude``."""
        return len(self.words) - sum(1 for w in set(exclude) if w in self.index)

    def draw(self, rng: np.random.Generator, count: int, exclude: Iterable[str] = ()) -> list[str]:
        """``count`` distinct pool words not in ``exclude``, in random order.

        Raises:
          ValueError: the pool has fewer than ``count`` words outside ``exclude``.
        """
        excluded = np.array([self.index[w] for w in set(exclude) if w in self.index], dtype=int)
        available = self.available(exclude)
        if count > available:
            raise ValueError(
                f"cannot draw {count} distractors from a pool of {available} usable words"
            )
        chosen = np.zeros(0, dtype=int)
        while len(chosen) < count:
            # Draw with replacement (fast on a large pool), keep first occurrences in order.
            extra = rng.integers(0, len(self.words), size=2 * (count - len(chosen)) + 8)
            candidates = np.concatenate([chosen, extra])
            _, first = np.unique(candidates, return_index=True)
            candidates = candidates[np.sort(first)]
            chosen = candidates[~np.isin(candidates, excluded)]
        return self.words[chosen[:count]].tolist()


def biasing_list(
    rare: Sequence[str], pool: DistractorPool, num_distractors: int, rng: np.random.Generator
) -> list[str]:
    """``rare`` plus ``num_distractors`` distractors (none of them in ``rare``), shuffled."""
    words = list(rare) + pool.draw(rng, num_distractors, exclude=rare)
    return [words[i] for i in rng.permutation(len(words))]
