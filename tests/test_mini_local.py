"""The mini recipe's own scripts: corpus term spellings and the text pretraining data."""

import random
import re

import pytest
import torch
from conftest import load_script
from lhotse import SupervisionSegment
from lhotse.testing.dummies import dummy_cut

from sap2.model.processor import load_processor
from sap2.model.prompts import Task


@pytest.fixture(scope="module")
def make_corpus():
    return load_script("egs/mini_slidespeech/local/make_corpus.py")


@pytest.fixture(scope="module")
def pretrain_lm():
    return load_script("egs/mini_slidespeech/local/pretrain_lm.py")


def undo_respelling(word: str) -> str:
    word = re.sub(r"([bdglmnprtzsf])\1", r"\1", word)
    for spelling, letter in (("ph", "f"), ("cks", "x"), ("ks", "x"), ("ck", "k"), ("c", "k")):
        word = word.replace(spelling, letter)
    return word


def test_respellings_sound_alike_and_differ(make_corpus):
    rng = random.Random(0)
    families = [make_corpus.respellings(rng, w, 4) for w in make_corpus.invented_words(rng, 50)]
    for spellings in families:
        assert len(set(spellings)) == len(spellings) <= 4
        assert all(undo_respelling(s) == spellings[0] for s in spellings)
        assert all(s[0] != s[1] and not s.startswith("ck") for s in spellings)
    assert sum(len(s) == 4 for s in families) > 40  # most words have four spellings


def test_take_terms_gives_one_spelling_per_family(make_corpus):
    pool = [(0, "kalo"), (0, "calo"), (1, "pimu"), (0, "kallo"), (2, "rus")]
    assert make_corpus.take_terms(pool, 3) == ["kalo", "pimu", "rus"]
    assert pool == [(0, "calo"), (0, "kallo")]
    assert make_corpus.take_terms(pool, 3) == ["calo"]  # fewer when the pool runs out


def test_text_examples_copy_renamed_terms_only(pretrain_lm):
    cut = dummy_cut(0, duration=2.0)
    cut.supervisions = [SupervisionSegment("s", cut.recording_id, 0, 2.0, text="we use lanos here")]
    cut.custom = {"context": ["lanos", "and", "bimun", "|"], "ocr_keywords": ["LANOS", "BIMUN"]}
    rng = random.Random(3)
    targets, contexts = set(), set()
    for _ in range(60):
        task, context, target = pretrain_lm.text_example(cut, rng)
        assert task is Task.PRUNE
        assert not {"lanos", "bimun", "we", "use"} & set(context + target.split())
        assert len(context) in (2, 4)  # the slide context renamed, or its two terms
        if len(context) == 4:
            assert context[1:] == ["and", context[2], "|"]
        names = [context[0], context[2]] if len(context) == 4 else context
        picked = target.split()
        assert picked and set(picked) <= set(names)
        assert picked == sorted(picked, key=context.index)  # in context order
        targets.add(target)
        contexts.add(len(context))
    assert len(targets) > 40 and contexts == {2, 4}  # fresh names, both kinds of context


def test_copied_later_pieces_scores_word_continuations_only(pretrain_lm):
    later = torch.tensor([False, True, True, False])  # pieces 1 and 2 continue a word
    labels = torch.tensor([[-100, 0, 1, 2, 3]])
    predicted = [0, 1, 0, 3]  # position t predicts labels[t + 1]: right, right, wrong, right
    logits = torch.nn.functional.one_hot(torch.tensor([predicted + [0]]), 4).float()
    assert pretrain_lm.copied_later_pieces(logits, labels, later) == (1, 2)


def test_continuation_pieces_are_the_word_inner_pieces(pretrain_lm, tiny_model_dir):
    tokenizer = load_processor(tiny_model_dir).tokenizer
    later = pretrain_lm.continuation_pieces(tokenizer)
    assert later.shape == (len(tokenizer),)
    ids = tokenizer("zorbaxil", add_special_tokens=False)["input_ids"]
    assert len(ids) > 1 and [bool(later[i]) for i in ids] == [False] + [True] * (len(ids) - 1)
    assert not later[tokenizer.convert_tokens_to_ids("<|im_end|>")]
