"""Prompts and targets of SAP² (texts of the authors' public code, see docs/method.md).

Each task pairs a user prompt (after the audio) with an assistant target:

- ``transcribe``: ``Transcribe speech to text.`` and an empty span -> the transcript;
- ``transcribe_context``: the keywords prompt and a span of keywords -> the transcript;
- ``prune``: the pruning prompt and a span of the long context -> the keywords heard in
  the speech, or ``none``;
- ``multitask``: the keywords prompt and a span of the long context ->
  ``Keywords: k1 k2 Transcription: the transcript``.

The span is ``<|startofcontext|>k1 k2 ...<|endofcontext|>``.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from sap2.model.configuration_sap2 import CONTEXT_END_TOKEN, CONTEXT_START_TOKEN


class Task(str, Enum):
    """What the model is asked to produce."""

    TRANSCRIBE = "transcribe"
    TRANSCRIBE_CONTEXT = "transcribe_context"
    PRUNE = "prune"
    MULTITASK = "multitask"


NO_KEYWORDS = "none"


@dataclass(frozen=True)
class PromptTexts:
    """The user prompt texts; the defaults are those of the SAP² public code."""

    transcribe: str = "Transcribe speech to text."
    transcribe_context: str = (
        "Transcribe speech to text according to keywords may appear in the utterance. "
        "Possible keywords are: "
    )
    prune: str = "Select keywords that may appear in the speech from the following keywords list: "

    def user_prompt(self, task: Task, context: Sequence[str] = ()) -> str:
        """The user text of ``task`` with ``context`` (words or phrases) in the span."""
        task = Task(task)
        if task is Task.TRANSCRIBE:
            return self.transcribe + context_span(())
        prefix = self.prune if task is Task.PRUNE else self.transcribe_context
        return prefix + context_span(context)


def context_span(context: Sequence[str]) -> str:
    """``<|startofcontext|>k1 k2 ...<|endofcontext|>``."""
    return CONTEXT_START_TOKEN + " ".join(context) + CONTEXT_END_TOKEN


def target_text(task: Task, transcript: str = "", keywords: Sequence[str] = ()) -> str:
    """The assistant target of ``task``: the transcript, the keywords (``none`` when no
    keyword occurs) or both in the multitask form."""
    task = Task(task)
    keyword_text = " ".join(keywords) if keywords else NO_KEYWORDS
    if task is Task.PRUNE:
        return keyword_text
    if task is Task.MULTITASK:
        return f"Keywords: {keyword_text} Transcription: {transcript}"
    return transcript


def heard_keywords(context: Iterable[str], transcript: str) -> list[str]:
    """The context words that occur in the transcript (case-insensitive, each once, in
    context order): the target of pruning and the keywords of stage 2."""
    words = set(transcript.lower().split())
    return [w for w in dict.fromkeys(context) if w.lower() in words]


def parse_keywords(text: str) -> list[str]:
    """Keywords from a pruning output (``none`` gives an empty list)."""
    text = text.strip()
    return [] if text.lower() == NO_KEYWORDS else text.split()


def parse_multitask(text: str) -> tuple[list[str], str]:
    """``(keywords, transcript)`` from a multitask output; a malformed output is taken as
    a transcript without keywords."""
    head, sep, transcript = text.partition("Transcription:")
    if not sep:
        return [], text.strip()
    keywords = head.strip().removeprefix("Keywords:")
    return parse_keywords(keywords), transcript.strip()
