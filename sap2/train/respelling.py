"""Respelling augmentation: a word is written, each time it is drawn, as one of the
spellings of its sound, in its transcript and its context alike.

A model trained on a fixed corpus can learn the spelling of every training term by heart
instead of reading it from the context, and then writes training terms for the new
terms of a test set. Where a corpus knows words that sound the same (its families of
spellings, e.g. a synthetic corpus that spelled one invented word in several ways), a
new spelling per epoch makes copying from the context the only way to spell a term
right; the audio stays true, since every spelling of a family sounds the same.

The families file has one family per line, its spellings separated by spaces::

    teferus tepherus teffeerus
    lanos lannos
"""

import logging
from collections.abc import Sequence

import numpy as np

from sap2.errors import InputError
from sap2.scoring.readers import read_lines

logger = logging.getLogger(__name__)


def read_spelling_families(path: str) -> dict[str, list[str]]:
    """Each spelling of the families file -> the spellings of its family."""
    families: dict[str, list[str]] = {}
    for number, line in read_lines(path):
        family = list(dict.fromkeys(line.split()))
        for spelling in family:
            if spelling in families:
                raise InputError(f"{path}:{number}: {spelling!r} is in two families")
            families[spelling] = family
    if not families:
        logger.warning("%s: no spelling families, nothing is respelt", path)
    return families


def respell(
    texts: Sequence[Sequence[str]], families: dict[str, list[str]], rng: np.random.Generator
) -> list[list[str]]:
    """``texts`` (lists of words) with each word of a family replaced by one spelling of
    it drawn from ``rng``, the same spelling wherever the family occurs."""
    drawn: dict[str, str] = {}  # first spelling of a family -> the one drawn
    out = []
    for words in texts:
        respelt = []
        for word in words:
            family = families.get(word)
            if family is None:
                respelt.append(word)
                continue
            if family[0] not in drawn:
                drawn[family[0]] = family[int(rng.integers(len(family)))]
            respelt.append(drawn[family[0]])
        out.append(respelt)
    return out
