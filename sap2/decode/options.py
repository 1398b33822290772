"""How to decode: the decoding modes, :class:`DecodeOptions` (SAP²) and
:class:`WhisperOptions` (the Whisper baseline).

Kept apart from the decoder (no model code is imported here), so that the command line
takes its choices from the one list the decoder checks against.
"""

from dataclasses import dataclass

from sap2.decode.outputs import options_record
from sap2.errors import InputError

#: ``two_stage``: prune the long context to the keywords heard, then transcribe with
#: them; ``multitask``: one pass answering both; ``full_context``: transcribe with the
#: whole context; ``no_context``: plain transcription.
DECODE_MODES = ("two_stage", "multitask", "full_context", "no_context")

#: In ``two_stage``, the second pass when pruning keeps no keyword: the plain
#: transcription prompt (as the authors' code) or the keywords prompt with an empty span.
EMPTY_KEYWORDS = ("plain", "span")


@dataclass
class DecodeOptions:
    """How to decode; every generation setting is stated here, none is inherited from the
    model folder's ``generation_config.json``.

    Attributes:
      mode: one of :data:`DECODE_MODES`.
      context_field: the cut custom field holding the long context (not for no_context).
      num_beams: 1 for greedy search.
      max_new_tokens: tokens a pass may generate; None: from the audio length (and the
        context's length where the answer lists keywords), see :meth:`Decoder.budget`.
      max_duration: seconds of audio per batch.
      constrain_keywords: in ``two_stage``, the pruning pass may only write words of the
        context (:class:`sap2.decode.keyword_constraint.KeywordConstraint`).
      repetition_penalty: transformers' penalty on tokens already generated (1.0: none;
        the prompt is not penalised, as it is given as embeddings).
      empty_keywords: in ``two_stage``, when pruning keeps no keyword, the second pass
        uses the plain transcription prompt (``plain``, as the authors' code) or the
        keywords prompt with an empty span (``span``).
    """

    mode: str = "two_stage"
    context_field: str | None = "context"
    num_beams: int = 1
    max_new_tokens: int | None = None
    max_duration: float = 100.0
    constrain_keywords: bool = False
    repetition_penalty: float = 1.0
    empty_keywords: str = "plain"

    def __post_init__(self) -> None:
        if self.mode not in DECODE_MODES:
            raise InputError(f"unknown mode {self.mode!r}; choose from {', '.join(DECODE_MODES)}")
        if self.mode != "no_context" and not self.context_field:
            raise InputError(f"mode {self.mode} needs a context field (--context-field)")
        if self.empty_keywords not in EMPTY_KEYWORDS:
            raise InputError(f"empty_keywords must be one of {', '.join(EMPTY_KEYWORDS)}")

    def record(self) -> dict:
        """The options that change results (:func:`sap2.decode.outputs.options_record`)."""
        return options_record(self)


#: The Whisper baseline: no context, or the context words as Whisper's prompt.
WHISPER_MODES = ("no_context", "prompt")


@dataclass
class WhisperOptions:
    """How to decode with Whisper.

    Attributes:
      mode: ``no_context`` or ``prompt`` (the context words as Whisper's prompt).
      context_field: the cut custom field with the context (``prompt`` only).
      num_beams: 1 for greedy search.
      max_new_tokens: tokens an utterance may generate.
      max_duration: seconds of audio per batch (prompted utterances go one by one).
      lead_silence: seconds of silence put before the audio (cut tight, Whisper drops
        the first words).
    """

    mode: str = "no_context"
    context_field: str | None = "context"
    num_beams: int = 1
    max_new_tokens: int = 128
    max_duration: float = 100.0
    lead_silence: float = 0.3

    def __post_init__(self) -> None:
        if self.mode not in WHISPER_MODES:
            raise InputError(f"unknown mode {self.mode!r}; choose from {', '.join(WHISPER_MODES)}")
        if self.mode == "prompt" and not self.context_field:
            raise InputError("mode prompt needs a context field (--context-field)")

    def record(self) -> dict:
        """The options that change results (:func:`sap2.decode.outputs.options_record`)."""
        return options_record(self)
