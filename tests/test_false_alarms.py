"""False alarms from the context: hand-made cases and sap2-score --context."""

import json

import pytest
from conftest import run_score

from sap2.scoring.align import IS21_RULE, SLIDESPEECH_RULE, align
from sap2.scoring.false_alarms import FalseAlarms, false_alarm_words


def fa(ref: str, hyp: str, context: str, rule=IS21_RULE) -> list[str]:
    ref_words, hyp_words = ref.split(), hyp.split()
    ops, _ = align(ref_words, hyp_words, rule)
    return false_alarm_words(ref_words, hyp_words, ops, set(context.split()))


@pytest.mark.parametrize("rule", [IS21_RULE, SLIDESPEECH_RULE])
def test_inserted_and_substituted_context_words(rule):
    assert fa("the cat sat", "the cat zebra sat", "zebra lion", rule) == ["zebra"]  # inserted
    assert fa("the cat sat", "the lion sat", "zebra lion", rule) == ["lion"]  # substituted
    assert fa("the cat sat", "the dog sat", "zebra lion", rule) == []  # not in the context


def test_context_word_that_is_in_the_reference_is_no_false_alarm():
    # "cat" is said (once) and written twice: an insertion, but not a false alarm.
    assert fa("the cat sat", "the cat cat sat", "cat lion") == []
    # said elsewhere in the utterance, misplaced: still no false alarm
    assert fa("cat the sat", "the cat sat", "cat") == []


def test_repeated_false_alarms_count_each_time():
    assert fa("a b", "a lion lion b lion", "lion") == ["lion", "lion", "lion"]
    totals = FalseAlarms()
    totals.add(["lion", "lion", "zebra"], ref_words=4)
    totals.add([], ref_words=6)
    assert (totals.count, totals.per_100_words, totals.per_utterance) == (3, 30.0, 1.5)
    assert totals.format_words() == "# false alarms: count word\n2\tlion\n1\tzebra\n"


def test_no_reference_words():
    assert fa("", "lion dog", "lion") == ["lion"]
    totals = FalseAlarms()
    totals.add(["lion"], ref_words=0)
    assert totals.per_100_words is None and totals.per_utterance == 1.0


def test_score_cli_with_context(tmp_path):
    (tmp_path / "ref").write_text("u1 the cat sat\nu2 a mat\n")
    (tmp_path / "hyp").write_text("u1 the lion sat lion\nu2 a mat zebra\n")
    (tmp_path / "ctx").write_text("u1 lion$cat\nu2 Lion\n")  # u2: zebra is not in its context
    (tmp_path / "biased").write_text("u1 cat\n")
    base = ("--protocol", "is21", "--ref", tmp_path / "ref", "--hyp", tmp_path / "hyp")
    base += ("--biased-words", tmp_path / "biased")
    plain = run_score(*base)
    out = run_score(
        *base, "--context", tmp_path / "ctx", "--context-format", "keywords",
        "--normalize", "whisper", "--json", tmp_path / "wer.json", "--details", tmp_path / "d",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == (
        "False alarms: count=2, per_100_words=40.00, per_utterance=1.000"
    )
    assert "False alarms" not in plain.stdout  # without --context nothing changes
    summary = json.loads((tmp_path / "wer.json").read_text())
    assert summary["false_alarms"] == {
        "count": 2, "per_100_words": 40.0, "per_utterance": 1.0, "utterances": 2,
    }  # fmt: skip
    assert (tmp_path / "d" / "false_alarms.txt").read_text().splitlines()[1] == "2\tlion"
    # a rerun without --context removes the stale false_alarms.txt
    assert run_score(*base, "--details", tmp_path / "d").returncode == 0
    assert not (tmp_path / "d" / "false_alarms.txt").exists()


def test_is21_context_column(tmp_path):
    (tmp_path / "ref.tsv").write_text(
        'u1\tthe cat sat\t["cat"]\t["cat", "dog"]\nu2\ta mat\t[]\t["dog"]\n'
    )
    (tmp_path / "hyp").write_text("u1 the dog sat\nu2 a dog mat\n")
    ref = tmp_path / "ref.tsv"
    out = run_score("--protocol", "is21", "--ref", ref, "--hyp", tmp_path / "hyp",
                    "--context", ref, "--context-format", "is21")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "False alarms: count=2," in out.stdout
    (tmp_path / "bad.tsv").write_text("u1\tthe cat sat\t[]\n")
    bad = run_score("--protocol", "is21", "--ref", ref, "--hyp", tmp_path / "hyp",
                    "--context", tmp_path / "bad.tsv", "--context-format", "is21")  # fmt: skip
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1].endswith("bad.tsv:1: expected 4 tab-separated "
                                                        "columns (id, text, rare words, biasing "
                                                        "list), found 3")  # fmt: skip
    assert "Traceback" not in bad.stderr
