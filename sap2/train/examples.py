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

With ``spelling_families`` (:mod:`sap2.train.respelling`), the words of a family are
respelt per cut and epoch, in the transcript and the context alike. With probability
``p_renamed_keywords`` (:mod:`sap2.train.renaming`), a ``transcribe_context`` example
has its keywords renamed to invented words, in the transcript and the context alike;
with probability ``p_renamed_prune`` a ``prune`` or ``multitask`` example has them
renamed after their first syllable (which still tells which word was said; the rest can
only be copied from the context, as for an unseen term at test time).
With ``keyword_distractors`` N > 0, the keywords shown by a ``transcribe_context``
example get 0 to N other words of its context, not said, at random places: a pruning
pass returns wrong words beside the right ones, and the second pass has to ignore them.
With probability ``p_short_prune_context``, a ``prune`` example's context is cut to the
words said and a random number of the others (in context order): a short list makes
finding the word heard, and copying it, easier to learn than among a whole slide's words.
"""

import random

import numpy as np
from lhotse.cut import Cut

from sap2.context.biasing import DistractorPool, read_word_list, utterance_rng
from sap2.context.sampler import TrainingListSampler
from sap2.model.processor import Example
from sap2.model.prompts import Task, heard_keywords
from sap2.train.config import TrainConfig
from sap2.train.renaming import rename
from sap2.train.respelling import read_spelling_families, respell


class TrainingExamples:
    """Callable ``(cut, audio) -> Example`` for :class:`~sap2.data.dataset.Sap2Dataset`;
    :meth:`set_epoch` changes the draws."""

    def __init__(self, config: TrainConfig) -> None:
        weights = config.task_weights()
        self.tasks = [Task(t) for t in weights]
        self.weights = np.array(list(weights.values()))
        self.p_no_context = config.p_no_context
        self.p_long_context = config.p_long_context
        self.p_renamed_keywords = config.p_renamed_keywords
        self.p_renamed_prune = config.p_renamed_prune
        self.keyword_distractors = config.keyword_distractors
        self.p_short_prune_context = config.p_short_prune_context
        self.seed = config.seed
        self.epoch = 0
        self.lists = None
        self.families = None
        if config.spelling_families:
            self.families = read_spelling_families(config.spelling_families)
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
        if self.families:
            spelling_rng = utterance_rng(self.seed, cut.id, self.epoch, "spelling")
            words, context = respell([transcript.split(), context], self.families, spelling_rng)
            transcript = " ".join(words)
        if not context or rng.random() < self.p_no_context:
            return Example(audio, Task.TRANSCRIBE, (), transcript)
        task = self.tasks[int(rng.choice(len(self.tasks), p=self.weights))]
        keywords = heard_keywords(context, transcript)
        if task is Task.TRANSCRIBE:
            return Example(audio, task, (), transcript)
        pruning = task is not Task.TRANSCRIBE_CONTEXT
        p_renamed = self.p_renamed_prune if pruning else self.p_renamed_keywords
        rename_rng = utterance_rng(self.seed, cut.id, self.epoch, "rename")
        if keywords and rename_rng.random() < p_renamed:
            texts = [transcript.split(), context, keywords]
            name_rng = random.Random(rename_rng.bytes(8))
            words, context, keywords = rename(texts, keywords, name_rng, pruning)
            transcript = " ".join(words)
        if task is Task.TRANSCRIBE_CONTEXT:
            if rng.random() < self.p_long_context:
                return Example(audio, task, context, transcript, keywords)
            shown = keywords
            if self.keyword_distractors:
                draw = utterance_rng(self.seed, cut.id, self.epoch, "distractors")
                shown = with_distractors(keywords, context, self.keyword_distractors, draw)
            return Example(audio, task, shown, transcript, keywords)
        if task is Task.PRUNE and self.p_short_prune_context:
            draw = utterance_rng(self.seed, cut.id, self.epoch, "short_context")
            if draw.random() < self.p_short_prune_context:
                context = shortened(context, keywords, draw)
        return Example(audio, task, context, transcript, keywords)


def shortened(context: list[str], keywords: list[str], rng: np.random.Generator) -> list[str]:
    """``context`` cut to ``keywords`` and a random number of its other words, in context
    order (at least one word when no keyword was said)."""
    said = {word.lower() for word in keywords}
    others = [i for i, word in enumerate(context) if word.lower() not in said]
    count = int(rng.integers(0 if keywords else min(1, len(others)), len(others) + 1))
    kept = set(rng.choice(others, size=count, replace=False).tolist()) if count else set()
    return [w for i, w in enumerate(context) if w.lower() in said or i in kept]


def with_distractors(
    keywords: list[str], context: list[str], most: int, rng: np.random.Generator
) -> list[str]:
    """``keywords`` with 0 to ``most`` other words of ``context`` inserted at random places."""
    said = {word.lower() for word in keywords}
    others = [word for word in dict.fromkeys(context) if word.lower() not in said]
    count = min(int(rng.integers(0, most + 1)), len(others))
    shown = list(keywords)
    for index in rng.choice(len(others), size=count, replace=False):
        shown.insert(int(rng.integers(0, len(shown) + 1)), others[index])
    return shown
