"""The SAP² model on a tiny random Qwen2-Audio: loading, packing, loss, generation."""

import math

import numpy as np
import pytest
import torch
from conftest import load_script
from transformers import Qwen2AudioForConditionalGeneration

from sap2 import sap_pool
from sap2.errors import InputError
from sap2.model.configuration_sap2 import Sap2Config
from sap2.model.loading import load_sap2_model
from sap2.model.modeling_sap2 import IGNORE_INDEX, audio_ctc_loss
from sap2.model.processor import Example, encode_batch, min_audio_samples
from sap2.model.prompts import Task


def waveform(seconds: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(16000 * seconds)) * 0.1).astype(
        np.float32
    )


EXAMPLES = [
    Example(waveform(1.0, 0), Task.TRANSCRIBE_CONTEXT, ["quick", "fox", "lazy"], "the quick fox"),
    Example(
        waveform(2.5, 1), Task.PRUNE, "speech dog brown over keywords slides".split(), "", ["dog"]
    ),
    Example(waveform(0.6, 2), Task.TRANSCRIBE, (), "the dog"),
]


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    model, processor = load_sap2_model(tiny_model_dir, sap_window_size=2, sap_num_heads=4)
    return model.eval(), processor


def context_length(processor, batch, item):
    """Tokens strictly inside the context span of a batch item."""
    tok = processor.tokenizer
    ids = batch["input_ids"][item].tolist()
    start = ids.index(tok.convert_tokens_to_ids("<|startofcontext|>"))
    return ids.index(tok.convert_tokens_to_ids("<|endofcontext|>")) - start - 1


def test_loads_the_published_layout_and_adds_context_tokens(tiny_model_dir, loaded):
    model, processor = loaded
    plain = Qwen2AudioForConditionalGeneration.from_pretrained(tiny_model_dir)
    vocab = plain.get_input_embeddings().num_embeddings
    assert torch.equal(model.lm_head.weight[:vocab], plain.lm_head.weight)
    assert torch.equal(
        model.model.audio_tower.layers[0].self_attn.q_proj.weight,
        plain.model.audio_tower.layers[0].self_attn.q_proj.weight,
    )
    assert model.get_input_embeddings().num_embeddings == vocab + 2 == len(processor.tokenizer)
    start, end = processor.tokenizer.convert_tokens_to_ids(
        ["<|startofcontext|>", "<|endofcontext|>"]
    )
    assert (model.config.context_start_token_id, model.config.context_end_token_id) == (start, end)
    new_rows = model.get_input_embeddings().weight[vocab:]
    torch.testing.assert_close(new_rows[0], plain.get_input_embeddings().weight.mean(0))


def test_packing_shrinks_each_span_to_ceil_length_over_window(loaded):
    model, processor = loaded
    batch = encode_batch(processor, EXAMPLES, with_targets=True)
    with torch.no_grad():
        packed = model.pack_inputs(
            batch["input_ids"], batch["attention_mask"], batch["input_features"],
            batch["feature_attention_mask"], batch["labels"],
        )  # fmt: skip
    lengths = [context_length(processor, batch, b) for b in range(len(EXAMPLES))]
    assert model.context_lengths(batch["input_ids"], batch["attention_mask"]) == [
        math.ceil(length / 2) for length in lengths
    ]
    for b in range(len(EXAMPLES)):
        n = int(batch["attention_mask"][b].sum())
        length = lengths[b]
        assert int(packed.attention_mask[b].sum()) == n - length + math.ceil(length / 2)
        real = packed.attention_mask[b].bool()
        assert real[: int(real.sum())].all()  # right padding
        assert packed.position_ids[b, real].tolist() == list(range(int(real.sum())))
        # The packed labels are the target tokens only, in order.
        targets = batch["labels"][b][batch["labels"][b] != IGNORE_INDEX]
        assert torch.equal(packed.labels[b][packed.labels[b] != IGNORE_INDEX], targets)


