"""Batched decoding of cuts in the SAP² modes, written incrementally and resumable.

Modes (the long context is a cut custom field, e.g. ``context`` or ``biasing_list_100``):

- ``two_stage``: stage 1 prompts for the keywords of the long context heard in the
  speech (pruning); stage 2 transcribes with those keywords (integration);
- ``multitask``: one pass, ``Selected keywords are: ... Transcription: ...``;
- ``full_context``: transcription with the whole long context, no pruning;
- ``no_context``: plain transcription.

Each utterance's result is appended to ``hyp.jsonl`` as soon as its batch is done, so a
rerun skips what is there; ``hyp.txt`` (Kaldi text) and ``keywords.txt`` (``uttid
KW$KW$...``, the pruned keywords) are written at the end, with ``decode_stats.json``
(real-time factor, tokens per second, context positions the LLM read per utterance);
see :mod:`sap2.decode.outputs`. Every cut is checked before the first batch: a missing
context field or audio too short for the encoder fails the run with nothing written.
"""

import logging
import math
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
from sap2.decode.options import DecodeOptions
from sap2.decode.outputs import (
    check_options,
    jsonl_text,
    read_done,
    record_options,
    write_context,
    write_outputs,
)
from sap2.errors import InputError
from sap2.fileio import atomic_write_text, ensure_folder
from sap2.memory import peak_memory_gb
from sap2.model.processor import SAMPLING_RATE, Example, encode_batch, min_audio_samples
from sap2.model.prompts import ParsedOutput, Task, parse_output

logger = logging.getLogger(__name__)

#: Tokens a transcription may need per second of speech (fast speech is ~4 words/s,
#: ~1.5 tokens a word), and a margin for the end token and the multitask answer's
#: ``Selected keywords are:`` and ``Transcription:``.
TOKENS_PER_SECOND = 8
TOKEN_MARGIN = 24


@dataclass
class PassOutput:
    """One generated text, and whether it stopped at the pass's token ``budget`` (``cut``)
    rather than at an end token."""

    text: str
    cut: bool
    budget: int


