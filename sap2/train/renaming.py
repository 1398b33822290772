"""Renaming augmentation: the keywords an utterance says, renamed to invented words.

A model trained from scratch can spell a training term from its sound, or from memory,
and then never learns to copy it from its prompt; given a new term in its keywords, it
writes what it hears. With ``p_renamed_keywords``, a transcribe-with-keywords example
has every context word that its transcript says replaced by a fresh invented word, in
the transcript, the context and the keywords alike. The audio still says the old word,
so only the prompt can tell what to write in its place: the copy that a pretrained LLM
brings to the real recipe, taught on the speech task itself.
"""

import random
from collections.abc import Iterable, Sequence

SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def invented_words(rng: random.Random, count: int) -> list[str]:
    """Distinct pronounceable words of 2-3 consonant-vowel syllables plus an ending."""
    words: dict[str, None] = {}
    while len(words) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
        words[word + rng.choice(["n", "r", "s", "x", "l", ""])] = None
    return list(words)


def rename(
    texts: Sequence[Sequence[str]], words: Iterable[str], rng: random.Random
) -> list[list[str]]:
    """``texts`` (lists of words) with each of ``words`` (case-insensitive) replaced by an
    invented word drawn from ``rng``, the same one wherever it occurs."""
    old = list(dict.fromkeys(w.lower() for w in words))
    names = dict(zip(old, invented_words(rng, len(old)), strict=True))
    return [[names.get(w.lower(), w) for w in text] for text in texts]
