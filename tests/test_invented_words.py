"""Invented words: distinct, pronounceable, deterministic for a seed."""

import random

from sap2.data.invented_words import ENDINGS, SYLLABLES, invented_words


def test_invented_words_are_distinct_syllable_words():
    words = invented_words(random.Random(0), 200)
    assert len(set(words)) == 200
    for word in words:
        stem = word if len(word) % 2 == 0 else word[:-1]
        assert 4 <= len(stem) <= 6 and word[len(stem) :] in ENDINGS
        assert all(stem[i : i + 2] in SYLLABLES for i in range(0, len(stem), 2))
    assert invented_words(random.Random(0), 200) == words  # deterministic for a seed
