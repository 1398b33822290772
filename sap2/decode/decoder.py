"""Batched decoding of cuts in the SAP² modes, written incrementally and resumable.

Modes (the long context is a cut custom field, e.g. ``context`` or ``biasing_list_100``):

- ``two_stage``: stage 1 prompts for the keywords of the long context heard in the
  speech (pruning); stage 2 transcribes with those keywords (integration);
- ``multitask``: one pass, ``Keywords: ... Transcription: ...``;
- ``full_context``: transcription with the whole long context, no pruning;
- ``no_context``: plain transcription.

Each utterance's result is appended to ``hyp.jsonl`` as soon as its batch is done, so a
rerun skips what is there; ``hyp.txt`` (Kaldi text) and ``keywords.txt`` (``uttid
KW$KW$...``, the pruned keywords) are written at the end, with ``decode_stats.json``
(real-time factor, tokens per second, context positions the LLM read per utterance).
"""

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from lhotse import CutSet
from lhotse.dataset import SimpleCutSampler
from tqdm import tqdm
from transformers import ProcessorMixin

from sap2.data.dataset import load_audio
from sap2.decode.keyword_constraint import KeywordConstraint
from sap2.decode.outputs import read_done, write_outputs
from sap2.errors import InputError
from sap2.fileio import atomic_write_text
from sap2.model.processor import SAMPLING_RATE, Example, encode_batch
from sap2.model.prompts import Task, parse_keywords, parse_multitask

logger = logging.getLogger(__name__)

MODES = ("two_stage", "multitask", "full_context", "no_context")


@dataclass
class DecodeOptions:
    """How to decode.

    Attributes:
      mode: one of :data:`MODES`.
      context_field: the cut custom field holding the long context (not for no_context).
      num_beams: 1 for greedy search.
      max_new_tokens: cap on generated tokens per pass.
      max_duration: seconds of audio per batch.
      constrain_keywords: in ``two_stage``, the pruning pass may only write words of the
        context (:class:`sap2.decode.keyword_constraint.KeywordConstraint`).
    """

    mode: str = "two_stage"
    context_field: str | None = "context"
    num_beams: int = 1
    max_new_tokens: int = 200
    max_duration: float = 100.0
    constrain_keywords: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"unknown mode {self.mode!r}; choose from {', '.join(MODES)}")
        if self.mode != "no_context" and not self.context_field:
            raise InputError(f"mode {self.mode} needs a context field (--context-field)")


class Decoder:
    """Runs generation passes over batches of utterances."""

    def __init__(self, model, processor: ProcessorMixin, options: DecodeOptions) -> None:
        self.model = model
        self.processor = processor
        self.options = options
        self.generated_tokens = 0
        self.context_tokens = 0  # positions read in place of context spans, all passes

    def generate(
        self,
        examples: list[Example],
        constraint: Callable[[int, torch.Tensor], list[int]] | None = None,
    ) -> list[str]:
        """One generation pass; the decoded texts. ``constraint``: a
        ``prefix_allowed_tokens_fn`` for ``generate``."""
        batch = encode_batch(self.processor, examples, with_targets=False).to(self.model.device)
        self.context_tokens += sum(
            self.model.context_lengths(batch["input_ids"], batch["attention_mask"])
        )
        with torch.no_grad():
            ids = self.model.generate(
                **batch, max_new_tokens=self.options.max_new_tokens,
                num_beams=self.options.num_beams, do_sample=False,
                prefix_allowed_tokens_fn=constraint,
            )  # fmt: skip
        pad = self.processor.tokenizer.pad_token_id
        self.generated_tokens += int((ids != pad).sum())
        texts = self.processor.tokenizer.batch_decode(ids, skip_special_tokens=True)
        return [" ".join(t.split()) for t in texts]  # one line of Kaldi text each

    def decode(self, audios: list[np.ndarray], contexts: list[list[str]]) -> list[dict]:
        """Results (``hyp``, and ``keywords`` where the mode predicts them) of a batch."""
        mode = self.options.mode
        if mode == "no_context":
            hyps = self.generate([Example(a, Task.TRANSCRIBE) for a in audios])
            return [{"hyp": h} for h in hyps]
        if mode == "full_context":
            examples = [
                Example(a, Task.TRANSCRIBE_CONTEXT, c)
                for a, c in zip(audios, contexts, strict=True)
            ]
            return [{"hyp": h} for h in self.generate(examples)]
        if mode == "multitask":
            outputs = self.generate(
                [Example(a, Task.MULTITASK, c) for a, c in zip(audios, contexts, strict=True)]
            )
            parsed = [parse_multitask(o) for o in outputs]
            return [{"hyp": hyp, "keywords": kws} for kws, hyp in parsed]
        constraint = None
        if self.options.constrain_keywords:
            end = self.model.generation_config.eos_token_id
            end = end if isinstance(end, list) else [end]
            constraint = KeywordConstraint(self.processor.tokenizer, contexts, end)
        outputs = self.generate(
            [Example(a, Task.PRUNE, c) for a, c in zip(audios, contexts, strict=True)],
            constraint,
        )
        pruned = [parse_keywords(o) for o in outputs]
        if constraint is not None:  # (a word cut off by max_new_tokens is dropped)
            pruned = [[k for k in p if k in c] for p, c in zip(pruned, contexts, strict=True)]
        hyps = self.generate(
            [Example(a, Task.TRANSCRIBE_CONTEXT, k) for a, k in zip(audios, pruned, strict=True)]
        )
        return [{"hyp": h, "keywords": k} for h, k in zip(hyps, pruned, strict=True)]


