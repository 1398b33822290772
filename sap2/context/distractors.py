"""Distractor-only contexts: an utterance's context with its own biased words taken out.

A negative control: decoded with such a context, every context word a model writes is a
false alarm, and its B-WER shows what the context gives when it holds none of the words
said (the no-context decode is the reference point).
"""

from collections.abc import Iterable, Sequence


def without_words(context: Sequence[str], phrases: Iterable[str]) -> list[str]:
    """``context``, in order, without the entries whose words are all (case-insensitively)
    words of ``phrases`` (and without empty entries)."""
    banned = {w.casefold() for phrase in phrases for w in phrase.split()}
    return [e for e in context if not all(w.casefold() in banned for w in e.split())]
