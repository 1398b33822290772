"""The mini recipe's own scripts: the corpus's term spellings, the targets' verdicts."""

import json
import random
import re

import pytest
from conftest import load_script


@pytest.fixture(scope="module")
def make_corpus():
    return load_script("egs/mini_slidespeech/local/make_corpus.py")


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


def write_score(folder, condition, b_wer, u_wer, pruning=None, peak=1.0):
    scoring = folder / f"decode_{condition}" / "test" / "scoring"
    scoring.mkdir(parents=True)
    summary = {"b_wer": {"error_rate": b_wer}, "u_wer": {"error_rate": u_wer}}
    if pruning:
        summary["pruning"] = dict(zip(("recall", "precision"), pruning, strict=True))
    (scoring / "wer.json").write_text(json.dumps(summary))
    (scoring.parent / "decode_stats.json").write_text(json.dumps({"peak_memory_gb": peak}))


def test_targets_are_judged_from_the_run(tmp_path):
    targets = load_script("egs/mini_slidespeech/local/targets.py")
    exp, whisper = tmp_path / "sap2", tmp_path / "whisper"
    write_score(exp, "no_context", b_wer=80.0, u_wer=2.0)
    write_score(exp, "two_stage_speech_w2", b_wer=40.0, u_wer=3.5, pruning=(90.0, 60.0))
    write_score(whisper, "prompt_keywords", b_wer=50.0, u_wer=4.0, peak=6.5)
    (exp / "train_stats.json").write_text(json.dumps({"peak_memory_gb": 5.0}))
    out = tmp_path / "targets.md"
    args = ["--exp-dir", str(exp), "--whisper-dir", str(whisper), "--out", str(out),
            "--elapsed-seconds", "1200", "--stages", "0-30"]  # fmt: skip
    assert targets.main(args) == 0
    rows = {line.split(" | ")[1]: line for line in out.read_text().splitlines()[6:]}
    assert len(rows) == 7
    verdicts = [line.rstrip(" |").rsplit("| ", 1)[1] for line in rows.values()]
    # 50 % below no context: met; 20 % below Whisper: not; recall 90 met, precision 60 not;
    # U-WER +1.5 points: not; 20 min: met; 6.5 GB (a Whisper decode): not.
    assert verdicts == ["met", "**not met**", "met", "**not met**", "**not met**", "met",
                        "**not met**"]  # fmt: skip
    assert "40.00 against 80.00: 50.00 % lower" in out.read_text()
    args[-1] = "20-30"
    assert targets.main(args) == 0
    assert "not measured: this run ran stages 20-30" in out.read_text()
    (exp / "decode_no_context" / "test" / "scoring" / "wer.json").unlink()
    assert targets.main(args) == 1  # a missing score: one-line error
