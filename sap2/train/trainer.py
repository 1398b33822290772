"""transformers' Trainer with lhotse data whose position is saved in every checkpoint.

The Trainer brings the optimisation loop, gradient accumulation, mixed precision,
DistributedDataParallel under torchrun, DeepSpeed ZeRO, checkpoint rotation and
TensorBoard logging. What it cannot know is where a lhotse sampler is inside its epoch:
:class:`ResumableDataLoader` keeps the data epoch itself, and
:class:`SamplerCheckpoint` saves the sampler's state beside each checkpoint and restores
it on resume, so that training continues with the next unseen batch (icefall does the
same with ``sampler.state_dict()``).

The sampler states are written last, each to a temporary name renamed into place, and a
checkpoint counts as complete only once every rank's is there
(:func:`last_complete_checkpoint`): a run killed while saving resumes from the checkpoint
before. They are read with ``torch.load(weights_only=True)``, which runs no code.

With several SAP window sizes, each optimisation step pools the context with one of
them, drawn from the seed and the step number (so a resumed run draws the same), and one
model serves every window at decoding time (:func:`step_window_size`).
"""

import functools
import logging
import math
import random
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import torch
from lhotse import CutSet
from lhotse.dataset import DynamicBucketingSampler
from transformers import Trainer, TrainerCallback

from sap2.data.dataset import Sap2Dataset, drop_unfit_cuts
from sap2.errors import InputError
from sap2.fileio import atomic_output
from sap2.model.modeling_sap2 import audio_ctc_loss
from sap2.model.pooling import SpeechAttentionPooling
from sap2.model.processor import IGNORE_INDEX, SAMPLING_RATE, min_audio_samples

logger = logging.getLogger(__name__)

SAMPLER_STATE = "sampler_state.pt"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def sampler_state_path(checkpoint: str | Path, rank: int) -> Path:
    """Where rank ``rank`` keeps its sampler state in a checkpoint folder."""
    return Path(checkpoint) / f"rank{rank}_{SAMPLER_STATE}"


def is_complete_checkpoint(checkpoint: Path, world_size: int) -> bool:
    """The Trainer's state and every rank's sampler state (written last) are there."""
    return (checkpoint / "trainer_state.json").is_file() and all(
        sampler_state_path(checkpoint, rank).is_file() for rank in range(world_size)
    )


def last_complete_checkpoint(
    exp_dir: str | Path, world_size: int = 1, remove_incomplete: bool = False
) -> Path | None:
    """The newest complete ``checkpoint-<step>`` of ``exp_dir`` (None if there is none).

    With ``remove_incomplete`` (rank 0), newer incomplete ones (a run killed while
    saving) are removed, with a warning, so that the Trainer's rotation of old
    checkpoints never counts them.
    """
    exp_dir = Path(exp_dir)
    found = [
        (int(m.group(1)), p)
        for p in (exp_dir.iterdir() if exp_dir.is_dir() else [])
        if (m := _CHECKPOINT.match(p.name)) and p.is_dir()
    ]
    for _, path in sorted(found, reverse=True):
        if is_complete_checkpoint(path, world_size):
            return path
        if remove_incomplete:
            logger.warning("%s is incomplete (a run stopped while saving it): removed", path)
            shutil.rmtree(path)
    return None


def step_window_size(window_sizes: Sequence[int], seed: int, step: int) -> int:
    """The SAP window size of optimisation step ``step`` (deterministic)."""
    return random.Random(f"{seed}:{step}").choice(list(window_sizes))


class ResumableDataLoader(torch.utils.data.DataLoader):
    """A loader over a lhotse sampler that moves to the next data epoch by itself each time
    it is exhausted (the Trainer's own epoch counter is ignored: with ``max_steps`` it does
    not match the data)."""

    def __init__(self, dataset: Sap2Dataset, sampler: DynamicBucketingSampler, num_workers: int):
        super().__init__(dataset, sampler=sampler, batch_size=None, num_workers=num_workers)

    def set_epoch(self, epoch: int) -> None:
        """Called by the Trainer; the data epoch is kept by the sampler instead."""

    def __iter__(self):
        # A sampler restored at the very end of its epoch yields nothing: go on with the
        # next epoch then, rather than ending training (at most one such retry).
        for _ in range(2):
            self.dataset.to_example.set_epoch(self.sampler.epoch)
            yielded = False
            for batch in super().__iter__():
                yielded = True
                yield batch
            self.sampler.set_epoch(self.sampler.epoch + 1)
            if yielded:
                return


