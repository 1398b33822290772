"""sap_pool: the properties that define speech-driven attention pooling."""

import math

import pytest
import torch

from sap2 import sap_pool
from sap2.model.pooling import SpeechAttentionPooling


def random_inputs(batch=2, frames=6, length=9, dim=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    speech = torch.randn(batch, frames, dim, generator=g)
    context = torch.randn(batch, length, dim, generator=g)
    return speech, torch.ones(batch, frames), context, torch.ones(batch, length)


def pooling_weights(speech, speech_mask, context_mask, window, heads=1, mode="speech"):
    """Recover the weights: with one-hot context tokens the pooled vector of a window is
    the vector of its tokens' weights. Returns (B, L) weights (one head)."""
    batch, length = context_mask.shape
    context = torch.eye(length).expand(batch, length, length) * 3.0
    pooled, mask = sap_pool(speech, speech_mask, context, context_mask, window, heads, mode)
    weights = torch.zeros(batch, length)
    for w in range(pooled.shape[1]):
        span = slice(w * window, min((w + 1) * window, length))
        weights[:, span] = pooled[:, w, span] / 3.0
    return weights, mask


def test_output_shapes_and_mask():
    speech, sm, context, cm = random_inputs(length=9)
    cm[1, 5:] = 0
    pooled, mask = sap_pool(speech, sm, context, cm, window_size=4, num_heads=2)
    assert pooled.shape == (2, 3, 8) and mask.dtype == torch.bool
    assert mask.tolist() == [[True, True, True], [True, True, False]]


@pytest.mark.parametrize("mode", ["speech", "mean", "authors"])
def test_window_one_returns_the_context(mode):
    speech, sm, context, cm = random_inputs()
    cm[1, 7:] = 0
    pooled, mask = sap_pool(speech, sm, context, cm, window_size=1, num_heads=4, mode=mode)
    assert torch.equal(pooled[0], context[0]) and torch.equal(pooled[1, :7], context[1, :7])
    assert not pooled[1, 7:].any()  # padding holds zeros, as every empty window does
    assert mask.tolist() == cm.bool().tolist()


@pytest.mark.parametrize("mode", ["speech", "mean"])
def test_weights_are_a_distribution_over_each_windows_valid_tokens(mode):
    length, window = 7, 3
    speech = torch.randn(2, 5, length)
    cm = torch.ones(2, length, dtype=torch.bool)
    cm[1, 2] = False
    cm[1, 6] = False
    weights, _ = pooling_weights(speech, torch.ones(2, 5), cm, window, mode=mode)
    assert (weights >= 0).all()
    assert (weights[~cm] == 0).all()
    for w in range(math.ceil(length / window)):
        span = slice(w * window, (w + 1) * window)
        for b in range(2):
            if cm[b, span].any():
                assert weights[b, span].sum().item() == pytest.approx(1.0, abs=1e-5)
    if mode == "mean":
        assert weights[1, 0:3].tolist() == pytest.approx([0.5, 0.5, 0.0])


def test_a_window_of_identical_tokens_pools_to_that_token():
    speech, sm, _, _ = random_inputs(batch=1, frames=4)
    token = torch.randn(8)
    context = token.expand(1, 6, 8).clone()
    pooled, _ = sap_pool(speech, sm, context, torch.ones(1, 6), window_size=3, num_heads=2)
    torch.testing.assert_close(pooled[0], token.expand(2, 8), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["speech", "mean"])
def test_masked_positions_never_change_the_output(mode):
    speech, sm, context, cm = random_inputs(frames=7, length=10)
    sm[0, 4:] = 0
    cm[0, 3] = 0
    cm[1, 6:] = 0
    ref, ref_mask = sap_pool(speech, sm, context, cm, 3, 2, mode)
    speech2, context2 = speech.clone(), context.clone()
    speech2[~sm.bool()] = 1e4 * torch.randn_like(speech2[~sm.bool()])
    context2[~cm.bool()] = -1e4 * torch.randn_like(context2[~cm.bool()])
    out, out_mask = sap_pool(speech2, sm, context2, cm, 3, 2, mode)
    torch.testing.assert_close(out, ref)
    assert torch.equal(out_mask, ref_mask)


def test_an_item_gives_the_same_result_alone_or_batched_with_longer_items():
    speech, sm, context, cm = random_inputs(batch=1, frames=4, length=5, seed=1)
    alone, alone_mask = sap_pool(speech, sm, context, cm, 2, 4)
    long_speech, _, long_context, _ = random_inputs(batch=1, frames=9, length=12, seed=2)
    speech_b = torch.cat([torch.nn.functional.pad(speech, (0, 0, 0, 5)), long_speech])
    context_b = torch.cat([torch.nn.functional.pad(context, (0, 0, 0, 7)), long_context])
    sm_b = torch.tensor([[1] * 4 + [0] * 5, [1] * 9])
    cm_b = torch.tensor([[1] * 5 + [0] * 7, [1] * 12])
    batched, batched_mask = sap_pool(speech_b, sm_b, context_b, cm_b, 2, 4)
    torch.testing.assert_close(batched[0, :3], alone[0])
    assert batched_mask[0].tolist() == [True] * 3 + [False] * 3
    assert alone_mask[0].all()


def test_speech_mode_depends_on_the_speech_and_mean_mode_does_not():
    speech, sm, context, cm = random_inputs()
    other = torch.randn_like(speech) * 3
    for mode, changes in (("speech", True), ("mean", False)):
        a, _ = sap_pool(speech, sm, context, cm, 3, 2, mode)
        b, _ = sap_pool(other, sm, context, cm, 3, 2, mode)
        assert (not torch.allclose(a, b)) == changes, mode


def test_speech_aligned_with_a_token_raises_its_weight():
    length, window = 8, 4
    speech = torch.zeros(1, 6, length)
    speech[0, :, 5] = 4.0  # every frame "says" token 5
    weights, _ = pooling_weights(speech, torch.ones(1, 6), torch.ones(1, length), window)
    assert weights[0, 5] > 1 / window
    assert weights[0, 5] == weights[0, 4:8].max()


def test_empty_context_gives_an_all_false_mask_and_finite_values():
    speech, sm, context, cm = random_inputs(length=5)
    cm[0] = 0
    pooled, mask = sap_pool(speech, sm, context, cm, 2, 2)
    assert not mask[0].any() and mask[1].all()
    assert torch.isfinite(pooled).all()
    empty, empty_mask = sap_pool(speech, sm, context[:, :0], cm[:, :0], 2, 2)
    assert empty.shape == (2, 0, 8) and empty_mask.shape == (2, 0)


def test_no_valid_speech_falls_back_to_uniform_weights():
    speech, sm, context, cm = random_inputs(batch=1)
    speech_pooled, _ = sap_pool(speech, torch.zeros_like(sm), context, cm, 3, 2)
    mean_pooled, _ = sap_pool(speech, sm, context, cm, 3, 2, "mean")
    torch.testing.assert_close(speech_pooled, mean_pooled)


def test_gradients_flow_and_stay_finite():
    speech, sm, context, cm = random_inputs()
    cm[1, 4:] = 0
    speech.requires_grad_(True)
    context.requires_grad_(True)
    pooled, mask = sap_pool(speech, sm, context, cm, 3, 4)
    (pooled[mask] ** 2).sum().backward()
    assert torch.isfinite(speech.grad).all() and speech.grad.abs().sum() > 0
    assert torch.isfinite(context.grad).all() and context.grad.abs().sum() > 0


def test_bfloat16_matches_float32():
    speech, sm, context, cm = random_inputs()
    ref, _ = sap_pool(speech, sm, context, cm, 2, 4)
    out, _ = sap_pool(speech.bfloat16(), sm, context.bfloat16(), cm, 2, 4)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), ref, rtol=0.05, atol=0.05)


