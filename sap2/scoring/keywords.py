"""Keyword (hotword) detection counts of the SlideSpeech protocol."""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass
class KeywordCounts:
    """True/false positives and negatives of keyword recognition."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def recall(self) -> float:
        """tp / (tp + fn) in percent; 0.0 when no keyword occurs in the references."""
        return 100 * self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def precision(self) -> float:
        """tp / (tp + fp) in percent; 0.0 when the hypotheses hold no keyword."""
        return 100 * self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    def __iadd__(self, other: "KeywordCounts") -> "KeywordCounts":
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.tn += other.tn
        return self

    def to_dict(self) -> dict:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "recall": self.recall,
            "precision": self.precision,
        }

    def format(self, name: str = "Keywords") -> str:
        return (
            f"{name}: tp={self.tp}, fp={self.fp}, fn={self.fn}, tn={self.tn}, "
            f"recall={self.recall:.2f}, precision={self.precision:.2f}"
        )


def count_keywords(
    ref: Sequence[str], hyp: Sequence[str], keywords: Iterable[str]
) -> KeywordCounts:
    """Keyword counts of one utterance (``keywords`` are de-duplicated first).

    A keyword absent from the reference is a false positive each time the hypothesis
    has it, else one true negative. A keyword seen ``t`` times in the reference and ``c``
    times in the hypothesis gives ``min(t, c)`` true positives, ``max(0, c - t)`` false
    positives and ``max(0, t - c)`` false negatives.
    """
    ref_count, hyp_count = Counter(ref), Counter(hyp)
    counts = KeywordCounts()
    for word in dict.fromkeys(keywords):
        t, c = ref_count[word], hyp_count[word]
        if t == 0:
            if c:
                counts.fp += c
            else:
                counts.tn += 1
        else:
            counts.tp += min(t, c)
            counts.fp += max(0, c - t)
            counts.fn += max(0, t - c)
    return counts


def count_pruning(predicted: Iterable[str], biased: Iterable[str]) -> KeywordCounts:
    """How well stage 1 kept the biased words of an utterance: a predicted keyword that is
    biased is a true positive, any other a false positive, a biased word not predicted a
    false negative (sets of words; ``tn`` stays 0)."""
    predicted, biased = set(predicted), set(biased)
    return KeywordCounts(
        tp=len(predicted & biased), fp=len(predicted - biased), fn=len(biased - predicted)
    )
