"""SAP²: Qwen2-Audio whose context span is compressed by speech-driven attention pooling.

The prompt of every utterance holds at most one context span,
``<|startofcontext|> k1 k2 ... <|endofcontext|>``. Before the language model runs, the
embeddings of the tokens inside the span are replaced by ``ceil(L / window)`` pooled
embeddings (:mod:`sap2.model.pooling`), driven by the utterance's projected audio
features, which also replace the ``<|AUDIO|>`` tokens as in Qwen2-Audio. Shorter
sequences are then packed (right padding for training, left for generation) with new
attention masks, position ids and labels.

Worked example (window 2): the prompt ``[sys] [audio x4] [prompt] <soc> a b c <eoc> [eos]``
becomes ``[sys] [A1 A2 A3 A4] [prompt] <soc> P(a,b) P(c) <eoc> [eos]``, 1 position shorter.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn
from transformers import Qwen2AudioForConditionalGeneration
from transformers.conversion_mapping import (
    get_checkpoint_conversion_mapping,
    register_checkpoint_conversion_mapping,
)
from transformers.masking_utils import create_bidirectional_mask
from transformers.models.qwen2_audio.modeling_qwen2_audio import (
    Qwen2AudioCausalLMOutputWithPast,
)

from sap2.model.configuration_sap2 import Sap2Config
from sap2.model.pooling import SpeechAttentionPooling

IGNORE_INDEX = -100


@dataclass
class PackedInputs:
    """Language-model inputs after audio insertion, context pooling and packing.

    Attributes:
      inputs_embeds: (B, S, D) embeddings.
      attention_mask: (B, S) 1 for real positions, 0 for padding.
      position_ids: (B, S) 0, 1, ... over each item's real positions.
      labels: (B, S) target ids, -100 where no loss is taken; None without labels.
      audio: the projected audio features, (N, T, D), and (N,) their valid lengths, one
        row per audio (:meth:`Sap2ForConditionalGeneration.encode_audio`); None without.
    """

    inputs_embeds: torch.Tensor
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    labels: torch.Tensor | None
    audio: tuple[torch.Tensor, torch.Tensor] | None = None


@dataclass
class _Item:
    """One unpadded batch item while it is being packed."""

    embeds: torch.Tensor  # (S, D)
    labels: torch.Tensor | None  # (S,)
    speech: torch.Tensor  # (T, D) projected audio features of the item
    span: tuple[int, int] | None  # positions of <|startofcontext|> and <|endofcontext|>


class Sap2ForConditionalGeneration(Qwen2AudioForConditionalGeneration):
    """Qwen2-Audio with SAP² context compression (see the module docstring).

    Loads published Qwen2-Audio checkpoints (``from_pretrained`` with a
    :class:`~sap2.model.configuration_sap2.Sap2Config`) and saves in the same layout.
    """

    config_class = Sap2Config
    config: Sap2Config
    # Shared only when the config sets tie_word_embeddings (small models; not the 7B).
    _tied_weights_keys = {"lm_head.weight": "model.language_model.embed_tokens.weight"}

    def __init__(self, config: Sap2Config) -> None:
        super().__init__(config)
        config.check_sap_settings()
        self.context_pooling = SpeechAttentionPooling(
            config.sap_window_size, config.sap_num_heads, config.sap_mode
        )

    # ------------------------------------------------------------------ audio
    def encode_audio(
        self, input_features: torch.Tensor, feature_attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the audio encoder and the projector.

        Args:
          input_features: (N, mel bins, 3000) log-mel features, one row per audio.
          feature_attention_mask: (N, 3000), 1 over each audio's real frames.
        Returns:
          (N, 750, D) features in the LLM's embedding space and (N,) the number of
          valid positions of each audio.
        """
        tower = self.model.audio_tower
        window = tower.config.max_source_positions * tower.conv1.stride[0] * tower.conv2.stride[0]
        if input_features.shape[-1] != window:
            raise ValueError(
                f"input_features have {input_features.shape[-1]} mel frames per audio; the "
                f"encoder window is {window} frames (30 s): pad or cut audio with the processor"
            )
        feature_attention_mask = feature_attention_mask.to(tower.device)
        conv_lengths, output_lengths = tower._get_feat_extract_output_lengths(
            feature_attention_mask.sum(-1)
        )
        positions = (window - 2) // 2 + 1
        frame_mask = torch.arange(positions, device=tower.device)[None, :] < conv_lengths[:, None]
        attention_mask = create_bidirectional_mask(
            config=tower.config,
            inputs_embeds=torch.zeros(
                len(frame_mask), positions, 1, dtype=tower.dtype, device=tower.device
            ),
            attention_mask=frame_mask.long(),
        )
        hidden = tower(input_features.to(tower.device), attention_mask=attention_mask)
        return self.model.multi_modal_projector(hidden.last_hidden_state), output_lengths

    # ---------------------------------------------------------------- packing
    def pack_inputs(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        input_features: torch.Tensor | None = None,
        feature_attention_mask: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        padding_side: str = "right",
    ) -> PackedInputs:
        """Insert audio, pool each context span and pack the batch.

        Args:
          input_ids: (B, S) token ids from the processor (audio tokens expanded).
          attention_mask: (B, S) 1 for real tokens (any padding side).
          input_features, feature_attention_mask: the processor's audio inputs, one row
            per ``<|AUDIO|>`` run, in batch order.
          labels: (B, S) targets aligned with ``input_ids``; the result has -100 over
            audio and context positions as well.
          padding_side: ``"right"`` (training) or ``"left"`` (generation).
        Raises:
          ValueError: a malformed context span or audio that does not match the audio
            tokens, naming the batch item.
        """
        if padding_side not in ("left", "right"):
            raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        embeddings = self.get_input_embeddings()(input_ids)  # (B, S, D)
        audio = None
        if input_features is not None:
            audio = self.encode_audio(input_features, feature_attention_mask)
        items = self._split_items(input_ids, attention_mask, embeddings, labels, audio)
        pooled, pooled_lengths = self._pool_contexts(items)
        rows = []
        for b, item in enumerate(items):
            if item.span is None:
                rows.append((item.embeds, item.labels))
                continue
            start, end = item.span
            n = pooled_lengths[b]
            embeds = torch.cat([item.embeds[: start + 1], pooled[b, :n], item.embeds[end:]])
            row_labels = None
            if item.labels is not None:
                ignore = item.labels.new_full((n,), IGNORE_INDEX)
                row_labels = torch.cat([item.labels[: start + 1], ignore, item.labels[end:]])
                row_labels[start] = IGNORE_INDEX
                row_labels[start + n + 1] = IGNORE_INDEX
            rows.append((embeds, row_labels))
        packed = _pad_rows(rows, padding_side, with_labels=labels is not None)
        packed.audio = audio
        return packed

    def _split_items(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        embeddings: torch.Tensor,
        labels: torch.Tensor | None,
        audio: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> list[_Item]:
        """Unpad each item, put its audio features at its audio tokens, find its span."""
        audio_id = self.config.audio_token_id
        num_audios = 0 if audio is None else len(audio[1])
        next_audio = 0
        items = []
        for b in range(input_ids.shape[0]):
            keep = attention_mask[b].bool()
            ids = input_ids[b][keep]
            embeds = embeddings[b][keep]
            is_audio = ids == audio_id
            wanted = int(is_audio.sum())
            pieces, got = [], 0
            while got < wanted and next_audio < num_audios:
                length = int(audio[1][next_audio])
                pieces.append(audio[0][next_audio, :length])
                got += length
                next_audio += 1
            if got != wanted:
                raise ValueError(
                    f"batch item {b}: {wanted} audio tokens, but the audio inputs left for it "
                    f"give {got} frames ({num_audios} audios in the batch)"
                )
            speech = torch.cat(pieces) if pieces else embeds.new_zeros(0, embeds.shape[-1])
            if wanted:
                embeds = embeds.masked_scatter(is_audio[:, None], speech.to(embeds.dtype))
            item_labels = None
            if labels is not None:
                item_labels = labels[b][keep].masked_fill(is_audio, IGNORE_INDEX)
            items.append(_Item(embeds, item_labels, speech, self._find_span(ids, b)))
        if next_audio != num_audios:
            raise ValueError(
                f"{num_audios} audios in input_features, but the batch's audio tokens use only "
                f"{next_audio}"
            )
        return items

    def _find_span(self, ids: torch.Tensor, item: int) -> tuple[int, int] | None:
        """Positions of the item's context markers, or None without a span."""
        start_id = self.config.context_start_token_id
        end_id = self.config.context_end_token_id
        if start_id is None or end_id is None:
            return None
        starts = (ids == start_id).nonzero().flatten().tolist()
        ends = (ids == end_id).nonzero().flatten().tolist()
        if not starts and not ends:
            return None
        if len(starts) > 1 or len(ends) > 1:
            raise ValueError(
                f"batch item {item}: {len(starts)} <|startofcontext|> and {len(ends)} "
                "<|endofcontext|> tokens; at most one context span per item"
            )
        if not ends:
            raise ValueError(f"batch item {item}: <|startofcontext|> without <|endofcontext|>")
        if not starts:
            raise ValueError(f"batch item {item}: <|endofcontext|> without <|startofcontext|>")
        if ends[0] < starts[0]:
            raise ValueError(f"batch item {item}: <|endofcontext|> before <|startofcontext|>")
        return starts[0], ends[0]

    def context_lengths(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> list[int]:
        """Per item, how many positions the language model reads in place of the context
        span: its tokens, or ``ceil(tokens / window)`` with SAP pooling (0 without a span)."""
        lengths = []
        for b in range(input_ids.shape[0]):
            span = self._find_span(input_ids[b][attention_mask[b].bool()], b)
            tokens = 0 if span is None else span[1] - span[0] - 1
            lengths.append(math.ceil(tokens / self.context_pooling.window_size))
        return lengths

    def _pool_contexts(self, items: list[_Item]) -> tuple[torch.Tensor, list[int]]:
        """Pool the spans of all items in one call: (B, W, D) and each item's W."""
        contexts = [
            item.embeds[item.span[0] + 1 : item.span[1]]
            if item.span is not None
            else item.embeds[:0]
            for item in items
        ]
        window = self.context_pooling.window_size
        speech = _pad_sequences([item.speech.to(item.embeds.dtype) for item in items])
        context = _pad_sequences(contexts)
        pooled, _ = self.context_pooling(
            speech,
            _length_mask([len(item.speech) for item in items], speech.shape[1], speech.device),
            context,
            _length_mask([len(c) for c in contexts], context.shape[1], context.device),
        )
        return pooled, [math.ceil(len(c) / window) for c in contexts]

    # ------------------------------------------------------------ forward
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        input_features: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        feature_attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        num_items_in_batch: int | torch.Tensor | None = None,
        ctc_labels: torch.LongTensor | None = None,
        logits_to_keep: int = 0,
        **kwargs,
    ) -> Qwen2AudioCausalLMOutputWithPast:
        """Run the model. With ``input_features``, the batch is packed first
        (:meth:`pack_inputs`, right padding) and ``attention_mask`` and ``position_ids``
        of the packed sequence are used; otherwise ``input_ids`` (or ``inputs_embeds``)
        go to the language model as they are (decoding steps).

        The loss is the mean cross-entropy of next-token prediction over the positions
        whose label is not -100 (the sum divided by ``num_items_in_batch`` when the
        Trainer passes it, for exact gradient accumulation). With ``config.ctc_weight``
        > 0 and ``ctc_labels`` ((B, L) transcript token ids, -100 padded, one audio per
        item), it is mixed with the CTC loss of the audio features (:func:`audio_ctc_loss`).
        ``logits_to_keep`` > 0: logits of the last positions only (generation sets 1, so
        that a prompt's prefill does not project every position onto the vocabulary).
        """
        audio = None
        if inputs_embeds is None and input_features is not None:
            packed = self.pack_inputs(
                input_ids, attention_mask, input_features, feature_attention_mask, labels
            )
            inputs_embeds, attention_mask = packed.inputs_embeds, packed.attention_mask
            position_ids, labels, audio = packed.position_ids, packed.labels, packed.audio
        elif inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)
        outputs = self.model.language_model(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            position_ids=position_ids,
            **kwargs,
        )
        hidden = outputs.last_hidden_state
        logits = self.lm_head(hidden[:, -logits_to_keep:] if logits_to_keep else hidden)
        loss = None
        if labels is not None:
            loss = causal_lm_loss(logits, labels, num_items_in_batch)
        weight = self.config.ctc_weight
        if loss is not None and weight > 0 and ctc_labels is not None and audio is not None:
            ctc = audio_ctc_loss(
                self.lm_head(audio[0]), audio[1], ctc_labels, self.config.ctc_blank_token_id
            )
            loss = (1 - weight) * loss + weight * ctc
        extra = {k: v for k, v in outputs.items() if k != "last_hidden_state"}
        return Qwen2AudioCausalLMOutputWithPast(
            loss=loss, logits=logits, attention_mask=attention_mask, **extra
        )

    def generate(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        input_features: torch.Tensor | None = None,
        feature_attention_mask: torch.Tensor | None = None,
        **generate_kwargs,
    ) -> torch.LongTensor:
        """Generate with the KV cache: the audio is encoded and the packed prompt built
        once (left padding); decoding then feeds one token per step. Returns only the
        new tokens, (B, N). Any ``GenerationMixin.generate`` option applies (greedy,
        ``num_beams``, ``max_new_tokens``, ...); the cache is always on, since the
        prompt exists only as embeddings."""
        if input_features is None:
            return super().generate(
                input_ids=input_ids, attention_mask=attention_mask, **generate_kwargs
            )
        with torch.no_grad():
            packed = self.pack_inputs(
                input_ids, attention_mask, input_features, feature_attention_mask,
                padding_side="left",
            )  # fmt: skip
        return super().generate(
            inputs_embeds=packed.inputs_embeds,
            attention_mask=packed.attention_mask,
            **generate_kwargs,
        )


