"""Speech-driven attention-based pooling (SAP) of a context span.

SAP compresses the embeddings of a long context (keywords, OCR text) into one vector per
window of ``window_size`` tokens, weighting each token by how much the utterance's speech
attends to it (Rong et al., 2026; ``docs/method.md`` of the project). For every head h,
with head size d:

1. scores ``S = A_h C_h^T / sqrt(d)`` between speech frames A and context tokens C;
2. for every valid speech frame, a softmax over the valid context tokens;
3. relevance ``r(j)``: the mean of those distributions over the valid frames;
4. inside each window, ``r`` normalised over the window's valid tokens;
5. the window's vector: the weighted sum of its tokens' embeddings.

``mode="mean"`` replaces the weights by a uniform average over each window's valid tokens
(the clean ablation). ``mode="authors"`` is what the authors' public layer
(``Qwen2AudioSAP2PoolingLayer``) computes: its softmax runs over the speech axis and is
then summed over that axis, so every token gets the same weight, and its ``masked_fill``
results are discarded; each window is then the sum of its tokens over the window size,
padding zeros included (an odd-length span's last window with w = 2 is half its last
token). It reproduces their numbers; ``speech`` (the paper's) is the default.
"""

import math

import torch
from torch import nn

POOLING_MODES = ("speech", "mean", "authors")


