"""Prompts and targets of SAP² (texts of the authors' public code, see docs/method.md).

Each task pairs a user prompt (after the audio) with an assistant target:

- ``transcribe``: ``Transcribe speech to text.`` and an empty span -> the transcript;
- ``transcribe_context``: the keywords prompt and a span of keywords -> the transcript;
- ``prune``: the pruning prompt and a span of the long context -> the keywords heard in
  the speech, or ``none``;
- ``multitask``: the select-then-transcribe prompt of the authors' notebook
  (``data_preprocess.ipynb``, cell 10) and a span of the long context ->
  ``Selected keywords are: k1, k2.\nTranscription: the transcript``.

The span is ``<|startofcontext|>k1 k2 ...<|endofcontext|>`` (space-joined, as in the
authors' README; their notebook joins keywords with ``, ``, which the parsers accept).
:func:`parse_output` reads a model output for its task and says when it has the shape of
another task's (a transcript that is a multitask answer, a multitask answer without its
transcription), so that decoding never scores such text as words.
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
    multitask: str = (
        "First select keywords that may appear in the speech from given keywords list. "
        "Then Transcribe speech to text according to selected keywords. Keywords are: "
    )

    def prefix(self, task: Task) -> str:
        """The text before the context span of ``task``'s prompt."""
        return getattr(self, Task(task).value)

    def user_prompt(self, task: Task, context: Sequence[str] = ()) -> str:
        """The user text of ``task`` with ``context`` (words or phrases) in the span."""
        task = Task(task)
        return self.prefix(task) + context_span(context if task is not Task.TRANSCRIBE else ())


def context_span(context: Sequence[str]) -> str:
    """``<|startofcontext|>k1 k2 ...<|endofcontext|>``."""
    return CONTEXT_START_TOKEN + " ".join(context) + CONTEXT_END_TOKEN


#: The multitask target's parts (the authors' ``RESPONSE_FORMAT``).
SELECTED = "Selected keywords are:"
TRANSCRIPTION = "Transcription:"


def target_text(task: Task, transcript: str = "", keywords: Sequence[str] = ()) -> str:
    """The assistant target of ``task``: the transcript, the keywords (``none`` when no
    keyword occurs) or both in the multitask form."""
    task = Task(task)
    if task is Task.PRUNE:
        return " ".join(keywords) if keywords else NO_KEYWORDS
    if task is Task.MULTITASK:
        selected = ", ".join(keywords) if keywords else NO_KEYWORDS
        return f"{SELECTED} {selected}.\n{TRANSCRIPTION} {transcript}"
    return transcript


def heard_keywords(context: Iterable[str], transcript: str) -> list[str]:
    """The context words that occur in the transcript (case-insensitive, each once, in
    context order): the target of pruning and the keywords of stage 2."""
    words = set(transcript.lower().split())
    return [w for w in dict.fromkeys(context) if w.lower() in words]


def parse_keywords(text: str) -> list[str]:
    """Keywords from a pruning output or a multitask head (``none`` gives an empty list):
    comma-separated when there is a comma (the authors' notebook), else space-separated."""
    text = text.strip().removeprefix(SELECTED).removeprefix("Keywords:").strip().rstrip(".")
    if text.lower() == NO_KEYWORDS:
        return []
    if "," in text:
        return [k.strip() for k in text.split(",") if k.strip()]
    return text.split()


def parse_multitask(text: str) -> tuple[list[str], str] | None:
    """``(keywords, transcript)`` of a multitask output, or None when it has no
    ``Transcription:``."""
    head, sep, transcript = text.partition(TRANSCRIPTION)
    if not sep:
        return None
    return parse_keywords(head), " ".join(transcript.split())


@dataclass(frozen=True)
class ParsedOutput:
    """A model output read for its task: ``transcript`` and ``keywords``, and ``problem``
    (None, or what was wrong with its shape; the transcript is then empty)."""

    transcript: str = ""
    keywords: tuple[str, ...] = ()
    problem: str | None = None


def parse_output(task: Task, text: str) -> ParsedOutput:
    """Read an output of ``task``: a transcript must not be a multitask answer, a
    pruning output must be keywords, a multitask output must hold ``Transcription:``.
    Outputs of the wrong shape give an empty transcript and name the problem."""
    task = Task(task)
    text = " ".join(text.split())
    multitask = parse_multitask(text)
    if task is Task.MULTITASK:
        if multitask is None:
            return ParsedOutput(problem="multitask output without 'Transcription:'")
        return ParsedOutput(multitask[1], tuple(multitask[0]))
    looks_multitask = multitask is not None or text.startswith((SELECTED, "Keywords:"))
    if task is Task.PRUNE:
        if looks_multitask:
            keywords = multitask[0] if multitask is not None else parse_keywords(text)
            return ParsedOutput(keywords=tuple(keywords), problem="multitask answer to pruning")
        return ParsedOutput(keywords=tuple(parse_keywords(text)))
    if looks_multitask:
        return ParsedOutput(problem="multitask answer to a transcription prompt")
    return ParsedOutput(text)
