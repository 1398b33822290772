"""Training-time biasing lists, drawn anew for every utterance and epoch (is21, SLAM-LLM).

Each list holds the utterance's rare words plus a random number of distractors; with
probability ``p_no_context`` the utterance gets no list at all, so that one model also
works without context.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sap2.context.biasing import DistractorPool, biasing_list
from sap2.seeding import utterance_rng


@dataclass
class TrainingListSampler:
    """Draws a training biasing list per utterance and epoch.

    Attributes:
      pool: where distractors come from.
      min_distractors, max_distractors: the number of distractors is uniform in this range.
      p_no_context: probability of giving no list (context dropout).
      seed: lists depend only on (seed, epoch, utterance id).
    """

    pool: DistractorPool
    min_distractors: int = 0
    max_distractors: int = 1000
    p_no_context: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.min_distractors <= self.max_distractors:
            raise ValueError(
                f"need 0 <= min_distractors <= max_distractors, got {self.min_distractors} "
                f"and {self.max_distractors}"
            )
        if not 0.0 <= self.p_no_context <= 1.0:
            raise ValueError(f"p_no_context must be in [0, 1], got {self.p_no_context}")

    def sample(self, utt_id: str, rare: Sequence[str], epoch: int) -> list[str] | None:
        """The list of ``utt_id`` for ``epoch``, or None for no context."""
        rng = utterance_rng(self.seed, utt_id, epoch)
        if rng.random() < self.p_no_context:
            return None
        count = int(rng.integers(self.min_distractors, self.max_distractors + 1))
        count = min(count, self.pool.available(rare))  # a small pool caps the list
        return biasing_list(rare, self.pool, count, rng)
