"""Training examples: the task of each utterance and the context it sees, per epoch.

For every cut and epoch a task is drawn with the configured proportions. The long
context is the cut's ``context`` field (SlideSpeech: slide OCR keywords) or, for cuts
with ``rare_words`` (LibriSpeech), a biasing list drawn by
:class:`~sap2.context.sampler.TrainingListSampler`. With probability ``p_no_context``
(context dropout) the utterance gets no context and the plain transcription task. The
keywords of an utterance are the context words heard in its transcript:

- ``prune``: long context -> those keywords (or ``none``);
- ``transcribe_context``: those keywords (the pruned list of stage 2) -> transcript, or
  with probability ``p_long_context`` the long context itself (the full-context
  condition of decoding);
- ``multitask``: long context -> ``Keywords: ... Transcription: ...``;
- ``transcribe``: no context -> transcript.
"""

import numpy as np
from lhotse.cut import Cut

from sap2.context.biasing import DistractorPool, read_word_list
from sap2.context.sampler import TrainingListSampler
from sap2.model.processor import Example
from sap2.model.prompts import Task, heard_keywords
from sap2.seeding import utterance_rng
from sap2.train.config import TrainConfig


class TrainingExamples:
    """Callable ``(cut, audio) -> Example`` for :class:`~sap2.data.dataset.Sap2Dataset`;
    :meth:`set_epoch` changes the draws."""

    def __init__(self, config: TrainConfig) -> None:
        weights = config.task_weights()
        self.tasks = [Task(t) for t in weights]
        self.weights = np.array(list(weights.values()))
        self.p_no_context = config.p_no_context
        self.p_long_context = config.p_long_context
        self.seed = config.seed
        self.epoch = 0
        self.lists = None
        if config.rare_word_pool:
            self.lists = TrainingListSampler(
                DistractorPool(read_word_list(config.rare_word_pool)),
                config.min_distractors, config.max_distractors, p_no_context=0.0,
                seed=config.seed,
            )  # fmt: skip

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def long_context(self, cut: Cut) -> list[str]:
        if cut.has_custom("rare_words") and self.lists is not None:
            return self.lists.sample(cut.id, cut.rare_words, self.epoch) or []
        if cut.has_custom("context"):
            return list(cut.context)
        return []

    def __call__(self, cut: Cut, audio: np.ndarray) -> Example:
        rng = utterance_rng(self.seed, cut.id, self.epoch, "task")
        transcript = cut.supervisions[0].text or ""
        context = self.long_context(cut)
        if not context or rng.random() < self.p_no_context:
            return Example(audio, Task.TRANSCRIBE, (), transcript)
        task = self.tasks[int(rng.choice(len(self.tasks), p=self.weights))]
        keywords = heard_keywords(context, transcript)
        if task is Task.TRANSCRIBE:
            return Example(audio, task, (), transcript)
        if task is Task.TRANSCRIBE_CONTEXT and rng.random() >= self.p_long_context:
            return Example(audio, task, keywords, transcript, keywords)
        return Example(audio, task, context, transcript, keywords)