def decode_cuts(decoder: Decoder, cuts: CutSet, out_dir: str | Path) -> dict:
    """Decode every cut not yet in ``out_dir/hyp.jsonl``; write the outputs; return stats."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jsonl = out_dir / "hyp.jsonl"
    done = read_done(jsonl)
    # Rewrite the finished records so that a torn line from a kill does not remain.
    atomic_write_text(
        jsonl, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in done.values())
    )
    todo = cuts.filter(lambda c: c.id not in done).to_eager()
    if done:
        logger.info("%d utterances already decoded, %d to go", len(done), len(todo))
    window = decoder.processor.feature_extractor.chunk_length
    field = decoder.options.context_field if decoder.options.mode != "no_context" else None
    audio_seconds, truncated = 0.0, 0
    start = time.perf_counter()
    if len(todo):
        # Longest first: similar lengths batch together and memory peaks show up early.
        sampler = SimpleCutSampler(
            todo.sort_by_duration(ascending=False), max_duration=decoder.options.max_duration
        )
        with open(jsonl, "a", encoding="utf-8") as out, tqdm(total=len(todo), desc="decode") as bar:
            for batch in sampler:
                audios, contexts = [], []
                for cut in batch:
                    audio = load_audio(cut)
                    if len(audio) > window * SAMPLING_RATE:
                        audio, truncated = audio[: window * SAMPLING_RATE], truncated + 1
                    audios.append(audio)
                    audio_seconds += cut.duration
                    if field is not None and not cut.has_custom(field):
                        raise InputError(f"cut '{cut.id}' has no custom field '{field}'")
                    contexts.append(list(cut.custom[field]) if field else [])
                for cut, result in zip(batch, decoder.decode(audios, contexts), strict=True):
                    out.write(json.dumps({"id": cut.id, **result}, ensure_ascii=False) + "\n")
                out.flush()
                bar.update(len(batch))
    seconds = time.perf_counter() - start
    if truncated:
        logger.warning("%d utterances were cut to the %d s encoder window", truncated, window)
    stats = {
        "utterances": len(todo),
        "audio_seconds": audio_seconds,
        "decode_seconds": seconds,
        "rtf": seconds / audio_seconds if audio_seconds else None,
        "tokens_per_second": decoder.generated_tokens / seconds if seconds and len(todo) else None,
        "context_tokens": decoder.context_tokens / len(todo) if len(todo) else None,
    }
    logger.info(
        "decoded %d utterances (%.1f s of audio) in %.1f s: RTF %s, %s tokens/s",
        len(todo), audio_seconds, seconds,
        f"{stats['rtf']:.3f}" if stats["rtf"] else "-",
        f"{stats['tokens_per_second']:.1f}" if stats["tokens_per_second"] else "-",
    )  # fmt: skip
    if len(todo):  # a rerun with nothing left keeps the stats of the run that decoded
        atomic_write_text(out_dir / "decode_stats.json", json.dumps(stats, indent=2) + "\n")
    write_outputs(read_done(jsonl), out_dir)
    return stats
