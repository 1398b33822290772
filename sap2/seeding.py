"""Random draws per utterance: the same whatever the order of the utterances, the number
of data-loader workers or the machine.

Every random choice made for an utterance (its biasing list's distractors, its training
list, its task in an epoch) comes from a generator seeded by the run's seed, the
utterance id and what is drawn, hashed with SHA-256.
"""

import hashlib

import numpy as np


def utterance_rng(seed: int, utt_id: str, *extra: object) -> np.random.Generator:
    """A generator that depends only on the seed, the utterance id and ``extra``."""
    key = ":".join(map(str, (seed, utt_id, *extra))).encode()
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:8], "little"))
