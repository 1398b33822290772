"""False alarms from the context: words the model wrote because it read them, not heard them.

A false alarm is a hypothesis word that is in the utterance's context (the list the model
was given) but not in its reference, counted where the scorer counts an error on the
hypothesis side: a substitution (the context word written in place of another word) or an
insertion. A context word that is also in the reference is never a false alarm, even where
it is misplaced; each written occurrence counts once.
"""

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field


def false_alarm_words(
    ref: Sequence[str], hyp: Sequence[str], ops: str, context: Collection[str]
) -> list[str]:
    """The false alarms of one aligned utterance (``ops`` as returned by
    :func:`sap2.scoring.align.align`), in hypothesis order."""
    in_ref = set(ref)
    words = []
    j = 0
    for op in ops:
        if op == "D":
            continue
        word = hyp[j]
        j += 1
        if op != "C" and word in context and word not in in_ref:
            words.append(word)
    return words


@dataclass
class FalseAlarms:
    """False alarms of a corpus: how often each word was written, and over how many
    reference words and utterances."""

    words: Counter = field(default_factory=Counter)
    ref_words: int = 0
    utterances: int = 0

    @property
    def count(self) -> int:
        return sum(self.words.values())

    @property
    def per_100_words(self) -> float | None:
        """False alarms per 100 reference words; None without reference words."""
        return 100 * self.count / self.ref_words if self.ref_words else None

    @property
    def per_utterance(self) -> float | None:
        return self.count / self.utterances if self.utterances else None

    def add(self, words: Sequence[str], ref_words: int) -> None:
        """Add one utterance's false alarms and its number of reference words."""
        self.words.update(words)
        self.ref_words += ref_words
        self.utterances += 1

    def to_dict(self) -> dict:
        return {
            "count": self.count,
            "per_100_words": self.per_100_words,
            "per_utterance": self.per_utterance,
            "utterances": self.utterances,
        }

    def format(self) -> str:
        """One summary line, like the other counts."""
        rate = "-" if self.per_100_words is None else f"{self.per_100_words:.2f}"
        per_utt = "-" if self.per_utterance is None else f"{self.per_utterance:.3f}"
        return f"False alarms: count={self.count}, per_100_words={rate}, per_utterance={per_utt}"

    def format_words(self) -> str:
        """``false_alarms.txt`` of ``--details``: each word and how often, most frequent first."""
        lines = ["# false alarms: count word"]
        ranked = sorted(self.words.items(), key=lambda kv: (-kv[1], kv[0]))
        lines += [f"{n}\t{w}" for w, n in ranked]
        return "\n".join(lines) + "\n"