def causal_lm_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """Next-token cross-entropy: position t predicts ``labels[t + 1]``; -100 is ignored.

    Args:
      logits: (B, S, V).
      labels: (B, S).
      num_items_in_batch: divide the summed loss by this instead of taking the mean.
    """
    shift_logits = logits[:, :-1].reshape(-1, logits.shape[-1]).float()
    shift_labels = labels[:, 1:].reshape(-1).to(logits.device)
    if num_items_in_batch is None:
        return nn.functional.cross_entropy(shift_logits, shift_labels, ignore_index=IGNORE_INDEX)
    total = nn.functional.cross_entropy(
        shift_logits, shift_labels, ignore_index=IGNORE_INDEX, reduction="sum"
    )
    return total / num_items_in_batch


def audio_ctc_loss(
    logits: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor, blank_id: int
) -> torch.Tensor:
    """CTC loss of the audio features' token logits against the transcripts, averaged
    over the target tokens of each utterance, then over the batch (torch's ``"mean"``);
    alignments that cannot exist (more tokens than frames) count 0.

    Args:
      logits: (N, T, V), one row per audio (here: per batch item).
      lengths: (N,) valid frames of each row.
      targets: (N, L) token ids, -100 after each transcript's end.
      blank_id: the blank token (never in ``targets``).
    Raises:
      ValueError: ``logits`` and ``targets`` have different numbers of rows.
    """
    if logits.shape[0] != targets.shape[0]:
        raise ValueError(
            f"CTC needs one audio per batch item: {logits.shape[0]} audios, "
            f"{targets.shape[0]} transcripts"
        )
    targets = targets.to(logits.device)
    valid = targets != IGNORE_INDEX
    log_probs = nn.functional.log_softmax(logits.float(), dim=-1).transpose(0, 1)  # (T, N, V)
    return nn.functional.ctc_loss(
        log_probs, targets.masked_fill(~valid, blank_id), lengths.to(logits.device),
        valid.sum(-1), blank=blank_id, reduction="mean", zero_infinity=True,
    )  # fmt: skip