def test_audio_features_and_pooled_context_are_where_they_belong(loaded):
    model, processor = loaded
    batch = encode_batch(processor, EXAMPLES[:1], with_targets=False)
    ids = batch["input_ids"][0]
    with torch.no_grad():
        packed = model.pack_inputs(
            batch["input_ids"], batch["attention_mask"], batch["input_features"],
            batch["feature_attention_mask"], padding_side="left",
        )  # fmt: skip
        features, lengths = model.encode_audio(
            batch["input_features"], batch["feature_attention_mask"]
        )
        speech = features[0, : lengths[0]]
        audio_positions = (ids == model.config.audio_token_id).nonzero().flatten()
        torch.testing.assert_close(packed.inputs_embeds[0, audio_positions], speech)
        start = int((ids == model.config.context_start_token_id).nonzero())
        length = context_length(processor, batch, 0)
        context = model.get_input_embeddings()(ids[start + 1 : start + 1 + length])
        expected, _ = sap_pool(
            speech[None], torch.ones(1, len(speech)), context[None], torch.ones(1, length), 2, 4
        )
        windows = math.ceil(length / 2)
        torch.testing.assert_close(
            packed.inputs_embeds[0, start + 1 : start + 1 + windows], expected[0]
        )


def test_loss_equals_cross_entropy_by_hand(loaded):
    model, processor = loaded
    batch = encode_batch(processor, EXAMPLES, with_targets=True)
    with torch.no_grad():
        out = model(**batch)
        packed = model.pack_inputs(
            batch["input_ids"], batch["attention_mask"], batch["input_features"],
            batch["feature_attention_mask"], batch["labels"],
        )  # fmt: skip
    log_probs = torch.log_softmax(out.logits.double(), dim=-1)
    total, count = 0.0, 0
    for b in range(len(EXAMPLES)):
        for t in range(packed.labels.shape[1] - 1):
            target = int(packed.labels[b, t + 1])
            if target != IGNORE_INDEX:
                total -= float(log_probs[b, t, target])
                count += 1
    assert count == int((batch["labels"] != IGNORE_INDEX).sum())
    assert out.loss.item() == pytest.approx(total / count, rel=1e-5)


def ctc_nll_by_hand(log_probs: torch.Tensor, target: list[int], blank: int) -> float:
    """-log P(target) summed over CTC alignments (the alpha recursion), (T, V) input."""
    states = [blank]
    for token in target:
        states += [token, blank]
    alpha = [-math.inf] * len(states)
    alpha[0] = float(log_probs[0, blank])
    alpha[1] = float(log_probs[0, target[0]])
    for t in range(1, len(log_probs)):
        new = []
        for s, token in enumerate(states):
            paths = alpha[s : s + 1] + alpha[max(s - 1, 0) : s]
            if s >= 2 and token != blank and token != states[s - 2]:
                paths.append(alpha[s - 2])
            new.append(torch.logsumexp(torch.tensor(paths), 0).item() + float(log_probs[t, token]))
        alpha = new
    return -torch.logsumexp(torch.tensor(alpha[-2:]), 0).item()


def test_ctc_loss_is_mixed_in_and_equals_the_alpha_recursion(tiny_model_dir):
    model, processor = load_sap2_model(tiny_model_dir, sap_window_size=2)
    blank = processor.tokenizer.pad_token_id
    batch = encode_batch(processor, EXAMPLES, with_targets=True, with_ctc_labels=True)
    transcript = processor.tokenizer("the dog", add_special_tokens=False)["input_ids"]
    assert batch["ctc_labels"][2].tolist()[: len(transcript)] == transcript
    assert (batch["ctc_labels"][1] == IGNORE_INDEX).all()  # a pruning example: no words
    examples = [EXAMPLES[0], EXAMPLES[2]]  # CTC needs a transcript per item
    batch = encode_batch(processor, examples, with_targets=True, with_ctc_labels=True)
    with torch.no_grad():
        lm_only = model.eval()(**batch).loss  # ctc_weight 0: ctc_labels are ignored
        model.config.ctc_weight, model.config.ctc_blank_token_id = 0.25, blank
        mixed = model(**batch).loss
        features, lengths = model.encode_audio(
            batch["input_features"], batch["feature_attention_mask"]
        )
        log_probs = torch.log_softmax(model.lm_head(features).double(), dim=-1)
    by_hand = []
    for b, example in enumerate(examples):
        target = processor.tokenizer(example.transcript, add_special_tokens=False)["input_ids"]
        by_hand.append(ctc_nll_by_hand(log_probs[b, : lengths[b]], target, blank) / len(target))
    assert mixed.item() == pytest.approx(0.75 * lm_only.item() + 0.25 * np.mean(by_hand), rel=1e-4)
    with pytest.raises(ValueError, match="one audio per batch item: 1 audios, 2 transcripts"):
        audio_ctc_loss(log_probs[:1], lengths[:1], batch["ctc_labels"], blank)
    with pytest.raises(ValueError, match=r"ctc_weight must be in \[0, 1\)"):
        Sap2Config(ctc_weight=1.0).check_sap_settings()
    with pytest.raises(ValueError, match="needs ctc_blank_token_id"):
        Sap2Config(ctc_weight=0.3).check_sap_settings()


