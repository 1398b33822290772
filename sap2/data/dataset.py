"""From cuts to model inputs: a lhotse-style dataset, its collation, and the data loader.

The sampler (lhotse's ``DynamicBucketingSampler``) yields mini-batches of cuts of similar
duration; :class:`Sap2Dataset` loads their audio (resampled to 16 kHz, mixed to mono),
turns each cut into an :class:`~sap2.model.processor.Example` and encodes the batch with
the processor. Utterances longer than the encoder window are dropped, and counted.
"""

import logging
from collections.abc import Callable
from functools import partial

import numpy as np
import torch
from lhotse import CutSet
from lhotse.cut import Cut
from lhotse.dataset import DynamicBucketingSampler
from transformers import ProcessorMixin

from sap2.errors import InputError
from sap2.model.processor import SAMPLING_RATE, Example, encode_batch, min_audio_samples
from sap2.model.prompts import PromptTexts, Task, heard_keywords

logger = logging.getLogger(__name__)

CutToExample = Callable[[Cut, np.ndarray], Example]


def load_audio(cut: Cut) -> np.ndarray:
    """The cut's samples at 16 kHz, mono (channels averaged), float32.

    Raises:
      InputError: the audio cannot be read (naming the cut).
    """
    try:
        samples = cut.resample(SAMPLING_RATE).load_audio()
    except Exception as err:  # lhotse/soundfile raise several types for broken audio
        raise InputError(f"cut '{cut.id}': cannot load audio ({err})") from None
    return samples.mean(axis=0).astype(np.float32) if samples.ndim == 2 else samples


def fixed_task_example(task: Task | str, context_field: str | None = None) -> CutToExample:
    """A cut-to-example function: the same task for every cut, context from a custom field
    (e.g. ``biasing_list_100``, ``context``, ``ocr_keywords``), the supervision text as
    transcript and the context words heard in it as keywords."""
    task = Task(task)

    def to_example(cut: Cut, audio: np.ndarray) -> Example:
        transcript = cut.supervisions[0].text or ""
        context = []
        if context_field is not None:
            if not cut.has_custom(context_field):
                raise InputError(f"cut '{cut.id}' has no custom field '{context_field}'")
            context = list(cut.custom[context_field])
        return Example(audio, task, context, transcript, heard_keywords(context, transcript))

    return to_example


class Sap2Dataset(torch.utils.data.Dataset):
    """Maps a mini-batch of cuts (from a lhotse sampler) to model inputs.

    Args:
      processor: from :func:`sap2.model.processor.load_processor`.
      to_example: builds the example of a cut (e.g. :func:`fixed_task_example`).
      with_targets: add targets and labels (training) or not (decoding).
      prompts: prompt texts (default: those of the SAP² public code).
      with_ctc_labels: add the transcripts' token ids as ``ctc_labels`` (training with
        the model's ``ctc_weight`` > 0).
    Returns (per batch):
      the :func:`~sap2.model.processor.encode_batch` tensors plus ``cut_ids``.
    """

    def __init__(
        self,
        processor: ProcessorMixin,
        to_example: CutToExample,
        with_targets: bool,
        prompts: PromptTexts | None = None,
        with_ctc_labels: bool = False,
    ) -> None:
        self.processor = processor
        self.to_example = to_example
        self.with_targets = with_targets
        self.prompts = prompts
        self.with_ctc_labels = with_ctc_labels

    def __getitem__(self, cuts: CutSet) -> dict:
        cuts = cuts.sort_by_duration()
        examples = [self.to_example(cut, load_audio(cut)) for cut in cuts]
        batch = encode_batch(
            self.processor, examples, self.with_targets, self.prompts, self.with_ctc_labels
        )
        batch["cut_ids"] = [cut.id for cut in cuts]
        return batch


def _fits(cut: Cut, min_seconds: float, max_seconds: float) -> bool:
    return min_seconds <= cut.duration <= max_seconds


def drop_unfit_cuts(cuts: CutSet, max_seconds: float, min_seconds: float = 0.0) -> CutSet:
    """The cuts that fit the encoder: at most its window, at least ``min_seconds`` (see
    :func:`sap2.model.processor.min_audio_samples`); the others are logged with a count."""
    kept = cuts.filter(partial(_fits, min_seconds=min_seconds, max_seconds=max_seconds))
    kept = kept.to_eager()
    dropped = len(cuts) - len(kept)
    if dropped:
        logger.warning(
            "dropped %d of %d utterances longer than the %.0f s encoder window or shorter "
            "than %.0f ms", dropped, len(cuts), max_seconds, min_seconds * 1000,
        )  # fmt: skip
    return kept


def make_dataloader(
    cuts: CutSet,
    dataset: Sap2Dataset,
    max_duration: float,
    shuffle: bool,
    num_buckets: int = 10,
    num_workers: int = 0,
    seed: int = 0,
    world_size: int | None = None,
    rank: int | None = None,
) -> torch.utils.data.DataLoader:
    """A data loader over ``cuts`` with lhotse's dynamic bucketing by duration.

    ``max_duration`` is the total audio seconds of a mini-batch; cuts longer than the
    processor's encoder window, or too short for it, are dropped first (see
    :func:`drop_unfit_cuts`).
    """
    window = float(dataset.processor.feature_extractor.chunk_length)
    cuts = drop_unfit_cuts(cuts, window, min_audio_samples(dataset.processor) / SAMPLING_RATE)
    sampler = DynamicBucketingSampler(
        cuts, max_duration=max_duration, shuffle=shuffle, num_buckets=num_buckets,
        seed=seed, world_size=world_size, rank=rank, drop_last=False,
    )  # fmt: skip
    return torch.utils.data.DataLoader(
        dataset, sampler=sampler, batch_size=None, num_workers=num_workers
    )