def _length_mask(lengths: list[int], width: int, device: torch.device) -> torch.Tensor:
    """(B, width) bool, true for the first ``lengths[b]`` positions."""
    return (
        torch.arange(width, device=device)[None, :] < torch.tensor(lengths, device=device)[:, None]
    )


def _pad_sequences(rows: list[torch.Tensor]) -> torch.Tensor:
    """Right-pad (L_b, D) tensors with zeros into (B, max L_b, D)."""
    return nn.utils.rnn.pad_sequence(rows, batch_first=True)


def _pad_rows(
    rows: list[tuple[torch.Tensor, torch.Tensor | None]], padding_side: str, with_labels: bool
) -> PackedInputs:
    """Pad (embeds, labels) rows into :class:`PackedInputs`."""
    length = max(len(embeds) for embeds, _ in rows)
    first = rows[0][0]
    batch = len(rows)
    inputs_embeds = first.new_zeros(batch, length, first.shape[-1])
    attention_mask = torch.zeros(batch, length, dtype=torch.long, device=first.device)
    position_ids = torch.zeros(batch, length, dtype=torch.long, device=first.device)
    labels = None
    if with_labels:
        labels = torch.full((batch, length), IGNORE_INDEX, dtype=torch.long, device=first.device)
    for b, (embeds, row_labels) in enumerate(rows):
        n = len(embeds)
        span = slice(0, n) if padding_side == "right" else slice(length - n, length)
        inputs_embeds[b, span] = embeds
        attention_mask[b, span] = 1
        position_ids[b, span] = torch.arange(n, device=first.device)
        if labels is not None:
            labels[b, span] = row_labels
    return PackedInputs(inputs_embeds, attention_mask, position_ids, labels)


# Published Qwen2-Audio checkpoints use the transformers 4.x key layout; load and save
# SAP² models through the same key renaming as Qwen2AudioForConditionalGeneration.
register_checkpoint_conversion_mapping(
    Sap2ForConditionalGeneration.__name__,
    get_checkpoint_conversion_mapping("qwen2_audio"),
    overwrite=True,
)
