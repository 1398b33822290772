"""Constrained pruning: the pruning pass writes only words of its context."""

import json
import random

import torch
from lhotse import CutSet
from test_decode import run_decode

from sap2.decode.keyword_constraint import KeywordConstraint
from sap2.model.loading import load_sap2_model
from sap2.model.prompts import parse_keywords

CONTEXTS = [
    ["kaldi", "lattice", "tutorial", "|", "lattices"],
    ["conformer", "convolution", "attention"],
    [],
]
END = [10_000]  # an id outside the vocabulary: only ever allowed, never a word piece


def random_output(constraint, batch_id, rng):
    """Tokens of one output drawn uniformly among the allowed tokens at each step."""
    generated = []
    while True:
        allowed = constraint(batch_id, torch.tensor(generated, dtype=torch.long))
        token = rng.choice(allowed)
        if token in END:
            return generated
        generated.append(token)


def test_random_walks_write_context_words_or_none(tiny_model_dir):
    _, processor = load_sap2_model(tiny_model_dir)
    tokenizer = processor.tokenizer
    constraint = KeywordConstraint(tokenizer, CONTEXTS, END)
    rng = random.Random(0)
    for batch_id, context in enumerate(CONTEXTS):
        written = set()
        for _ in range(300):
            text = tokenizer.decode(random_output(constraint, batch_id, rng))
            words = text.split()
            assert words == ["none"] or (words and set(words) <= set(context)), (text, context)
            assert len(set(words)) == len(words)  # no word twice
            written.update(parse_keywords(text) or ["none"])
        assert written == {*context, "none"}  # every context word can be written
    first = tokenizer("kaldi", add_special_tokens=False)["input_ids"]
    after_kaldi = constraint(0, torch.tensor(first))
    assert set(END) <= set(after_kaldi)  # a whole word may end the output
    none = tokenizer("none", add_special_tokens=False)["input_ids"]
    assert constraint(0, torch.tensor(none)) == END  # "none" stands alone
    assert constraint(0, torch.tensor([*none, *END])) == END  # finished: only end tokens


def test_constrained_two_stage_decoding_prunes_to_context_words(
    tiny_model_dir, slidespeech_test_cuts, tmp_path
):
    out = tmp_path / "constrained"
    args = ("--mode", "two_stage", "--constrain-keywords", "true", "--max-new-tokens", "12")
    assert run_decode(tiny_model_dir, slidespeech_test_cuts, out, *args) == 0
    cuts = CutSet.from_file(slidespeech_test_cuts).to_eager()
    records = [json.loads(line) for line in (out / "hyp.jsonl").read_text().splitlines()]
    assert len(records) == len(cuts)
    for record in records:
        keywords = record["keywords"]
        assert set(keywords) <= set(cuts[record["id"]].context), record
        assert len(set(keywords)) == len(keywords), record
