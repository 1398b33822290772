"""The mini recipe's own scripts: corpus term spellings and the text pretraining data."""

import random
import re
import sys

import pytest
from conftest import REPO, load_script
from lhotse import SupervisionSegment
from lhotse.testing.dummies import dummy_cut

from sap2.model.prompts import Task

LOCAL = REPO / "egs" / "mini_slidespeech" / "local"


@pytest.fixture(scope="module")
def make_corpus():
    return load_script("egs/mini_slidespeech/local/make_corpus.py")


@pytest.fixture(scope="module")
def pretrain_lm():
    sys.path.insert(0, str(LOCAL))  # the script imports make_corpus as a sibling
    try:
        yield load_script("egs/mini_slidespeech/local/pretrain_lm.py")
    finally:
        sys.path.remove(str(LOCAL))


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


def test_text_examples_rename_terms_in_context_and_target(pretrain_lm):
    cut = dummy_cut(0, duration=2.0)
    cut.supervisions = [SupervisionSegment("s", cut.recording_id, 0, 2.0, text="we use lanos here")]
    cut.custom = {"context": ["lanos", "and", "bimun", "|"], "ocr_keywords": ["LANOS", "BIMUN"]}
    rng = random.Random(3)
    seen = set()
    for _ in range(40):
        task, context, target = pretrain_lm.text_example(cut, rng)
        assert "lanos" not in context + target.split() and "bimun" not in context
        if task is Task.PRUNE:
            assert len(context) == 4 and target == context[0]
        else:
            assert task is Task.TRANSCRIBE_CONTEXT
            new_name = target.split()[2]
            assert target == f"we use {new_name} here" and new_name in context
        seen.add(target)
    assert len(seen) > 20  # a fresh name for every example