def test_module_wrapper_and_bad_arguments():
    speech, sm, context, cm = random_inputs()
    module = SpeechAttentionPooling(window_size=2, num_heads=4)
    assert list(module.parameters()) == []
    torch.testing.assert_close(
        module(speech, sm, context, cm)[0], sap_pool(speech, sm, context, cm, 2, 4)[0]
    )
    with pytest.raises(ValueError, match="window_size must be >= 1"):
        sap_pool(speech, sm, context, cm, 0, 4)
    with pytest.raises(ValueError, match="not divisible"):
        sap_pool(speech, sm, context, cm, 2, 3)
    with pytest.raises(ValueError, match="mode"):
        SpeechAttentionPooling(2, 4, mode="max")


def authors_layer(audio_hidden_states, contxt_hidden_states, enc_audio_mask, enc_contxt_mask,
                  window_size, num_heads):  # fmt: skip
    """A copy of the arithmetic of ``Qwen2AudioSAP2PoolingLayer.forward`` in the authors'
    ``modeling_sap_qwen2audio.py`` (github.com/jymh/SAP2-ASR), their names kept, their
    discarded ``masked_fill`` calls included as they run."""
    bsz, contxt_len, hidden_size = contxt_hidden_states.size()
    head_dim = hidden_size // num_heads
    if contxt_len % window_size != 0:

        def padding(tensor, shape):
            return torch.cat([tensor, torch.zeros(shape, dtype=tensor.dtype)], dim=1)

        padding_length = window_size - contxt_len % window_size
        contxt_hidden_states = padding(
            contxt_hidden_states, shape=(bsz, padding_length, hidden_size)
        )
        enc_contxt_mask = padding(enc_contxt_mask, shape=(bsz, padding_length))
    audio_hidden_states = audio_hidden_states.masked_fill(~enc_audio_mask[..., None].bool(), 0.0)
    query_states = (
        audio_hidden_states.contiguous().reshape(bsz, -1, num_heads, head_dim).transpose(1, 2)
    )
    key_states = (
        contxt_hidden_states.contiguous().reshape(bsz, -1, num_heads, head_dim).transpose(1, 2)
    )
    pooling_weights = torch.einsum("bnqh,bnkh->bnqk", query_states, key_states) / math.sqrt(
        head_dim
    )
    pooling_weights.masked_fill(
        ~enc_audio_mask[:, None, :, None].bool(), torch.finfo(query_states.dtype).min
    )
    pooling_weights = pooling_weights.softmax(dim=-2)
    pooling_weights = pooling_weights.sum(dim=-2) / enc_audio_mask[..., None, None].sum(dim=1)
    pooling_weights.masked_fill(
        ~enc_contxt_mask.unsqueeze(1).bool(), torch.finfo(query_states.dtype).min
    )
    pooling_weights = pooling_weights.reshape(bsz, num_heads, -1, window_size)
    pooling_weights = pooling_weights.softmax(dim=-1)
    combined_pooling_weights = pooling_weights.permute(0, 2, 3, 1)
    combined_pooling_weights = (
        combined_pooling_weights[..., None]
        .repeat(1, 1, 1, 1, head_dim)
        .contiguous()
        .reshape(bsz, -1, window_size, hidden_size)
    )
    combined_value_states = contxt_hidden_states.reshape(bsz, -1, window_size, hidden_size)
    pooling_hidden_states = (combined_value_states * combined_pooling_weights).sum(dim=2)
    pooling_attention_mask = (
        enc_contxt_mask.reshape(bsz, -1, window_size)
        .sum(dim=2)
        .greater(0)
        .to(enc_contxt_mask.dtype)
    )
    return pooling_hidden_states, pooling_attention_mask  # fmt: skip


@pytest.mark.parametrize("window, length", [(2, 9), (2, 8), (3, 10), (4, 5), (1, 6)])
def test_authors_mode_is_bit_exact_to_the_published_layer(window, length):
    speech, sm, context, cm = random_inputs(batch=3, frames=7, length=length, dim=16, seed=window)
    sm[1, 5:] = 0
    cm[1, length - 2 :] = 0  # a shorter item of the batch: zeros there, as in their batches
    cm[2, 1:] = 0
    speech, context = speech * sm[..., None], context * cm[..., None]
    theirs, their_mask = authors_layer(speech, context, sm.bool(), cm.long(), window, 4)
    ours, our_mask = sap_pool(speech, sm, context, cm, window, 4, "authors")
    assert torch.equal(ours, theirs) and torch.equal(our_mask, their_mask.bool())
    # Not the clean mean: the padding zeros of an odd tail are averaged in.
    mean, _ = sap_pool(speech, sm, context, cm, window, 4, "mean")
    if length % window:
        tail = context[0, length - length % window :].sum(dim=0)
        torch.testing.assert_close(ours[0, -1], tail / window)
        assert not torch.allclose(ours[0, -1], mean[0, -1])