def test_modes_and_windows(tiny_model_dir, loaded):
    _, processor = loaded
    batch = encode_batch(processor, EXAMPLES, with_targets=True)
    results = {}
    for mode, window in (("speech", 1), ("authors", 1), ("mean", 2), ("speech", 4)):
        model, _ = load_sap2_model(tiny_model_dir, sap_window_size=window, sap_mode=mode)
        with torch.no_grad():
            results[mode, window] = model.eval()(**batch)
    # Window 1 keeps every context token as it is, whatever the mode.
    torch.testing.assert_close(results["authors", 1].logits, results["speech", 1].logits)
    assert results["mean", 2].logits.shape[1] < results["speech", 1].logits.shape[1]
    assert results["speech", 4].logits.shape[1] < results["mean", 2].logits.shape[1]


def test_sap_settings_are_saved_with_the_model(tiny_model_dir, tmp_path):
    model, processor = load_sap2_model(tiny_model_dir, sap_window_size=3, sap_mode="mean")
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    again, _ = load_sap2_model(tmp_path)
    assert (again.config.sap_window_size, again.config.sap_mode) == (3, "mean")
    assert again.context_pooling.window_size == 3
    batch = encode_batch(processor, EXAMPLES[:2], with_targets=True)
    with torch.no_grad():
        torch.testing.assert_close(again.eval()(**batch).logits, model.eval()(**batch).logits)


def decode(model, processor, examples, **options):
    batch = encode_batch(processor, examples, with_targets=False)
    out = model.generate(**batch, max_new_tokens=8, do_sample=False, **options)
    return processor.tokenizer.batch_decode(out, skip_special_tokens=False)


@pytest.mark.parametrize("options", [{}, {"num_beams": 3}], ids=["greedy", "beam"])
def test_batched_generation_equals_one_at_a_time(loaded, options):
    model, processor = loaded
    batched = decode(model, processor, EXAMPLES, **options)
    alone = [decode(model, processor, [ex], **options)[0] for ex in EXAMPLES]
    strip = processor.tokenizer.pad_token
    assert [t.replace(strip, "") for t in batched] == [t.replace(strip, "") for t in alone]


