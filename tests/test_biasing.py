"""Biasing lists (is21 protocol) and training-time list sampling."""

import json

import pytest

from sap2.bin.biasing_lists import main as biasing_lists
from sap2.context.biasing import DistractorPool, biasing_list, rare_words
from sap2.context.sampler import TrainingListSampler
from sap2.seeding import utterance_rng


def read_tsv(path):
    rows = {}
    for line in open(path, encoding="utf-8"):
        utt, text, rare, words = line.rstrip("\n").split("\t")
        rows[utt] = (text, json.loads(rare), json.loads(words))
    return rows


@pytest.mark.parametrize("test_set", ["test-clean", "test-other"])
def test_rebuilds_the_is21_rare_words_and_lists_of_every_size(is21_dir, tmp_path, test_set):
    ref = is21_dir / "ref" / f"{test_set}.biasing_100.tsv"
    words = is21_dir / "words"
    sizes = [100, 500, 1000, 2000]
    status = biasing_lists(
        [
            *("--ref", str(ref), "--common-words", str(words / "common_words_5k.txt")),
            *("--rare-words", str(words / "all_rare_words.txt"), "--seed", "3"),
            *("--out", str(tmp_path / "{N}.tsv"), "--num-distractors", *map(str, sizes)),
        ]
    )
    assert status == 0
    published = read_tsv(ref)
    pool = set((words / "all_rare_words.txt").read_text().split())
    for n in sizes:
        ours = read_tsv(tmp_path / f"{n}.tsv")
        assert list(ours) == list(published)
        for utt, (text, rare, biasing) in ours.items():
            assert text == published[utt][0]
            assert rare == published[utt][1]
            assert len(biasing) == len(set(biasing)) == len(rare) + n
            distractors = set(biasing) - set(rare)
            assert set(rare) <= set(biasing) and distractors <= pool


def test_all_5559_utterances_are_covered(is21_dir):
    total = sum(1 for t in ("test-clean", "test-other")
                for _ in open(is21_dir / "ref" / f"{t}.biasing_100.tsv"))  # fmt: skip
    assert total == 5559


@pytest.fixture
def small_lists(tmp_path):
    (tmp_path / "text").write_text(
        "u1 the zebra ate quinoa\nu2 the cat sat\nu3 a yak and a gnu met an okapi\n"
    )
    (tmp_path / "common").write_text("the\na\nan\nand\ncat\nsat\nate\nmet\n")
    (tmp_path / "pool").write_text("".join(f"rare{i}\n" for i in range(50)) + "zebra\nyak\n")
    return tmp_path


def run_lists(d, *extra, seed="0", n="5", out="lists.tsv"):
    return biasing_lists(
        [
            *("--ref", str(d / "text"), "--common-words", str(d / "common")),
            *("--rare-words", str(d / "pool"), "--num-distractors", n, "--seed", seed),
            *("--out", str(d / out)),
            *extra,
        ]
    )


def test_lists_exclude_own_rare_words_and_depend_on_seed_only(small_lists):
    d = small_lists
    assert run_lists(d) == 0
    first = read_tsv(d / "lists.tsv")
    assert first["u1"][1] == ["quinoa", "zebra"] and first["u2"][1] == []
    assert first["u3"][1] == ["gnu", "okapi", "yak"]
    for _, rare, words in first.values():
        assert len(words) == len(rare) + 5
        assert len([w for w in words if w in rare]) == len(rare)  # no distractor repeats one
    # Same seed: same lists, whatever the order of the input lines.
    lines = (d / "text").read_text().splitlines()
    (d / "text").write_text("\n".join(reversed(lines)) + "\n")
    assert run_lists(d, out="again.tsv") == 0
    again = read_tsv(d / "again.tsv")
    assert {u: again[u] for u in first} == first
    assert run_lists(d, seed="1", out="other.tsv") == 0
    assert read_tsv(d / "other.tsv") != first


def test_lists_are_shuffled():
    pool = DistractorPool(f"w{i}" for i in range(1000))
    firsts = {
        biasing_list(["aaa", "bbb"], pool, 20, utterance_rng(0, f"u{i}"))[0] for i in range(50)
    }
    assert len(firsts) > 10  # the rare words are not always in front


def test_bad_inputs(small_lists, capsys):
    d = small_lists
    assert run_lists(d, n="60") == 1
    assert "cannot draw 60 distractors" in capsys.readouterr().err
    assert (
        biasing_lists(
            [
                *("--ref", str(d / "text"), "--common-words", str(d / "common")),
                *("--rare-words", str(d / "pool"), "--num-distractors", "1", "2"),
                *("--out", str(d / "x.tsv")),
            ]
        )
        == 1
    )
    assert "must contain {N}" in capsys.readouterr().err
    (d / "pool").write_text("")
    assert run_lists(d) == 1
    assert "empty" in capsys.readouterr().err
    assert not (d / "lists.tsv").exists()


def test_rare_words_are_sorted_and_distinct():
    assert rare_words("b a c a b".split(), {"c"}) == ["a", "b"]


def test_training_sampler():
    pool = DistractorPool(f"w{i}" for i in range(500))
    sampler = TrainingListSampler(pool, min_distractors=3, max_distractors=9, p_no_context=0.3)
    lists = [sampler.sample(f"u{i}", ["rare"], epoch=0) for i in range(300)]
    empty = sum(x is None for x in lists)
    assert 50 < empty < 130  # about 30 % without context
    sizes = {len(x) - 1 for x in lists if x is not None}
    assert sizes <= set(range(3, 10)) and len(sizes) > 3
    assert all("rare" in x for x in lists if x is not None)
    assert sampler.sample("u1", ["rare"], 0) == lists[1]  # deterministic
    assert [sampler.sample("u1", ["rare"], e) for e in range(5)] != [lists[1]] * 5  # per epoch
    with pytest.raises(ValueError):
        TrainingListSampler(pool, min_distractors=5, max_distractors=2)