class Decoder:
    """Runs generation passes over batches of utterances."""

    def __init__(self, model, processor: ProcessorMixin, options: DecodeOptions) -> None:
        self.model = model
        self.processor = processor
        self.options = options
        tokenizer = processor.tokenizer
        ends = [tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")]
        self.end_ids = [i for i in ends if i is not None and i != tokenizer.unk_token_id]
        # Per item of the batch being decoded, over its passes: generated tokens and
        # positions read in place of context spans.
        self.new_tokens: list[int] = []
        self.context_tokens: list[int] = []

    def budget(self, examples: list[Example]) -> int:
        """``max_new_tokens`` of a pass: the option, else enough for the longest audio's
        transcript (:data:`TOKENS_PER_SECOND`) plus, where the answer lists keywords, all
        of the context's tokens and a separator after each word."""
        if self.options.max_new_tokens is not None:
            return self.options.max_new_tokens
        need = 0
        for ex in examples:
            speech = math.ceil(TOKENS_PER_SECOND * len(ex.audio) / SAMPLING_RATE)
            keywords = 0
            if ex.task in (Task.PRUNE, Task.MULTITASK):
                context = self.processor.tokenizer(" ".join(ex.context), add_special_tokens=False)
                keywords = len(context["input_ids"]) + len(ex.context)
            need = max(need, keywords + (speech if ex.task is not Task.PRUNE else 0))
        return need + TOKEN_MARGIN

    def generate(
        self,
        examples: list[Example],
        constraint: Callable[[int, torch.Tensor], list[int]] | None = None,
    ) -> list[PassOutput]:
        """One generation pass (``constraint``: a ``prefix_allowed_tokens_fn``): the texts,
        each marked when it ran out of tokens before an end token."""
        batch = encode_batch(self.processor, examples, with_targets=False).to(self.model.device)
        lengths = self.model.context_lengths(batch["input_ids"], batch["attention_mask"])
        self.context_tokens = [a + b for a, b in zip(self.context_tokens, lengths, strict=True)]
        budget = self.budget(examples)
        with torch.no_grad():
            ids = self.model.generate(
                **batch, max_new_tokens=budget, num_beams=self.options.num_beams,
                do_sample=False, repetition_penalty=self.options.repetition_penalty,
                eos_token_id=self.end_ids, pad_token_id=self.processor.tokenizer.pad_token_id,
                prefix_allowed_tokens_fn=constraint,
            )  # fmt: skip
        pad = self.processor.tokenizer.pad_token_id
        counts = (ids != pad).sum(dim=1).tolist()
        self.new_tokens = [a + b for a, b in zip(self.new_tokens, counts, strict=True)]
        ended = torch.isin(ids, torch.tensor(self.end_ids, device=ids.device)).any(dim=1)
        texts = self.processor.tokenizer.batch_decode(ids, skip_special_tokens=True)
        return [
            PassOutput(" ".join(t.split()), not e and ids.shape[1] >= budget, budget)
            for t, e in zip(texts, ended.tolist(), strict=True)
        ]  # one line of Kaldi text each

    def decode(self, audios: list[np.ndarray], contexts: list[list[str]]) -> list[dict]:
        """Results of a batch: ``hyp``, ``keywords`` where the mode predicts them,
        ``problems`` where an output was cut at the token budget or had the shape of
        another task's (its raw text in ``outputs``; a transcript with a problem is left
        empty, never scored as words), and the tokens each item generated and read as
        context (``new_tokens``, ``context_tokens``)."""
        self.new_tokens = [0] * len(audios)
        self.context_tokens = [0] * len(audios)
        results = self._decode(audios, contexts)
        for result, new, context in zip(results, self.new_tokens, self.context_tokens, strict=True):
            result.update(new_tokens=new, context_tokens=context)
        return results

    def _pass(self, examples: list[Example], results: list[dict], constraint=None) -> list:
        """Generate for ``examples`` and parse each output for its task, noting problems
        in ``results``; the :class:`~sap2.model.prompts.ParsedOutput` of each."""
        parsed = []
        for ex, out, result in zip(examples, self.generate(examples, constraint), results,
                                   strict=True):  # fmt: skip
            reading = parse_output(ex.task, out.text)
            problem = reading.problem
            if out.cut:
                problem = f"cut at {out.budget} tokens"
                if ex.task is not Task.PRUNE:  # a cut transcript is not scored as one
                    reading = ParsedOutput(keywords=reading.keywords, problem=problem)
            if problem is not None:
                result.setdefault("problems", []).append(f"{ex.task.value}: {problem}")
                result.setdefault("outputs", []).append(out.text)
            parsed.append(reading)
        return parsed

    def _decode(self, audios: list[np.ndarray], contexts: list[list[str]]) -> list[dict]:
        mode = self.options.mode
        results: list[dict] = [{} for _ in audios]
        pairs = list(zip(audios, contexts, strict=True))
        if mode in ("no_context", "full_context"):
            task = Task.TRANSCRIBE if mode == "no_context" else Task.TRANSCRIBE_CONTEXT
            parsed = self._pass([Example(a, task, c) for a, c in pairs], results)
            return [{"hyp": p.transcript, **r} for p, r in zip(parsed, results, strict=True)]
        if mode == "multitask":
            parsed = self._pass([Example(a, Task.MULTITASK, c) for a, c in pairs], results)
            return [
                {"hyp": p.transcript, "keywords": list(p.keywords), **r}
                for p, r in zip(parsed, results, strict=True)
            ]
        constraint = None
        if self.options.constrain_keywords:
            constraint = KeywordConstraint(self.processor.tokenizer, contexts, self.end_ids)
        prune = self._pass([Example(a, Task.PRUNE, c) for a, c in pairs], results, constraint)
        pruned = [list(p.keywords) for p in prune]
        if constraint is not None:  # (a word cut off by max_new_tokens is dropped)
            pruned = [[k for k in p if k in c] for p, c in zip(pruned, contexts, strict=True)]
        plain = self.options.empty_keywords == "plain"
        second = [
            Example(a, Task.TRANSCRIBE)
            if plain and not k
            else Example(a, Task.TRANSCRIBE_CONTEXT, k)
            for a, k in zip(audios, pruned, strict=True)
        ]
        parsed = self._pass(second, results)
        return [
            {"hyp": p.transcript, "keywords": k, **r}
            for p, k, r in zip(parsed, pruned, results, strict=True)
        ]


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
    decoder: Decoder,
    cuts: CutSet,
    out_dir: str | Path,
    options_record: dict | None = None,
    provenance: dict | None = None,
) -> dict:
    """Decode every cut not yet in ``out_dir/hyp.jsonl``; write the outputs; return the
    statistics of the folder (all runs). ``decoder``: a :class:`Decoder`, or one with its
    interface (``options``, ``processor``, ``decode``) such as
    :class:`sap2.decode.whisper_baseline.WhisperDecoder`.

    ``options_record``: what produced the folder (:func:`sap2.decode.outputs.check_options`;
    default: the decoding options); a folder decoded otherwise is refused. ``provenance``
    (:func:`sap2.decode.outputs.decode_provenance`) goes into ``decode_stats.json``.
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
                              "decode_seconds": seconds * cut.duration / audio_seconds,
                              "peak_memory_gb": peak_memory_gb()}  # fmt: skip
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
    if field is not None:
        write_context(out_dir, {cut.id: cut.custom[field] for cut in cuts})
    extra = {"provenance": provenance} if provenance else {}
    stats = write_outputs(read_done(jsonl), out_dir, **extra)
    logger.info(
        "decoded %d utterances; the folder's %d (%.1f s of audio) took %.1f s: RTF %s, "
        "%s tokens/s", len(todo), stats["utterances"], stats["audio_seconds"],
        stats["decode_seconds"],
        f"{stats['rtf']:.3f}" if stats["rtf"] else "-",
        f"{stats['tokens_per_second']:.1f}" if stats["tokens_per_second"] else "-",
    )  # fmt: skip
    return stats
