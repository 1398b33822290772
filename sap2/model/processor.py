"""The Qwen2-Audio processor with SAP²'s context tokens, and batch encoding of examples."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoProcessor, BatchFeature, PreTrainedModel, ProcessorMixin

from sap2.model.configuration_sap2 import CONTEXT_END_TOKEN, CONTEXT_START_TOKEN
from sap2.model.prompts import PromptTexts, Task, target_text

logger = logging.getLogger(__name__)

SAMPLING_RATE = 16000
IGNORE_INDEX = -100


def load_processor(model_dir: str | Path) -> ProcessorMixin:
    """Load a Qwen2-Audio processor from a local folder and add the context tokens."""
    processor = AutoProcessor.from_pretrained(model_dir, local_files_only=True)
    add_context_tokens(processor)
    return processor


def add_context_tokens(
    processor: ProcessorMixin, model: PreTrainedModel | None = None
) -> tuple[int, int]:
    """Add ``<|startofcontext|>`` and ``<|endofcontext|>`` to the tokenizer (once).

    With ``model``, grow its input embeddings and LM head when the vocabulary outgrows
    them (new rows are the mean of the old ones, so loading is deterministic; the
    published Qwen2-Audio matrices already have spare rows) and record the ids in
    ``model.config``.

    Returns:
      the ids of the start and end tokens.
    """
    tokenizer = processor.tokenizer
    new = [t for t in (CONTEXT_START_TOKEN, CONTEXT_END_TOKEN) if t not in tokenizer.get_vocab()]
    if new:
        tokenizer.add_special_tokens({"additional_special_tokens": new})
    start, end = tokenizer.convert_tokens_to_ids([CONTEXT_START_TOKEN, CONTEXT_END_TOKEN])
    if model is not None:
        old_size = model.get_input_embeddings().num_embeddings
        if old_size < len(tokenizer):
            model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
            with torch.no_grad():
                for matrix in (model.get_input_embeddings(), model.get_output_embeddings()):
                    matrix.weight[old_size:] = matrix.weight[:old_size].mean(dim=0)
        model.config.context_start_token_id = start
        model.config.context_end_token_id = end
    return start, end


@dataclass
class Example:
    """One utterance as the model sees it.

    Attributes:
      audio: 16 kHz mono waveform.
      task: what to produce (:class:`~sap2.model.prompts.Task`).
      context: words or phrases placed in the context span.
      transcript: the reference (training only).
      keywords: the keywords of ``context`` heard in the speech (training targets of the
        pruning and multitask tasks).
    """

    audio: np.ndarray
    task: Task = Task.TRANSCRIBE
    context: Sequence[str] = ()
    transcript: str = ""
    keywords: Sequence[str] = ()


def min_audio_samples(processor: ProcessorMixin) -> int:
    """The fewest samples that give the language model one audio token: three feature
    frames (one per ``hop_length`` samples begun), which Qwen2-Audio's encoder halves and
    its pooling halves again."""
    return 2 * processor.feature_extractor.hop_length + 1


def encode_batch(
    processor: ProcessorMixin,
    examples: Sequence[Example],
    with_targets: bool,
    prompts: PromptTexts | None = None,
    with_ctc_labels: bool = False,
) -> BatchFeature:
    """Turn examples into model inputs (a ``BatchFeature``: a dict with ``.to(device)``).

    With ``with_targets`` the assistant target and ``<|im_end|>`` follow each prompt and
    ``labels`` are returned (-100 over the prompt); sequences are right-padded. Without,
    the prompts end with the assistant turn's header, ready for generation.

    Returns:
      ``input_ids``, ``attention_mask`` (B, S); ``input_features`` (B, 128, 3000);
      ``feature_attention_mask`` (B, 3000); ``labels`` (B, S) with targets; and with
      ``with_ctc_labels`` and targets, ``ctc_labels`` (B, L): the token ids of each
      transcript, -100 padded (the targets of the model's auxiliary CTC loss).
    Raises:
      ValueError: an utterance is longer than the encoder window (the feature
        extractor's ``chunk_length``, 30 s for Qwen2-Audio) or shorter than
        :func:`min_audio_samples`, naming its index.
    """
    prompts = prompts or PromptTexts()
    window = processor.feature_extractor.chunk_length
    for i, example in enumerate(examples):
        seconds = len(example.audio) / SAMPLING_RATE
        if seconds > window:
            raise ValueError(
                f"batch item {i}: {seconds:.1f} s of audio, more than the encoder window of "
                f"{window} s"
            )
        if len(example.audio) < min_audio_samples(processor):
            raise ValueError(
                f"batch item {i}: {len(example.audio)} samples of audio, fewer than the "
                f"{min_audio_samples(processor)} the encoder needs"
            )
    texts = [
        processor.apply_chat_template(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "audio", "audio_url": "utterance"},
                        {"type": "text", "text": prompts.user_prompt(ex.task, ex.context)},
                    ],
                }
            ],
            add_generation_prompt=True,
            tokenize=False,
        )
        for ex in examples
    ]
    batch = processor(
        text=texts,
        audio=[np.asarray(ex.audio, dtype=np.float32) for ex in examples],
        sampling_rate=SAMPLING_RATE,
        return_tensors="pt",
        padding=True,
    )
    if not with_targets:
        return BatchFeature(dict(batch))

    prompt_ids = [
        batch["input_ids"][i][batch["attention_mask"][i].bool()].tolist()
        for i in range(len(examples))
    ]
    targets = [target_text(ex.task, ex.transcript, ex.keywords) for ex in examples]
    encoded = {
        **append_targets(processor.tokenizer, prompt_ids, targets),
        "input_features": batch["input_features"],
        "feature_attention_mask": batch["feature_attention_mask"],
    }
    if with_ctc_labels:
        encoded["ctc_labels"] = transcript_ids(processor.tokenizer, examples)
    return BatchFeature(encoded)


def transcript_ids(tokenizer, examples: Sequence[Example]) -> torch.Tensor:
    """(B, L) the token ids of each example's transcript, right-padded with -100."""
    ids = [tokenizer(ex.transcript, add_special_tokens=False)["input_ids"] for ex in examples]
    length = max(1, max(len(row) for row in ids))
    return torch.tensor([row + [IGNORE_INDEX] * (length - len(row)) for row in ids])


def append_targets(
    tokenizer, prompt_ids: Sequence[list[int]], targets: Sequence[str]
) -> dict[str, torch.Tensor]:
    """Each prompt's token ids followed by its target's and ``<|im_end|>``, right-padded:
    ``input_ids``, ``attention_mask`` and ``labels`` (-100 over prompts and padding)."""
    end_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    sequences, labels = [], []
    for prompt, text in zip(prompt_ids, targets, strict=True):
        target = tokenizer(text, add_special_tokens=False)["input_ids"] + [end_id]
        sequences.append(prompt + target)
        labels.append([IGNORE_INDEX] * len(prompt) + target)
    length = max(len(s) for s in sequences)
    pad_id = tokenizer.pad_token_id
    return {
        "input_ids": torch.tensor([s + [pad_id] * (length - len(s)) for s in sequences]),
        "attention_mask": torch.tensor([[1] * len(s) + [0] * (length - len(s)) for s in sequences]),
        "labels": torch.tensor([lab + [IGNORE_INDEX] * (length - len(lab)) for lab in labels]),
    }
