"""Renaming augmentation: invented words, consistent renaming, training examples."""

import random

import numpy as np
import pytest
from lhotse import CutSet

from sap2.bin.train import get_parser
from sap2.model.prompts import Task
from sap2.train.config import config_from_args
from sap2.train.examples import TrainingExamples
from sap2.train.renaming import SYLLABLES, first_syllable, invented_words, rename


def test_invented_words_are_distinct_syllable_words():
    words = invented_words(random.Random(0), 200)
    assert len(set(words)) == 200
    for word in words:
        stem = word if len(word) % 2 == 0 else word[:-1]
        assert 4 <= len(stem) <= 6 and word[len(stem) :] in ("", "n", "r", "s", "x", "l")
        assert all(stem[i : i + 2] in SYLLABLES for i in range(0, len(stem), 2))
    assert invented_words(random.Random(0), 200) == words  # deterministic for a seed


def test_rename_is_consistent_and_case_insensitive():
    texts = [["we", "train", "Kaldi", "and", "kaldi", "lattice"], ["KALDI", "summary", "|"]]
    transcript, context = rename(texts, ["kaldi"], random.Random(3))
    name = transcript[2]
    assert name not in ("kaldi", "Kaldi")
    assert transcript == ["we", "train", name, "and", name, "lattice"]
    assert context == [name, "summary", "|"]
    assert rename(texts, [], random.Random(3)) == texts  # nothing to rename


def test_rename_can_keep_the_first_syllable():
    assert [first_syllable(w) for w in ("lanos", "zephyr", "teferus", "aeon", "x")] == [
        "la", "ze", "te", "aeo", "x",
    ]  # fmt: skip
    words = ["lanos", "lanas", "boga", "zephyr"]
    for seed in range(20):
        (renamed,) = rename([words], words, random.Random(seed), keep_first_syllable=True)
        assert len(set(renamed)) == len(words)  # distinct, and none kept as it was
        for old, new in zip(words, renamed, strict=True):
            assert new != old and new.startswith(first_syllable(old))
            assert len(new) > len(first_syllable(old))


@pytest.mark.parametrize(
    "option, renamed_tasks",
    [
        ("--p-renamed-keywords", {Task.TRANSCRIBE_CONTEXT}),
        ("--p-renamed-prune", {Task.PRUNE, Task.MULTITASK}),
    ],
)
def test_training_examples_rename_only_their_tasks(slidespeech_test_cuts, option, renamed_tasks):
    args = ["--model-dir", "m", "--train-cuts", "c", "--p-no-context", "0"]
    plain = TrainingExamples(config_from_args(get_parser().parse_args(args)))
    renamed = TrainingExamples(config_from_args(get_parser().parse_args([*args, option, "1"])))
    cut = CutSet.from_file(slidespeech_test_cuts).to_eager()["talk1-0001"]
    audio = np.zeros(10, dtype=np.float32)
    tasks, renamed_to = set(), set()
    for epoch in range(30):
        plain.set_epoch(epoch)
        renamed.set_epoch(epoch)
        before, after = plain(cut, audio), renamed(cut, audio)
        assert after.task == before.task  # the task draw is unchanged
        tasks.add(after.task)
        if after.task not in renamed_tasks:
            assert after == before
            continue
        said = {k.lower() for k in before.keywords}
        assert said  # the cut says context words
        names = dict(zip(before.transcript.split(), after.transcript.split(), strict=True))
        for old, new in names.items():
            assert (new == old) == (old not in said)  # exactly the keywords are renamed
        assert list(after.keywords) == [names[k] for k in before.keywords]
        if Task.PRUNE in renamed_tasks:
            assert all(names[k].startswith(first_syllable(k)) for k in before.keywords)
        assert list(after.context) == [names.get(w, w) for w in before.context]
        renamed_to.update(names[k] for k in before.keywords)
    assert renamed_tasks <= tasks and len(tasks) > len(renamed_tasks)
    assert len(renamed_to) > 10  # fresh names per epoch


@pytest.mark.parametrize("name", ["p_renamed_keywords", "p_renamed_prune"])
def test_p_renamed_is_checked(name):
    args = ["--model-dir", "m", "--train-cuts", "c", f"--{name.replace('_', '-')}", "1.5"]
    with pytest.raises(SystemExit):  # a usage error: exit status 2
        config_from_args(get_parser().parse_args(args))