def count_batches(cuts: CutSet, max_duration: float, num_buckets: int, world_size: int) -> int:
    """Mini-batches per device in one epoch (reads the manifest, not the audio)."""
    sampler = DynamicBucketingSampler(
        cuts, max_duration=max_duration, num_buckets=num_buckets, world_size=world_size, rank=0
    )
    return sum(1 for _ in sampler)


class SamplerCheckpoint(TrainerCallback):
    """Saves the sampler's state in each ``checkpoint-<step>/`` (one file per rank)."""

    def __init__(self, sampler: DynamicBucketingSampler, rank: int) -> None:
        self.sampler = sampler
        self.rank = rank

    def on_save(self, args, state, control, **kwargs):
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        with atomic_output(sampler_state_path(folder, self.rank)) as tmp:
            torch.save(self.sampler.state_dict(), tmp)
        return control


class Sap2Trainer(Trainer):
    """A Trainer that feeds :class:`Sap2Dataset` batches through a lhotse sampler.

    Args:
      train_cuts: training cuts (longer than the encoder window are dropped).
      dataset: turns cut batches into model inputs.
      max_duration, num_buckets, num_workers: of the sampler / loader.
      batch_log: file to append the cut ids of every optimisation step to (optional).
      window_sizes: SAP window sizes to draw one from per step (empty: the model's own).
      align_projector_steps: the first N optimisation steps train with the CTC loss of
        the projected audio features alone (:meth:`projector_ctc_loss`), the language
        model not run: the projector learns to map speech into the LLM's embedding space
        cheaply before the LLM loss takes over (the batches need ``ctc_labels``); see
        :func:`alignment_ctc_loss`. Its softmax runs over the tokens of the training
        transcripts and the blank, not the LLM's whole vocabulary, which makes a step
        several times cheaper.
      Other arguments go to ``transformers.Trainer``.
    """

    def __init__(
        self,
        *args,
        train_cuts: CutSet,
        dataset: Sap2Dataset,
        max_duration: float,
        num_buckets: int,
        num_workers: int,
        batch_log: Path | None = None,
        window_sizes: Sequence[int] = (),
        align_projector_steps: int = 0,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.align_projector_steps = align_projector_steps
        window = float(dataset.processor.feature_extractor.chunk_length)
        shortest = min_audio_samples(dataset.processor) / SAMPLING_RATE
        self.train_cuts = drop_unfit_cuts(train_cuts, window, shortest)
        self.sap2_dataset = dataset
        self.sampler = DynamicBucketingSampler(
            self.train_cuts, max_duration=max_duration, num_buckets=num_buckets, shuffle=True,
            seed=self.args.seed, world_size=self.args.world_size, rank=self.args.process_index,
        )  # fmt: skip
        self.num_workers = num_workers
        self.batch_log = batch_log
        if align_projector_steps:
            self.transcript_tokens = transcript_tokens(dataset.processor.tokenizer, self.train_cuts)
        self.window_sizes = tuple(window_sizes)
        self.poolings = [m for m in self.model.modules() if isinstance(m, SpeechAttentionPooling)]
        self.add_callback(SamplerCheckpoint(self.sampler, self.args.process_index))

    def restore_sampler(self, checkpoint: str) -> None:
        """Load the sampler state saved in ``checkpoint`` (call before ``train``)."""
        path = sampler_state_path(checkpoint, self.args.process_index)
        if path.is_file():
            try:
                state = torch.load(path, weights_only=True)
            except Exception as err:  # pickle and zip errors of several types
                raise InputError(
                    f"{path}: not a sampler state written by sap2-train ({type(err).__name__})"
                ) from None
            self.sampler.load_state_dict(state)
            logger.info("data position restored from %s (epoch %d)", path, self.sampler.epoch)
        else:
            logger.warning("%s has no sampler state: the data epoch starts again", checkpoint)

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        """Cosine with warmup (``warmup_ratio``); with ``align_projector_steps``, one such
        schedule for the alignment steps and a fresh one for the LLM steps after them."""
        if not self.align_projector_steps or self.lr_scheduler is not None:
            return super().create_scheduler(num_training_steps, optimizer)
        ratio = self.args.get_warmup_steps(num_training_steps) / max(1, num_training_steps)
        self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer if optimizer is None else optimizer,
            functools.partial(two_phase_cosine, self.align_projector_steps, num_training_steps,
                              ratio),
        )  # fmt: skip
        self._created_lr_scheduler = True
        return self.lr_scheduler

    def get_train_dataloader(self) -> ResumableDataLoader:
        return ResumableDataLoader(self.sap2_dataset, self.sampler, self.num_workers)

    def training_step(self, model, inputs, num_items_in_batch=None):
        cut_ids = inputs.pop("cut_ids", None)
        if self.batch_log is not None and cut_ids is not None and self.args.process_index == 0:
            with open(self.batch_log, "a", encoding="utf-8") as f:
                f.write(f"{self.state.global_step + 1} {' '.join(cut_ids)}\n")
        if self.window_sizes:
            size = step_window_size(self.window_sizes, self.args.seed, self.state.global_step)
            for pooling in self.poolings:
                pooling.window_size = size
        return super().training_step(model, inputs, num_items_in_batch)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.state.global_step < self.align_projector_steps:
            return self.projector_ctc_loss(model, inputs)
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    def projector_ctc_loss(self, model, inputs: dict) -> torch.Tensor:
        """CTC loss of the audio features through the LM head (for tied embeddings: the
        projector output times the embedding matrix), against the transcripts."""
        sap2 = self.accelerator.unwrap_model(model)
        sap2 = sap2.get_base_model() if hasattr(sap2, "get_base_model") else sap2
        if "ctc_labels" not in inputs:
            raise ValueError("align_projector_steps needs batches with ctc_labels")
        features, lengths = sap2.encode_audio(
            inputs["input_features"], inputs["feature_attention_mask"]
        )
        blank_id = sap2.config.ctc_blank_token_id
        return alignment_ctc_loss(features, lengths, inputs["ctc_labels"], sap2.lm_head.weight,
                                  self.transcript_tokens, blank_id)  # fmt: skip


