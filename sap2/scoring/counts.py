"""Error counts: WER over all reference words, split into unbiased (U-WER) and biased (B-WER)."""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

#: The order of the eight counts of :meth:`BiasedErrorCounts.from_tuple`.
PARTS = ("u_ref", "u_sub", "u_ins", "u_del", "b_ref", "b_sub", "b_ins", "b_del")


@dataclass
class ErrorCounts:
    """Reference words and edit counts of one metric (WER, U-WER or B-WER)."""

    ref_words: int = 0
    subs: int = 0
    ins: int = 0
    dels: int = 0

    @property
    def errors(self) -> int:
        return self.subs + self.ins + self.dels

    @property
    def error_rate(self) -> float:
        """100 * errors / ref_words; 0.0 with no words and no errors, inf with errors only."""
        if self.ref_words == 0:
            return 0.0 if self.errors == 0 else math.inf
        return 100 * self.errors / self.ref_words

    def __iadd__(self, other: "ErrorCounts") -> "ErrorCounts":
        self.ref_words += other.ref_words
        self.subs += other.subs
        self.ins += other.ins
        self.dels += other.dels
        return self

    def to_dict(self) -> dict:
        rate = self.error_rate
        return {
            "ref_words": self.ref_words,
            "subs": self.subs,
            "ins": self.ins,
            "dels": self.dels,
            "error_rate": rate if math.isfinite(rate) else None,
        }

    def format(self, name: str) -> str:
        """One line in the form of the is21 ``.result`` files."""
        return (
            f"{name}: error_rate={self.error_rate}, ref_words={self.ref_words}, "
            f"subs={self.subs}, ins={self.ins}, dels={self.dels}"
        )


@dataclass
class BiasedErrorCounts:
    """WER with its unbiased / biased split. ``wer`` is always ``u_wer + b_wer``."""

    wer: ErrorCounts = field(default_factory=ErrorCounts)
    u_wer: ErrorCounts = field(default_factory=ErrorCounts)
    b_wer: ErrorCounts = field(default_factory=ErrorCounts)

    @classmethod
    def from_parts(cls, unbiased: ErrorCounts, biased: ErrorCounts) -> "BiasedErrorCounts":
        """Build the counts from the U-WER and B-WER parts; WER is their sum."""
        total = ErrorCounts()
        total += unbiased
        total += biased
        return cls(wer=total, u_wer=unbiased, b_wer=biased)

    @classmethod
    def from_tuple(cls, parts: Sequence[int]) -> "BiasedErrorCounts":
        """Build the counts from the eight numbers of :data:`PARTS` (unbiased reference
        words, substitutions, insertions, deletions, then the same for biased words)."""
        ur, us, ui, ud, br, bs, bi, bd = parts
        return cls.from_parts(ErrorCounts(ur, us, ui, ud), ErrorCounts(br, bs, bi, bd))

    def __iadd__(self, other: "BiasedErrorCounts") -> "BiasedErrorCounts":
        self.wer += other.wer
        self.u_wer += other.u_wer
        self.b_wer += other.b_wer
        return self

    def format(self) -> str:
        """The three lines of an is21 ``.result`` file."""
        return "\n".join(
            (self.wer.format("WER"), self.u_wer.format("U-WER"), self.b_wer.format("B-WER"))
        )
