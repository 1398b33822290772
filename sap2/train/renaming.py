"""Renaming augmentation: the keywords an utterance says, renamed to invented words.

A model trained from scratch can spell a training term from its sound, or from memory,
and then never learns to copy it from its prompt; given a new term in its keywords, it
writes what it hears. With ``p_renamed_keywords``, a transcribe-with-keywords example
has every context word that its transcript says replaced by a fresh invented word, in
the transcript, the context and the keywords alike. The audio still says the old word,
so only the prompt can tell what to write in its place: the copy that a pretrained LLM
brings to the real recipe, taught on the speech task itself.

A pruning example has to find which context words were said, and a wholly new name
sounds like none of them; with ``p_renamed_prune`` its keywords keep their first
syllable (the sound that tells which one was said) and get an invented rest, so that
the rest can only be copied from the context.
"""

import random
import re
from collections.abc import Iterable, Sequence

SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
ENDINGS = ["n", "r", "s", "x", "l", ""]
FIRST_SYLLABLE = re.compile(r"[^aeiouy]*[aeiouy]+")


def invented_word(rng: random.Random, syllables: int) -> str:
    """A pronounceable word of ``syllables`` consonant-vowel syllables plus an ending."""
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables)) + rng.choice(ENDINGS)


def invented_words(rng: random.Random, count: int) -> list[str]:
    """Distinct pronounceable words of 2-3 consonant-vowel syllables plus an ending."""
    words: dict[str, None] = {}
    while len(words) < count:
        words[invented_word(rng, rng.randint(2, 3))] = None
    return list(words)


def first_syllable(word: str) -> str:
    """``word`` up to the end of its first vowel group (``lanos`` -> ``la``)."""
    match = FIRST_SYLLABLE.match(word)
    return match.group() if match else word


def rename(
    texts: Sequence[Sequence[str]],
    words: Iterable[str],
    rng: random.Random,
    keep_first_syllable: bool = False,
) -> list[list[str]]:
    """``texts`` (lists of words) with each of ``words`` (case-insensitive) replaced by an
    invented word drawn from ``rng``, the same one wherever it occurs; with
    ``keep_first_syllable``, the first syllable of the word followed by an invented rest."""
    old = list(dict.fromkeys(w.lower() for w in words))
    if not keep_first_syllable:
        names = dict(zip(old, invented_words(rng, len(old)), strict=True))
    else:
        names = {}
        for word in old:
            new = word
            while new == word or new in names.values():
                new = first_syllable(word) + invented_word(rng, rng.randint(1, 2))
            names[word] = new
    return [[names.get(w.lower(), w) for w in text] for text in texts]
