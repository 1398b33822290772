"""The baseline a user would pick instead of SAP²: Whisper alone, or Whisper prompted with
the utterance's context words (transformers' ``generate(prompt_ids=...)``, the usual way
people bias Whisper).

:class:`WhisperDecoder` has the interface of :class:`sap2.decode.decoder.Decoder`, so
:func:`sap2.decode.decoder.decode_cuts` decodes cuts with it into the folder layout of
``sap2-decode`` (``hyp.jsonl``, ``hyp.txt``, ``decode_stats.json``,
``decode_options.json``): the recipes score and tabulate it like every other row. An
output cut at the token budget is marked and left empty, as ``sap2-decode`` does.
"""

from dataclasses import dataclass

import numpy as np
import torch

from sap2.decode.outputs import options_record
from sap2.errors import InputError
from sap2.model.processor import SAMPLING_RATE

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


class WhisperDecoder:
    """Decodes batches of utterances with a ``WhisperForConditionalGeneration``."""

    def __init__(self, model, processor, options: WhisperOptions) -> None:
        self.model = model
        self.processor = processor
        self.options = options

    def _generate(self, audios: list[np.ndarray], prompt: list[str] | None) -> list[dict]:
        lead = np.zeros(int(self.options.lead_silence * SAMPLING_RATE), dtype=np.float32)
        window = self.processor.feature_extractor.chunk_length * SAMPLING_RATE
        padded = [np.concatenate([lead, a])[:window] for a in audios]
        features = self.processor(padded, sampling_rate=SAMPLING_RATE, return_tensors="pt")
        options = {
            "max_new_tokens": self.options.max_new_tokens,
            "num_beams": self.options.num_beams,
        }
        if prompt:
            options["prompt_ids"] = self.processor.get_prompt_ids(
                " ".join(prompt), return_tensors="pt"
            ).to(self.model.device)
        with torch.no_grad():
            ids = self.model.generate(
                features.input_features.to(self.model.device, self.model.dtype), **options
            )
        results = []
        end = self.model.generation_config.eos_token_id
        special = set(self.processor.tokenizer.all_special_ids)
        texts = self.processor.batch_decode(ids, skip_special_tokens=True)
        for row, text in zip(ids.tolist(), texts, strict=True):
            new = sum(1 for i in row if i not in special)
            result = {"hyp": " ".join(text.split()), "new_tokens": new, "context_tokens": 0}
            # Stopped by the budget, not by the end token (which a prompted output lacks).
            if end not in row and new >= self.options.max_new_tokens:
                problem = f"transcribe: cut at {self.options.max_new_tokens} tokens"
                result.update(hyp="", problems=[problem], outputs=[" ".join(text.split())])
            results.append(result)
        return results

    def decode(self, audios: list[np.ndarray], contexts: list[list[str]]) -> list[dict]:
        """Results of a batch (``hyp``, ``new_tokens``; ``problems`` and ``outputs`` for an
        output cut at the token budget), as :meth:`sap2.decode.decoder.Decoder.decode`."""
        if self.options.mode == "no_context":
            return self._generate(audios, None)
        return [self._generate([a], c)[0] for a, c in zip(audios, contexts, strict=True)]