#: Logit scale of the projector's alignment (cosine similarities are at most 1).
ALIGNMENT_SCALE = 16.0


def cosine_with_warmup(step: int, total: int, warmup: int) -> float:
    """transformers' cosine schedule: a linear warmup, then a half cosine to 0."""
    if step < warmup:
        return step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return max(0.0, 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def two_phase_cosine(first: int, total: int, warmup_ratio: float, step: int) -> float:
    """A :func:`cosine_with_warmup` over steps ``[0, first)`` and another over
    ``[first, total)``, each with ``warmup_ratio`` of its steps as warmup."""
    if step < first:
        return cosine_with_warmup(step, first, round(warmup_ratio * first))
    rest = total - first
    return cosine_with_warmup(step - first, rest, round(warmup_ratio * rest))


def alignment_ctc_loss(
    features: torch.Tensor,
    lengths: torch.Tensor,
    labels: torch.Tensor,
    embeddings: torch.Tensor,
    tokens: torch.Tensor,
    blank_id: int,
    scale: float = ALIGNMENT_SCALE,
) -> torch.Tensor:
    """The projector's alignment loss: :func:`~sap2.model.modeling_sap2.audio_ctc_loss`
    of logits ``scale`` times the cosine similarity of each audio position with the
    ``embeddings`` (the LM head's rows) of ``tokens`` and ``blank_id``, the softmax over
    those alone (frames past every length dropped). Cosine logits make the projector
    point each position at its token's embedding; dot products are met just as well by
    vectors mostly orthogonal to it, which the LLM does not read as the token."""
    features = features[:, : int(lengths.max())]
    blank = torch.tensor([blank_id])
    vocabulary = torch.cat([tokens, blank]).unique().to(features.device)
    logits = scale * torch.nn.functional.linear(
        torch.nn.functional.normalize(features, dim=-1),
        torch.nn.functional.normalize(embeddings[vocabulary], dim=-1),
    )
    labels = labels.to(features.device)
    index = torch.searchsorted(vocabulary, labels.clamp(min=0))
    labels = torch.where(labels == IGNORE_INDEX, labels, index)
    return audio_ctc_loss(
        logits, lengths, labels, int(torch.searchsorted(vocabulary, blank.to(features.device)))
    )


def transcript_tokens(tokenizer, cuts: CutSet) -> torch.Tensor:
    """The token ids of the cuts' transcripts, sorted: with the blank, the classes of the
    projector's CTC alignment."""
    ids: set[int] = set()
    texts = {cut.supervisions[0].text or "" for cut in cuts if cut.supervisions}
    for row in tokenizer(sorted(texts), add_special_tokens=False)["input_ids"]:
        ids.update(row)
    return torch.tensor(sorted(ids))


def steps_for_epochs(num_epochs: float, batches_per_epoch: int, accumulation: int) -> int:
    """Optimisation steps for ``num_epochs`` passes over the data."""
    return max(1, math.ceil(num_epochs * batches_per_epoch / accumulation))
