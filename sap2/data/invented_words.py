"""Pronounceable invented words: terms no model has seen (the mini recipe's corpus, the
benchmarks' stand-ins for rare words)."""

import random

SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
ENDINGS = ["n", "r", "s", "x", "l", ""]


def invented_word(rng: random.Random, syllables: int) -> str:
    """A pronounceable word of ``syllables`` consonant-vowel syllables plus an ending."""
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables)) + rng.choice(ENDINGS)


def invented_words(rng: random.Random, count: int) -> list[str]:
    """Distinct pronounceable words of 2-3 consonant-vowel syllables plus an ending."""
    words: dict[str, None] = {}
    while len(words) < count:
        words[invented_word(rng, rng.randint(2, 3))] = None
    return list(words)
