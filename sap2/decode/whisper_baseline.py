"""The baseline a user would pick instead of SAP²: Whisper alone, or Whisper prompted with
the utterance's context words (transformers' ``generate(prompt_ids=...)``, the usual way
people bias Whisper).

:class:`WhisperDecoder` has the interface of :class:`sap2.decode.decoder.Decoder`, so
:func:`sap2.decode.decoder.decode_cuts` decodes cuts with it into the folder layout of
``sap2-decode`` (``hyp.jsonl``, ``hyp.txt``, ``decode_stats.json``,
``decode_options.json``): the recipes score and tabulate it like every other row. An
output cut at the token budget is marked and left empty, as ``sap2-decode`` does.
"""

import numpy as np
import torch

from sap2.decode.options import WhisperOptions
from sap2.model.processor import SAMPLING_RATE


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