def sap_pool(
    speech: torch.Tensor,
    speech_mask: torch.Tensor,
    context: torch.Tensor,
    context_mask: torch.Tensor,
    window_size: int,
    num_heads: int,
    mode: str = "speech",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pool context embeddings window by window, weighted by speech attention.

    Args:
      speech: (B, T, D) speech features in the context's embedding space.
      speech_mask: (B, T) bool or 0/1, true for valid frames.
      context: (B, L, D) context token embeddings.
      context_mask: (B, L) bool or 0/1, true for valid tokens.
      window_size: tokens per window, >= 1.
      num_heads: heads; D must be divisible by it.
      mode: ``"speech"`` (speech-driven weights), ``"mean"`` (uniform weights over the
        valid tokens) or ``"authors"`` (1 / window_size for every position, padding too).
    Returns:
      ``(pooled, pooled_mask)``: (B, ceil(L / window_size), D) in the dtype of
      ``context``, and (B, ceil(L / window_size)) bool, true for windows with at least
      one valid token. Windows without one hold zeros. An item without valid speech
      frames falls back to uniform weights. Window 1 (no compression) returns the
      context as it is, in every mode.
    """
    if window_size < 1:
        raise ValueError(f"window_size must be >= 1, got {window_size}")
    if mode not in POOLING_MODES:
        raise ValueError(f"mode must be one of {POOLING_MODES}, got {mode!r}")
    batch, length, dim = context.shape
    if speech.dim() != 3 or speech.shape[0] != batch or speech.shape[2] != dim:
        raise ValueError(
            f"speech must be (B={batch}, T, D={dim}) like the context, got {tuple(speech.shape)}"
        )
    if speech_mask.shape != speech.shape[:2] or context_mask.shape != context.shape[:2]:
        raise ValueError(
            f"masks must be (B, T) and (B, L): got speech_mask {tuple(speech_mask.shape)} "
            f"for speech {tuple(speech.shape)}, context_mask {tuple(context_mask.shape)} "
            f"for context {tuple(context.shape)}"
        )
    if dim % num_heads:
        raise ValueError(f"embedding size {dim} is not divisible by num_heads={num_heads}")

    context_mask = context_mask.bool()
    if window_size == 1:
        return context.masked_fill(~context_mask[..., None], 0), context_mask
    speech_mask = speech_mask.bool()
    head_dim = dim // num_heads
    num_windows = math.ceil(length / window_size)
    pad = num_windows * window_size - length
    window_mask = nn.functional.pad(context_mask, (0, pad)).view(batch, num_windows, window_size)
    if mode == "authors":
        pooled = _authors_pool(speech, speech_mask, context, context_mask, window_size, num_heads)
        return pooled, window_mask.any(dim=-1)

    # (B, H, L) relevance of each context token; float32 for a stable softmax.
    valid_tokens = context_mask[:, None, :].expand(batch, num_heads, length)
    if mode == "mean" or length == 0:
        relevance = valid_tokens.float()
    else:
        relevance = _speech_relevance(speech, speech_mask, context, context_mask, num_heads)
        no_speech = ~speech_mask.any(dim=1)  # items without valid frames: uniform weights
        relevance = torch.where(no_speech[:, None, None], valid_tokens.float(), relevance)
    relevance = relevance.masked_fill(~valid_tokens, 0.0)

    # Cut into windows: (B, H, W, w); normalise inside each window. A window whose
    # relevance underflowed to 0 everywhere falls back to uniform weights.
    relevance = nn.functional.pad(relevance, (0, pad))
    relevance = relevance.view(batch, num_heads, num_windows, window_size)
    uniform = nn.functional.pad(valid_tokens.float(), (0, pad)).view_as(relevance)
    uniform = uniform / uniform.sum(dim=-1, keepdim=True).clamp_min(1.0)
    totals = relevance.sum(dim=-1, keepdim=True)
    weights = torch.where(totals > 0, relevance / totals.clamp_min(1e-30), uniform)

    # (B, L, D) -> (B, H, W, w, d); weighted sum over w -> (B, H, W, d) -> (B, W, D)
    values = nn.functional.pad(context.float(), (0, 0, 0, pad))
    values = values.view(batch, num_windows, window_size, num_heads, head_dim)
    values = values.permute(0, 3, 1, 2, 4)
    pooled = (weights.unsqueeze(-1) * values).sum(dim=3)
    pooled = pooled.permute(0, 2, 1, 3).reshape(batch, num_windows, dim).to(context.dtype)

    return pooled, window_mask.any(dim=-1)


def _authors_pool(
    speech: torch.Tensor,
    speech_mask: torch.Tensor,
    context: torch.Tensor,
    context_mask: torch.Tensor,
    window_size: int,
    num_heads: int,
) -> torch.Tensor:
    """(B, W, D): the arithmetic of the authors' ``Qwen2AudioSAP2PoolingLayer``, op for op
    in the input dtype (their no-op ``masked_fill`` calls left out). Invalid positions
    are zeroed first, as their batches hold zeros there."""
    batch, length, dim = context.shape
    head_dim = dim // num_heads
    context = context.masked_fill(~context_mask[..., None], 0.0)
    context = torch.cat([context, context.new_zeros(batch, (-length) % window_size, dim)], dim=1)
    speech = speech.masked_fill(~speech_mask[..., None], 0.0)
    queries = speech.reshape(batch, -1, num_heads, head_dim).transpose(1, 2)
    keys = context.reshape(batch, -1, num_heads, head_dim).transpose(1, 2)
    weights = torch.einsum("bnqh,bnkh->bnqk", queries, keys) / math.sqrt(head_dim)
    # Softmax over the speech frames, then summed over them: ~1 for every token.
    weights = weights.softmax(dim=-2).sum(dim=-2) / speech_mask[..., None, None].sum(dim=1)
    weights = weights.reshape(batch, num_heads, -1, window_size).softmax(dim=-1)
    weights = weights.permute(0, 2, 3, 1)[..., None].repeat(1, 1, 1, 1, head_dim)
    weights = weights.reshape(batch, -1, window_size, dim)
    return (context.reshape(batch, -1, window_size, dim) * weights).sum(dim=2)


def _speech_relevance(
    speech: torch.Tensor,
    speech_mask: torch.Tensor,
    context: torch.Tensor,
    context_mask: torch.Tensor,
    num_heads: int,
) -> torch.Tensor:
    """(B, H, L): mean over valid frames of each frame's softmax over valid tokens."""
    batch, frames, dim = speech.shape
    length = context.shape[1]
    head_dim = dim // num_heads
    # (B, T, D) -> (B, H, T, d) and (B, L, D) -> (B, H, L, d)
    queries = speech.float().view(batch, frames, num_heads, head_dim).transpose(1, 2)
    keys = context.float().view(batch, length, num_heads, head_dim).transpose(1, 2)
    scores = queries @ keys.transpose(-1, -2) / math.sqrt(head_dim)  # (B, H, T, L)
    scores = scores.masked_fill(~context_mask[:, None, None, :], float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    # Rows of items with no valid token are all -inf -> NaN; they are masked out later.
    probs = torch.nan_to_num(probs, nan=0.0)
    frame_weights = speech_mask.float()[:, None, :, None]  # (B, 1, T, 1)
    num_frames = speech_mask.sum(dim=1).clamp_min(1).float()[:, None, None]
    return (probs * frame_weights).sum(dim=2) / num_frames


class SpeechAttentionPooling(nn.Module):
    """Parameter-free :func:`sap_pool` as a module, configured once.

    Args:
      window_size: tokens per window (1 leaves the context unchanged).
      num_heads: attention heads.
      mode: ``"speech"``, ``"mean"`` or ``"authors"``.
    """

    def __init__(self, window_size: int, num_heads: int, mode: str = "speech") -> None:
        super().__init__()
        if window_size < 1:
            raise ValueError(f"window_size must be >= 1, got {window_size}")
        if mode not in POOLING_MODES:
            raise ValueError(f"mode must be one of {POOLING_MODES}, got {mode!r}")
        self.window_size = window_size
        self.num_heads = num_heads
        self.mode = mode

    def forward(
        self,
        speech: torch.Tensor,
        speech_mask: torch.Tensor,
        context: torch.Tensor,
        context_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return sap_pool(
            speech, speech_mask, context, context_mask, self.window_size, self.num_heads, self.mode
        )

    def extra_repr(self) -> str:
        return f"window_size={self.window_size}, num_heads={self.num_heads}, mode={self.mode!r}"
