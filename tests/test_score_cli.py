"""sap2-score as a user meets it: outputs, the JSON schema, details, and bad input."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_score

import sap2
from sap2.bin.score import main


@pytest.fixture
def slidespeech_files(tmp_path):
    files = {
        "ref": "id1 NI HAO WO MEN NI HAO\nid2 NI HAO WO MEN\n",
        "hyp": "id1 NI HAO WO MEN WO\nid2 NI HAO IO MEN\n",
        "ocr": "id1 HAO$MEN$OTHER\nid2 HAO$WO$OTHER\n",
        "utt2session": "id1 talk1\nid2 talk1\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.fixture
def is21_files(tmp_path):
    (tmp_path / "ref.tsv").write_text(
        'u1\tthe cat sat\t["cat"]\t["cat", "dog"]\n'
        'u2\ta mat\t[]\t["dog"]\n'
        'u3\tno hyp here\t[]\t["dog"]\n'
    )
    (tmp_path / "hyp.tsv").write_text("u1\tthe bat sat\nu2\n")
    return tmp_path


def test_slidespeech_summary_json_and_details(slidespeech_files):
    d = slidespeech_files
    out = run_score(
        *("--protocol", "slidespeech", "--ref", d / "ref", "--hyp", d / "hyp"),
        *("--keywords", d / "ocr", "--utt2session", d / "utt2session"),
        *("--json", d / "out" / "wer.json", "--details", d / "out" / "details"),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "WER: error_rate=30.0, ref_words=10, subs=2, ins=0, dels=1",
        "U-WER: error_rate=20.0, ref_words=5, subs=1, ins=0, dels=0",
        "B-WER: error_rate=40.0, ref_words=5, subs=1, ins=0, dels=1",
        "Keywords: tp=3, fp=0, fn=2, tn=2, recall=60.00, precision=100.00",
    ]
    summary = json.loads((d / "out" / "wer.json").read_text())
    counts = {"ref_words", "subs", "ins", "dels", "error_rate"}
    assert set(summary) == {
        "protocol",
        "utterances",
        "wer",
        "u_wer",
        "b_wer",
        "keywords",
        "sessions",
        "provenance",
    }
    assert summary["protocol"] == "slidespeech" and summary["utterances"] == 2
    assert all(set(summary[k]) == counts for k in ("wer", "u_wer", "b_wer"))
    assert summary["keywords"] == {
        "tp": 3,
        "fp": 0,
        "fn": 2,
        "tn": 2,
        "recall": 60.0,
        "precision": 100.0,
    }
    assert summary["sessions"]["talk1"]["ref_words"] == 10

    details = d / "out" / "details"
    alignments = (details / "alignments.txt").read_text()
    assert "REF:  NI HAO WO MEN NI HAO\nHYP:  NI HAO WO MEN WO ***\n" in alignments
    assert "Eval:               S  D\n" in alignments
    assert "1\tWO -> IO" in (details / "confusions.txt").read_text()
    recall = (details / "keyword_recall.txt").read_text().splitlines()
    assert "HAO\t3\t2\t66.67" in recall and "WO\t1\t0\t0.00" in recall
    assert (details / "sessions.txt").read_text().startswith("talk1: error_rate=30.0")


def test_is21_json_schema_has_no_keywords(is21_files, tmp_path):
    d = is21_files
    out = run_score(
        *("--protocol", "is21", "--ref", d / "ref.tsv", "--hyp", d / "hyp.tsv"),
        *("--lenient", "--json", tmp_path / "s.json"),
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert set(summary) == {"protocol", "utterances", "wer", "u_wer", "b_wer", "provenance"}
    assert summary["utterances"] == 2
    assert summary["b_wer"] == {"ref_words": 1, "subs": 1, "ins": 0, "dels": 0, "error_rate": 100.0}
    assert summary["wer"]["dels"] == 2  # u2 has an empty hypothesis


def test_main_can_be_called_in_process(is21_files, capsys):
    d = is21_files
    args = ["--protocol", "is21", "--ref", str(d / "ref.tsv"), "--hyp", str(d / "hyp.tsv")]
    assert main([*args, "--lenient"]) == 0
    assert capsys.readouterr().out.startswith("WER: error_rate=")


def test_details_update_their_own_folder_and_refuse_any_other(is21_files):
    d = is21_files
    args = ["--protocol", "is21", "--ref", d / "ref.tsv", "--hyp", d / "hyp.tsv", "--lenient"]
    (d / "details").mkdir()
    (d / "details" / "confusions.txt").write_text("old")
    assert run_score(*args, "--details", d / "details").returncode == 0
    assert sorted(p.name for p in (d / "details").iterdir()) == [
        "alignments.txt",
        "confusions.txt",
        "keyword_recall.txt",
    ]
    assert (d / "details" / "confusions.txt").read_text() != "old"
    assert [p.name for p in d.iterdir() if p.name.startswith(".")] == []
    (d / "notes.txt").write_text("mine")
    before = {p: p.read_bytes() for p in d.rglob("*") if p.is_file()}
    for target, message in ((d, "holds files that are not score details (details, hyp"),
                            (d / "notes.txt", "is a file; --details needs a folder")):  # fmt: skip
        out = run_score(*args, "--details", target)
        assert out.returncode == 1 and message in out.stderr, out.stderr
        assert len(out.stderr.splitlines()) == 1 and "Traceback" not in out.stderr
    for option in ("--json", "--details"):
        out = run_score(*args, option, d / "hyp.tsv")
        assert out.returncode == 2 and f"{option} would overwrite an input" in out.stderr
    assert {p: p.read_bytes() for p in d.rglob("*") if p.is_file()} == before


def run_is21(d, *extra):
    """sap2-score --protocol is21 on d/ref.tsv and d/hyp.tsv, asking for both reports."""
    return run_score(
        *("--protocol", "is21", "--ref", d / "ref.tsv", "--hyp", d / "hyp.tsv"),
        *("--json", d / "out.json", "--details", d / "details"),
        *extra,
    )


def _assert_clean_failure(out, status, message, tmp_path):
    assert out.returncode == status, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert message in lines[0]
    assert out.stdout == ""
    assert not (tmp_path / "out.json").exists() and not (tmp_path / "details").exists()


BAD_IS21_REFS = {
    "missing_column": (b"u1\tthe cat\n", "ref.tsv:1: expected 4 tab-separated columns"),
    "kaldi_text": (b"u1 the cat\n", "found 1 (a Kaldi text reference needs --biased-words)"),
    "bad_json": (b'u1\tthe cat\t["cat"\t[]\n', "ref.tsv:1: column 3 is not a JSON list"),
    "not_a_list": (b'u1\tthe cat\t{"a": 1}\t[]\n', "ref.tsv:1: column 3 must be a JSON list"),
    "bad_list_column_4": (b"u1\tthe cat\t[]\tcat\n", "ref.tsv:1: column 4 is not a JSON list"),
    "duplicate_id": (b"u1\ta\t[]\t[]\nu1\tb\t[]\t[]\n", "ref.tsv:2: duplicate utterance id 'u1'"),
    "not_utf8": (
        b"u1\tok\t[]\t[]\nu2\tcaf\xe9\t[]\t[]\n",
        "ref.tsv:2: not valid UTF-8 (byte 0xe9 at column 7)",
    ),
    "empty": (b"", "ref.tsv: empty file"),
    "blank_lines_only": (b"\n\n", "ref.tsv: empty file"),
}


@pytest.mark.parametrize("case", BAD_IS21_REFS)
def test_bad_is21_reference(tmp_path, case):
    content, message = BAD_IS21_REFS[case]
    (tmp_path / "ref.tsv").write_bytes(content)
    (tmp_path / "hyp.tsv").write_text("u1\tthe cat\n")
    _assert_clean_failure(run_is21(tmp_path), 1, message, tmp_path)


@pytest.mark.parametrize(
    "hyp, message",
    [
        ("u1\tthe cat sat\textra\n", "hyp.tsv:1: expected 2 tab-separated columns"),
        ("u1 the cat\nu1 the cat\n", "hyp.tsv:2: duplicate utterance id 'u1'"),
        ("", "hyp.tsv: empty file"),
        ("u2 a mat\n", "2 of 3 reference utterances have no hypothesis (first: u1, u3)"),
        ("zz a mat\n", "3 of 3 reference utterances have no hypothesis"),
    ],
)
def test_bad_hypotheses(is21_files, hyp, message):
    (is21_files / "hyp.tsv").write_text(hyp)
    _assert_clean_failure(run_is21(is21_files), 1, message, is21_files)


def test_lenient_with_no_matching_hypothesis_still_fails(is21_files):
    (is21_files / "hyp.tsv").write_text("zz a mat\n")
    out = run_is21(is21_files, "--lenient")
    _assert_clean_failure(out, 1, "no hypothesis matches a reference utterance id", is21_files)


def test_missing_and_unreadable_files(is21_files):
    d = is21_files
    out = run_score("--protocol", "is21", "--ref", d / "nope.tsv", "--hyp", d / "hyp.tsv")
    _assert_clean_failure(out, 1, "nope.tsv: no such file", d)
    out = run_score("--protocol", "is21", "--ref", d, "--hyp", d / "hyp.tsv")
    _assert_clean_failure(out, 1, "is a directory", d)


def test_slidespeech_bad_side_files(slidespeech_files):
    d = slidespeech_files
    (d / "utt2session").write_text("id1 talk1 extra\n")
    base = [
        *("--protocol", "slidespeech", "--ref", d / "ref", "--hyp", d / "hyp"),
        *("--keywords", d / "ocr", "--json", d / "out.json"),
    ]
    out = run_score(*base, "--utt2session", d / "utt2session")
    _assert_clean_failure(out, 1, "utt2session:1: expected 2 columns", d)
    (d / "utt2session").write_text("id1 talk1\n")
    out = run_score(*base, "--utt2session", d / "utt2session")
    _assert_clean_failure(out, 1, "1 scored utterances have no session (first: id2)", d)
    (d / "ocr").write_text("id1 A$B\nid1 C\n")
    out = run_score(*base)
    _assert_clean_failure(out, 1, "ocr:2: duplicate utterance id 'id1'", d)


def test_biased_words_for_unknown_utterances(is21_files):
    d = is21_files
    (d / "text").write_text("u1 the cat sat\n")
    (d / "biased").write_text("u1 cat\nu9 dog\n")
    out = run_score(
        *("--protocol", "is21", "--ref", d / "text", "--biased-words", d / "biased"),
        *("--hyp", d / "hyp.tsv", "--lenient"),
    )
    _assert_clean_failure(out, 1, "biased: 1 utterance ids are not in the reference (first: u9)", d)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--protocol", "slidespeech"], "needs --keywords"),
        (["--protocol", "is21", "--keywords", "x"], "applies to --protocol slidespeech only"),
        (
            ["--protocol", "slidespeech", "--keywords", "x", "--biased-words", "y"],
            "--biased-words applies to --protocol is21 only",
        ),
        (["--protocol", "wer"], "invalid choice"),
        (["--protocol", "is21", "--spelling-map", "x"], "needs --normalize whisper"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    out = run_score("--ref", tmp_path / "r", "--hyp", tmp_path / "h", *args)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_help():
    out = run_score("--help")
    assert out.returncode == 0
    assert "--protocol" in out.stdout and "Usage:" in out.stdout


def test_scoring_does_not_import_torch():
    code = "import sys, sap2.bin.score; assert 'torch' not in sys.modules, 'torch imported'"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_pruned_keywords_are_scored_against_biased_words(slidespeech_files, is21_files):
    d = slidespeech_files
    (d / "pruned").write_text("id1 hao$X\nid2\n")  # lower case: tokenised like the texts
    out = run_score(
        *("--protocol", "slidespeech", "--ref", d / "ref", "--hyp", d / "hyp"),
        *("--keywords", d / "ocr", "--pruned-keywords", d / "pruned", "--json", d / "p.json"),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == (
        "Pruning: tp=1, fp=1, fn=3, tn=0, recall=25.00, precision=50.00"
    )
    assert json.loads((d / "p.json").read_text())["pruning"]["recall"] == 25.0
    (is21_files / "pruned").write_text("u1 cat$dog\n")
    out = run_is21(is21_files, "--lenient", "--pruned-keywords", is21_files / "pruned")
    assert out.returncode == 0, out.stderr
    assert "Pruning: tp=1, fp=1, fn=0" in out.stdout


def test_json_provenance_names_the_code_command_and_input_hashes(slidespeech_files):
    d = slidespeech_files
    args = ["--protocol", "slidespeech", "--ref", str(d / "ref"), "--hyp", str(d / "hyp"),
            "--keywords", str(d / "ocr"), "--json", str(d / "wer.json")]  # fmt: skip
    assert main(args) == 0
    provenance = json.loads((d / "wer.json").read_text())["provenance"]
    assert provenance["command"] == ["sap2-score", *args]
    assert provenance["normalize"] == "none"
    assert provenance["sap2_version"] == sap2.__version__
    assert set(provenance["inputs"]) == {"ref", "hyp", "keywords"}
    for name, path in (("ref", "ref"), ("hyp", "hyp"), ("keywords", "ocr")):
        expected = hashlib.sha256((d / path).read_bytes()).hexdigest()
        assert provenance["inputs"][name] == {"path": str(d / path), "sha256": expected}
    repo = Path(sap2.__file__).resolve().parent.parent
    if (repo / ".git").exists():  # run from a checkout: the commit it runs
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        assert provenance["git_commit"] == head.stdout.strip()
        assert isinstance(provenance["git_dirty"], bool)
    else:
        assert "git_commit" not in provenance
