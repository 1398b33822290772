"""The C aligner: optimal cost, the protocols' tie-breaking, and the biased/unbiased split."""

import random

import pytest
from conftest import load_script

from sap2.scoring.align import IS21_RULE, SLIDESPEECH_RULE, AlignmentRule, align

MOVES = {"M": (1, 1), "I": (0, 1), "D": (1, 0)}


def oracle_ops(ref: list[str], hyp: list[str], rule: AlignmentRule) -> str:
    """Independent oracle: fill the cost table, then walk back from (n, m) taking, at each
    cell, the first move in ``rule.order`` that attains the cell's cost (which is what
    "a later move replaces the best only if strictly cheaper" selects)."""
    n, m = len(ref), len(hyp)
    step = {
        "M": lambda i, j: 0 if ref[i - 1] == hyp[j - 1] else rule.sub_cost,
        "I": lambda i, j: rule.ins_cost,
        "D": lambda i, j: rule.del_cost,
    }
    cost = {(0, 0): 0}
    for i in range(n + 1):
        for j in range(m + 1):
            if (i, j) != (0, 0):
                cost[i, j] = min(
                    cost[i - di, j - dj] + step[mv](i, j)
                    for mv, (di, dj) in MOVES.items()
                    if i >= di and j >= dj
                )
    ops = []
    i, j = n, m
    while (i, j) != (0, 0):
        order = rule.order if i and j else ("I" if i == 0 else "D")
        for mv in order:
            di, dj = MOVES[mv]
            if i >= di and j >= dj and cost[i - di, j - dj] + step[mv](i, j) == cost[i, j]:
                break
        if mv == "M":
            ops.append("C" if ref[i - 1] == hyp[j - 1] else "S")
        else:
            ops.append(mv)
        i, j = i - di, j - dj
    return "".join(reversed(ops))


def random_words(rng: random.Random, vocab: str, max_len: int) -> list[str]:
    return [rng.choice(vocab) for _ in range(rng.randint(0, max_len))]


@pytest.mark.parametrize("rule", [IS21_RULE, SLIDESPEECH_RULE], ids=["is21", "slidespeech"])
def test_matches_oracle_on_random_sequences(rule):
    rng = random.Random(0)
    for _ in range(400):
        ref = random_words(rng, "abc", 8)  # a small vocabulary makes ties common
        hyp = random_words(rng, "abcd", 8)
        ops, _ = align(ref, hyp, rule)
        assert ops == oracle_ops(ref, hyp, rule), (ref, hyp)


def test_counts_match_the_benchmark_baseline():
    bench = load_script("benchmarks/score_speed.py")
    rng = random.Random(1)
    for _ in range(300):
        ref = random_words(rng, "abcde", 10)
        hyp = random_words(rng, "abcdef", 10)
        biased = frozenset(rng.sample("abcdef", 2))
        ops, counts = align(ref, hyp, IS21_RULE, biased)
        assert ops == bench.baseline_align(ref, hyp)
        assert counts == bench.baseline_count(ref, hyp, ops, biased)


def test_tie_breaking_differs_between_protocols():
    # ref "a b" vs hyp "c": substitute-then-delete and delete-then-substitute cost the
    # same under both rules; is21 prefers the diagonal at the last cell, SlideSpeech the
    # deletion.
    assert align(["a", "b"], ["c"], IS21_RULE)[0] == "DS"
    assert align(["a", "b"], ["c"], SLIDESPEECH_RULE)[0] == "SD"


def test_is21_costs_prefer_substitution_to_insert_plus_delete():
    assert align(["a"], ["b"], IS21_RULE)[0] == "S"
    # ins + del (6) beats two substitutions (8) when a word can be matched.
    assert align(["x", "a"], ["a", "y"], IS21_RULE)[0] == "DCI"
    assert align(["x", "a"], ["a", "y"], SLIDESPEECH_RULE)[0] == "DCI"


def test_empty_sides():
    assert align([], [], IS21_RULE)[0] == ""
    ops, counts = align([], ["a", "b"], IS21_RULE)
    assert ops == "II" and counts.wer.ins == 2 and counts.wer.ref_words == 0
    ops, counts = align(["a"], [], SLIDESPEECH_RULE)
    assert ops == "D" and counts.wer.dels == 1 and counts.wer.ref_words == 1


def test_biased_split():
    ref = "the quick fox jumped".split()
    hyp = "the quack fox jumped fox over".split()
    ops, counts = align(ref, hyp, IS21_RULE, frozenset({"quick", "fox"}))
    assert ops == "CSCCII"
    assert (counts.b_wer.ref_words, counts.b_wer.subs, counts.b_wer.ins) == (2, 1, 1)
    assert (counts.u_wer.ref_words, counts.u_wer.subs, counts.u_wer.ins) == (2, 0, 1)
    assert counts.wer.ref_words == 4 and counts.wer.errors == 3


def test_equal_strings_that_are_different_objects_match():
    ref = ["".join(["wo", "rd"])]
    hyp = ["".join(["w", "ord"])]
    assert ref[0] is not hyp[0]
    assert align(ref, hyp, IS21_RULE)[0] == "C"


def test_rejects_bad_arguments():
    with pytest.raises(TypeError, match="not a str"):
        align(["a", 1], ["a"], IS21_RULE)
    with pytest.raises(ValueError, match="order"):
        align(["a"], ["a"], AlignmentRule(1, 1, 1, "MIX"))
