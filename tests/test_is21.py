"""The is21 protocol against the published results of Le et al. (2021), count for count."""

import json

import pytest
from conftest import IS21_DIR, run_score

from sap2.scoring.is21 import score_is21
from sap2.scoring.readers import read_is21_ref, read_text

HYP_FILES = sorted(p.name for p in (IS21_DIR / "hyp").glob("*.tsv")) if IS21_DIR.is_dir() else []


def test_all_44_hypothesis_files_are_there(is21_dir):
    assert len(HYP_FILES) == 44


@pytest.fixture(scope="module")
def references():
    return {}


@pytest.mark.parametrize("hyp_name", HYP_FILES)
def test_reproduces_published_results(is21_dir, references, hyp_name):
    test_set = hyp_name.split(".")[0]
    if test_set not in references:
        references[test_set] = read_is21_ref(is21_dir / "ref" / f"{test_set}.biasing_100.tsv")
    hyp_path = is21_dir / "hyp" / hyp_name
    score = score_is21(references[test_set], read_text(hyp_path), str(hyp_path))
    expected = (is21_dir / "results" / f"{hyp_name}.result").read_text().strip()
    assert score.totals.format() == expected


def test_command_line_prints_the_result_file(is21_dir):
    name = "test-other.s4.s3+nnlm.biasing_1000.tsv"
    ref = is21_dir / "ref" / "test-other.biasing_100.tsv"
    out = run_score("--protocol", "is21", "--ref", ref, "--hyp", is21_dir / "hyp" / name)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (is21_dir / "results" / f"{name}.result").read_text().strip()


def test_kaldi_text_with_biased_words_file_gives_the_same_counts(is21_dir, tmp_path):
    ref_tsv = is21_dir / "ref" / "test-clean.biasing_100.tsv"
    hyp = is21_dir / "hyp" / "test-clean.s1.b1+db-rnnt.biasing_100.tsv"
    text, biased = tmp_path / "text", tmp_path / "biased_words"
    with open(text, "w") as t, open(biased, "w") as b:
        for utt, (words, rare) in read_is21_ref(ref_tsv).items():
            t.write(f"{utt} {words}\n")
            b.write(f"{utt} {' '.join(rare)}\n")
    outputs = []
    for ref_args in (["--ref", ref_tsv], ["--ref", text, "--biased-words", biased]):
        json_out = tmp_path / f"{len(outputs)}.json"
        run = run_score("--protocol", "is21", "--hyp", hyp, "--json", json_out, *ref_args)
        assert run.returncode == 0, run.stderr
        outputs.append(json.loads(json_out.read_text()))
        del outputs[-1]["provenance"]  # names other inputs
    assert outputs[0] == outputs[1]
    assert outputs[0]["b_wer"]["ref_words"] > 0


def _write_is21(path, rows):
    path.write_text(
        "".join(f"{u}\t{t}\t{json.dumps(r)}\t{json.dumps(r + ['zz'])}\n" for u, t, r in rows)
    )


def test_insertion_of_a_rare_word_is_biased_but_distractors_are_not(tmp_path):
    ref = tmp_path / "ref.tsv"
    _write_is21(ref, [("u1", "the cat sat", ["cat"])])
    refs = read_is21_ref(ref)
    score = score_is21(refs, {"u1": "the cat cat sat zz"})
    assert (score.totals.b_wer.ins, score.totals.u_wer.ins) == (1, 1)


def test_lenient_leaves_out_missing_hypotheses(tmp_path):
    _write_is21(tmp_path / "ref.tsv", [("u1", "a b", ["b"]), ("u2", "c d", []), ("u3", "e", [])])
    refs = read_is21_ref(tmp_path / "ref.tsv")
    score = score_is21(refs, {"u1": "a x"}, lenient=True)
    assert [u.utt_id for u in score.utterances] == ["u1"]
    assert score.totals.wer.ref_words == 2 and score.totals.b_wer.subs == 1