def test_generation_encodes_audio_once_and_matches_decoding_without_cache(loaded):
    model, processor = loaded
    batch = encode_batch(processor, EXAMPLES, with_targets=False)
    calls = []
    hook = model.model.audio_tower.register_forward_hook(lambda *args: calls.append(1))
    try:
        out = model.generate(
            **batch, max_new_tokens=6, do_sample=False, output_logits=True,
            return_dict_in_generate=True,
        )  # fmt: skip
    finally:
        hook.remove()
    assert len(calls) == 1
    bench = load_script("benchmarks/sap_prefill.py")
    with torch.no_grad():
        tokens, logits = bench.greedy_without_cache(model, batch, 6)
    # Compare until the first end token: after it, generate feeds padding instead.
    eos = torch.tensor(model.generation_config.eos_token_id).flatten()
    ended = torch.isin(tokens, eos).any(dim=0).nonzero().flatten().tolist()
    steps = ended[0] + 1 if ended else tokens.shape[1]
    assert torch.equal(out.sequences[:, :steps], tokens[:, :steps])
    for step in range(steps):
        torch.testing.assert_close(out.logits[step], logits[step], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "edit, message",
    [
        ("drop_end", "batch item 1: <|startofcontext|> without <|endofcontext|>"),
        ("drop_start", "batch item 1: <|endofcontext|> without <|startofcontext|>"),
        ("two_spans", "batch item 1: 2 <|startofcontext|> and 2 <|endofcontext|> tokens"),
        ("swap", "batch item 1: <|endofcontext|> before <|startofcontext|>"),
        ("drop_audio", "batch item 1: "),
    ],
)
def test_malformed_inputs_name_the_batch_item(loaded, edit, message):
    model, processor = loaded
    batch = encode_batch(processor, EXAMPLES[:2], with_targets=False)
    ids = batch["input_ids"]
    start_id, end_id = model.config.context_start_token_id, model.config.context_end_token_id
    start = int((ids[1] == start_id).nonzero())
    end = int((ids[1] == end_id).nonzero())
    word = processor.tokenizer.convert_tokens_to_ids("the")
    if edit == "drop_end":
        ids[1, end] = word
    elif edit == "drop_start":
        ids[1, start] = word
    elif edit == "two_spans":
        ids[1, start + 2], ids[1, start + 3] = start_id, end_id
    elif edit == "swap":
        ids[1, start], ids[1, end] = end_id, start_id
    elif edit == "drop_audio":
        batch["input_features"] = batch["input_features"][:1]
        batch["feature_attention_mask"] = batch["feature_attention_mask"][:1]
    with pytest.raises(ValueError, match=message.replace("|", r"\|")):
        model.generate(**batch, max_new_tokens=2)


def test_extra_audio_and_bad_settings_are_rejected(loaded, tiny_model_dir):
    model, processor = loaded
    batch = encode_batch(processor, EXAMPLES[:1], with_targets=False)
    batch["input_features"] = batch["input_features"].repeat(2, 1, 1)
    batch["feature_attention_mask"] = batch["feature_attention_mask"].repeat(2, 1)
    with pytest.raises(ValueError, match="2 audios in input_features"):
        model.generate(**batch, max_new_tokens=2)
    with pytest.raises(InputError, match="cannot load the model .*sap_window_size must be >= 1"):
        load_sap2_model(tiny_model_dir, sap_window_size=0)
    with pytest.raises(ValueError, match="sap_mode must be one of"):
        Sap2Config(sap_mode="max").check_sap_settings()
    with pytest.raises(ValueError, match="batch item 1: 31.0 s of audio"):
        encode_batch(processor, [EXAMPLES[0], Example(waveform(31, 3))], with_targets=False)
    shortest = min_audio_samples(processor)
    with pytest.raises(ValueError, match=f"batch item 0: {shortest - 1} samples of audio"):
        encode_batch(processor, [Example(np.zeros(shortest - 1, np.float32))], with_targets=False)


def test_the_shortest_audio_gives_one_audio_token(loaded):
    # min_audio_samples is what the model needs: one sample fewer gives no audio token.
    model, processor = loaded
    shortest = min_audio_samples(processor)
    batch = processor(
        text=["<|audio_bos|><|AUDIO|><|audio_eos|>"] * 2,
        audio=[np.zeros(shortest, np.float32), np.zeros(shortest - 1, np.float32)],
        sampling_rate=16000, return_tensors="pt", padding=True,
    )  # fmt: skip
    audio_token = processor.tokenizer.convert_tokens_to_ids("<|AUDIO|>")
    assert (batch["input_ids"] == audio_token).sum(dim=1).tolist() == [1, 0]


def test_bfloat16_with_a_device_map(tiny_model_dir):
    model, processor = load_sap2_model(tiny_model_dir, dtype=torch.bfloat16, device_map="cpu")
    assert model.dtype == torch.bfloat16
    batch = encode_batch(processor, EXAMPLES[:2], with_targets=True)
    with torch.no_grad():
        out = model.eval()(**batch)
    assert out.logits.dtype == torch.bfloat16 and torch.isfinite(out.loss)
    tokens = decode(model, processor, EXAMPLES[:2])
    assert len(tokens) == 2
