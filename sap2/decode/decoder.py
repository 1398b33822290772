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
(real-time factor, tokens per second, context positions the LLM read per utterance);
see :mod:`sap2.decode.outputs`. Every cut is checked before the first batch: a missing
context field or audio too short for the encoder fails the run with nothing written.
"""

import dataclasses
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
from sap2.decode.outputs import (
    check_options,
    jsonl_text,
    read_done,
    record_options,
    write_outputs,
)
from sap2.errors import InputError
from sap2.fileio import atomic_write_text, ensure_folder
from sap2.model.processor import SAMPLING_RATE, Example, encode_batch, min_audio_samples
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

    def record(self) -> dict:
        """The options that change results (all but ``max_duration``, which only batches)."""
        record = dataclasses.asdict(self)
        del record["max_duration"]
        if self.mode == "no_context":
            record["context_field"] = None
        return record


class Decoder:
    """Runs generation passes over batches of utterances."""

    def __init__(self, model, processor: ProcessorMixin, options: DecodeOptions) -> None:
        self.model = model
        self.processor = processor
        self.options = options
        # Per item of the batch being decoded, over its passes: generated tokens and
        # positions read in place of context spans.
        self.new_tokens: list[int] = []
        self.context_tokens: list[int] = []

    def generate(
        self,
        examples: list[Example],
        constraint: Callable[[int, torch.Tensor], list[int]] | None = None,
    ) -> list[str]:
        """One generation pass; the decoded texts. ``constraint``: a
        ``prefix_allowed_tokens_fn`` for ``generate``."""
        batch = encode_batch(self.processor, examples, with_targets=False).to(self.model.device)
        lengths = self.model.context_lengths(batch["input_ids"], batch["attention_mask"])
        self.context_tokens = [a + b for a, b in zip(self.context_tokens, lengths, strict=True)]
        with torch.no_grad():
            ids = self.model.generate(
                **batch, max_new_tokens=self.options.max_new_tokens,
                num_beams=self.options.num_beams, do_sample=False,
                prefix_allowed_tokens_fn=constraint,
            )  # fmt: skip
        pad = self.processor.tokenizer.pad_token_id
        counts = (ids != pad).sum(dim=1).tolist()
        self.new_tokens = [a + b for a, b in zip(self.new_tokens, counts, strict=True)]
        texts = self.processor.tokenizer.batch_decode(ids, skip_special_tokens=True)
        return [" ".join(t.split()) for t in texts]  # one line of Kaldi text each

    def decode(self, audios: list[np.ndarray], contexts: list[list[str]]) -> list[dict]:
        """Results (``hyp``, and ``keywords`` where the mode predicts them) of a batch, with
        the tokens each item generated and read as context (``new_tokens``,
        ``context_tokens``)."""
        self.new_tokens = [0] * len(audios)
        self.context_tokens = [0] * len(audios)
        results = self._decode(audios, contexts)
        for result, new, context in zip(results, self.new_tokens, self.context_tokens, strict=True):
            result.update(new_tokens=new, context_tokens=context)
        return results

    def _decode(self, audios: list[np.ndarray], contexts: list[list[str]]) -> list[dict]:
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


def check_cuts(cuts: CutSet, context_field: str | None, min_seconds: float) -> None:
    """Fail before decoding (nothing written) on a cut without the context field or with
    audio too short for the encoder, naming the cut."""
    for cut in cuts:
        if context_field is not None and not cut.has_custom(context_field):
            raise InputError(f"cut '{cut.id}' has no custom field '{context_field}'")
        if cut.duration < min_seconds:
            raise InputError(
                f"cut '{cut.id}': {cut.duration * 1000:.0f} ms of audio, shorter than the "
                f"{min_seconds * 1000:.0f} ms the encoder needs; leave it out of the cuts"
            )


def decode_cuts(
    decoder: Decoder, cuts: CutSet, out_dir: str | Path, options_record: dict | None = None
) -> dict:
    """Decode every cut not yet in ``out_dir/hyp.jsonl``; write the outputs; return the
    statistics of the folder (all runs).

    ``options_record``: what produced the folder (:func:`sap2.decode.outputs.check_options`;
    default: the decoding options); a folder decoded otherwise is refused.
    """
    out_dir = Path(out_dir)
    record = options_record or decoder.options.record()
    check_options(out_dir, record)
    jsonl = out_dir / "hyp.jsonl"
    done = read_done(jsonl)
    todo = cuts.filter(lambda c: c.id not in done).to_eager()
    field = decoder.options.context_field if decoder.options.mode != "no_context" else None
    check_cuts(todo, field, min_audio_samples(decoder.processor) / SAMPLING_RATE)
    ensure_folder(out_dir)
    record_options(out_dir, record)
    if jsonl.is_file():  # rewritten so that a torn line from a kill does not remain
        atomic_write_text(jsonl, jsonl_text(list(done.values())))
    if done:
        logger.info("%d utterances already decoded, %d to go", len(done), len(todo))
    window = decoder.processor.feature_extractor.chunk_length
    truncated = []
    if len(todo):
        # Longest first: similar lengths batch together and memory peaks show up early.
        sampler = SimpleCutSampler(
            todo.sort_by_duration(ascending=False), max_duration=decoder.options.max_duration
        )
        with open(jsonl, "a", encoding="utf-8") as out, tqdm(total=len(todo), desc="decode") as bar:
            for batch in sampler:
                start = time.perf_counter()
                audios = [load_audio(cut) for cut in batch]
                for i, cut in enumerate(batch):
                    if len(audios[i]) > window * SAMPLING_RATE:
                        audios[i] = audios[i][: window * SAMPLING_RATE]
                        truncated.append(cut.id)
                contexts = [list(cut.custom[field]) if field else [] for cut in batch]
                results = decoder.decode(audios, contexts)
                seconds = time.perf_counter() - start
                audio_seconds = sum(cut.duration for cut in batch)
                for cut, result in zip(batch, results, strict=True):
                    record = {"id": cut.id, **result, "audio_seconds": cut.duration,
                              "decode_seconds": seconds * cut.duration / audio_seconds}  # fmt: skip
                    if cut.id in truncated:
                        record["audio_truncated_to"] = window
                    out.write(jsonl_text([record]))
                out.flush()
                bar.update(len(batch))
    if truncated:
        logger.warning(
            "%d utterances were cut to the %d s encoder window (marked audio_truncated_to in "
            "hyp.jsonl): %s", len(truncated), window, " ".join(truncated),
        )  # fmt: skip
    stats = write_outputs(read_done(jsonl), out_dir)
    logger.info(
        "decoded %d utterances; the folder's %d (%.1f s of audio) took %.1f s: RTF %s, "
        "%s tokens/s", len(todo), stats["utterances"], stats["audio_seconds"],
        stats["decode_seconds"],
        f"{stats['rtf']:.3f}" if stats["rtf"] else "-",
        f"{stats['tokens_per_second']:.1f}" if stats["tokens_per_second"] else "-",
    )  # fmt: skip
    return stats
