"""Every command with bad input, as a user runs it: the exit status (1 for bad input, 2 for
a usage error), one error line on stderr naming the culprit, no traceback, and every file
that was there before byte-identical afterwards (nothing half-written, nothing replaced).

Each case runs in a fresh copy of one workspace (a prepared fake SlideSpeech test set, a
finished decode of it, an adapter of another model size, ...), from inside it, so that
the culprits are short relative names.
"""

import gzip
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import TINY_TEXTS
from fake_corpora import SR, make_librispeech, make_slidespeech, tone
from lhotse import CutSet

from sap2.fileio import folder_lock


@pytest.fixture(scope="module")
def base(tmp_path_factory, tiny_model_dir) -> Path:
    """The workspace every case starts from (built once)."""
    from sap2.bin.decode import main as decode
    from sap2.bin.prepare import main as prepare
    from sap2.bin.score import main as score
    from sap2.model.loading import load_sap2_model
    from sap2.model.lora import apply_lora, save_adapter
    from sap2.model.tiny import build_tiny_qwen2_audio

    ws = tmp_path_factory.mktemp("workspace")
    corpus = make_slidespeech(ws / "corpora")
    assert prepare(["slidespeech", str(corpus), str(ws / "data"), "--parts", "test"]) == 0
    shutil.copytree(tiny_model_dir, ws / "model")
    cuts = ws / "data" / "cuts" / "test.jsonl.gz"
    (ws / "truncated.jsonl.gz").write_bytes(cuts.read_bytes()[:60])
    short = CutSet.from_file(cuts).to_eager()
    blip = short[0].truncate(duration=0.01).with_id(short[0].id)
    short = CutSet.from_cuts([blip, *list(short)[1:]])
    short.to_file(ws / "short.jsonl.gz")
    decoded = ["--model-dir", str(ws / "model"), "--cuts", str(cuts), "--max-new-tokens", "4"]
    assert decode([*decoded, "--mode", "no_context", "--out-dir", str(ws / "decoded")]) == 0
    scoring = ws / "exp" / "sys" / "decode_no_context" / "test" / "scoring"
    kaldi = ws / "data" / "test"
    assert score(["--protocol", "slidespeech", "--ref", str(kaldi / "text"), "--keywords",
                  str(kaldi / "keywords"), "--hyp", str(ws / "decoded" / "hyp.txt"),
                  "--json", str(scoring / "wer.json")]) == 0  # fmt: skip
    other = build_tiny_qwen2_audio(ws / "other_model", TINY_TEXTS * 4, hidden_size=32)
    model, processor = load_sap2_model(other)
    save_adapter(apply_lora(model), processor, ws / "other_adapter")
    shutil.rmtree(ws / "other_model")
    words = ws / "words"
    words.mkdir()
    (words / "common.txt").write_text("the\nto\n")
    (words / "rare.txt").write_text("".join(f"rare{i}\n" for i in range(50)))
    (ws / "not_utf8.txt").write_bytes(b"caf\xe9\n")
    sf.write(ws / "good.wav", tone(1.0, 0), SR)
    sf.write(ws / "blip.wav", np.zeros(SR // 100, dtype=np.float32), SR)  # 10 ms
    return ws


def _replace_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


def _break_config(ws: Path) -> None:
    (ws / "model" / "config.json").write_text('{"model_type": "qwen2_audio", broken')


def _truncate_weights(ws: Path) -> None:
    weights = ws / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])


def _libri_with(ws: Path, extra: bytes) -> None:
    corpus = make_librispeech(ws / "corpora", parts=("test-clean",))
    trans = corpus / "test-clean" / "1089" / "134686" / "1089-134686.trans.txt"
    trans.write_bytes(trans.read_bytes() + extra)


def _bad_part(content: str, options: str | None = None) -> Callable[[Path], None]:
    def setup(ws: Path) -> None:
        shutil.copytree(ws / "decoded", ws / "part")
        (ws / "part" / "hyp.jsonl").write_text(content)
        if options is not None:
            (ws / "part" / "decode_options.json").write_text(options)

    return setup


@dataclass
class Case:
    """One bad input: ``sap2.bin.<tool> ARGS`` in the workspace gives ``status`` and an
    error line containing ``culprit``; ``setup`` damages the workspace first."""

    name: str
    tool: str
    args: str
    status: int
    culprit: str
    setup: Callable[[Path], None] | None = None


MODEL = "--model-dir model --cuts data/cuts/test.jsonl.gz --max-new-tokens 4"
TRAIN = "--model-dir model --train-cuts data/cuts/test.jsonl.gz --exp-dir exp/new --max-steps 1"
SCORE = "--protocol slidespeech --ref data/test/text --keywords data/test/keywords"
LISTS = "--ref data/test/text --common-words words/common.txt --rare-words words/rare.txt"

CASES = [
    # Data loss and security
    Case("score details into a decode folder", "score",
         f"{SCORE} --hyp decoded/hyp.txt --details decoded", 1,
         "decoded: holds files that are not score details"),
    Case("score details onto the hypotheses", "score",
         f"{SCORE} --hyp decoded/hyp.txt --details decoded/hyp.txt", 2,
         "--details would overwrite an input"),
    Case("decode rerun with another mode", "decode",
         f"{MODEL} --mode two_stage --out-dir decoded", 1,
         "decoded: decoded with other options (mode 'no_context' -> 'two_stage'; "
         "context_field None -> 'context')"),
    Case("decode rerun with another model", "decode",
         f"{MODEL} --mode no_context --adapter other_adapter --out-dir decoded", 1,
         "decoded: decoded with other options (another model than model_dir "),
    # Silent wrong results
    Case("swift export of a missing context field", "swift_json",
         "export --cuts data/cuts/test.jsonl.gz --task prune --context-field nope "
         "--audio-dir swift/wav --out swift/test.json", 1,
         "has no custom field 'nope' (--context-field)"),
    Case("LibriSpeech utterance id twice", "prepare",
         "librispeech corpora/LibriSpeech data --parts test-clean", 1,
         "1089-134686.trans.txt:3: utterance id '1089-134686-0000' also at",
         lambda ws: _libri_with(ws, b"1089-134686-0000 AGAIN\n")),
    *[Case(f"decode {option} {value}", "decode", f"{MODEL} --out-dir out {option} {value}", 2,
           f"argument {option}: expected")
      for option, value in (("--num-beams", "0"), ("--max-new-tokens", "0"),
                            ("--max-duration", "0"), ("--sap-window-size", "0"))],
    *[Case(f"train {option} {value}", "train", f"{TRAIN} {option} {value}", 2,
           f"argument {option}: expected")
      for option, value in (("--num-buckets", "1"), ("--gradient-accumulation-steps", "0"),
                            ("--learning-rate", "-1"), ("--lora-rank", "-1"),
                            ("--warmup-ratio", "2"), ("--max-duration", "0"))],
    Case("train YAML value of the wrong type", "train", f"{TRAIN} --config train.yaml", 1,
         "train.yaml: learning_rate: expected a number > 0, got 'fast'",
         lambda ws: (ws / "train.yaml").write_text("learning_rate: fast\n")),
    Case("common words --top -3", "common_words", "--text data/test/text --top -3 --out c.txt",
         2, "argument --top: expected an integer > 0"),
    Case("common words --out is --rest-out", "common_words",
         "--text data/test/text --out c.txt --rest-out ./c.txt", 2,
         "--out and --rest-out must be different files"),
    *[Case(f"prepare {option} {value}", "prepare",
           f"slidespeech corpora/SlideSpeech data2 --parts test {option} {value}", 2,
           f"argument {option}: expected")
      for option, value in (("--max-context-words", "-2"), ("--num-slides", "0"),
                            ("--max-seconds", "-5"))],
    Case("biasing lists --num-distractors -1", "biasing_lists",
         f"{LISTS} --num-distractors -1 --out lists.tsv", 2, "argument --num-distractors"),
    # Tracebacks instead of one line
    *[Case(f"{tool} truncated cuts", tool, args, 1,
           "truncated.jsonl.gz: not a readable lhotse cuts manifest")
      for tool, args in (
          ("decode", "--model-dir model --cuts truncated.jsonl.gz --out-dir out"),
          ("train", "--model-dir model --train-cuts truncated.jsonl.gz --exp-dir exp/new"),
          ("biasing_lists", f"{LISTS} --num-distractors 2 --out lists.tsv "
                            "--cuts truncated.jsonl.gz"),
          ("split_cuts", "--cuts truncated.jsonl.gz --num-jobs 2 --out-dir split"),
          ("combine_cuts", "--out all.jsonl.gz data/cuts/test.jsonl.gz truncated.jsonl.gz"),
          ("swift_json", "export --cuts truncated.jsonl.gz --task transcribe "
                         "--audio-dir swift/wav --out swift/test.json"),
      )],
    Case("decode with a bad config.json", "decode", f"{MODEL} --out-dir out", 1,
         "model/config.json: not a readable model config", _break_config),
    Case("decode with truncated weights", "decode", f"{MODEL} --out-dir out", 1,
         "model: cannot load the model (SafetensorError", _truncate_weights),
    Case("decode with an adapter of another model size", "decode",
         f"{MODEL} --adapter other_adapter --out-dir out", 1,
         "other_adapter: does not fit the model in model"),
    Case("decode rerun on a hyp.jsonl line that is not an object", "decode",
         f"{MODEL} --mode no_context --out-dir decoded", 1,
         "decoded/hyp.jsonl:2: expected a JSON object with an 'id'",
         lambda ws: _replace_line(ws / "decoded" / "hyp.jsonl", 2, "[1, 2]")),
    Case("decode rerun on a hyp.jsonl line without id", "decode",
         f"{MODEL} --mode no_context --out-dir decoded", 1,
         "decoded/hyp.jsonl:3: expected a JSON object with an 'id'",
         lambda ws: _replace_line(ws / "decoded" / "hyp.jsonl", 3, '{"hyp": "x"}')),
    Case("decode into a file", "decode", f"{MODEL} --out-dir data/test/text", 1,
         "data/test/text: is a file, expected a folder"),
    Case("decode a cut under 20 ms", "decode",
         "--model-dir model --cuts short.jsonl.gz --mode no_context --out-dir out", 1,
         "cut 'talk1-0001': 10 ms of audio, shorter than the 20 ms the encoder needs"),
    Case("decode a missing context field", "decode",
         f"{MODEL} --context-field nope --out-dir out", 1,
         "cut 'talk1-0001' has no custom field 'nope'"),
    Case("merge a part with a broken line", "merge_decodes", "part --out-dir merged", 1,
         "part/hyp.jsonl:1: not a JSON record", _bad_part('{"id": \n{"id": "a", "hyp": ""}\n')),
    Case("merge a part with partial options", "merge_decodes", "part --out-dir merged", 1,
         "part/decode_options.json: not a JSON record of decoding options",
         _bad_part('{"id": "a", "hyp": "x"}\n', '{"mode": ')),
    Case("merge a part that is missing", "merge_decodes", "nojob --out-dir merged", 1,
         "nojob/hyp.jsonl: missing; did decoding job nojob finish?"),
    Case("train into a file", "train",
         "--model-dir model --train-cuts data/cuts/test.jsonl.gz --exp-dir data/test/text", 1,
         "data/test/text: is a file, expected a folder"),
    Case("LibriSpeech non-UTF-8 trans.txt", "prepare",
         "librispeech corpora/LibriSpeech data --parts test-clean", 1,
         "1089-134686.trans.txt:3: not valid UTF-8",
         lambda ws: _libri_with(ws, b"1089-134686-0002 CAF\xe9\n")),
    Case("swift import of non-UTF-8 JSON", "swift_json",
         "import --json not_utf8.txt --out swift.jsonl.gz", 1, "not_utf8.txt: not UTF-8"),
    Case("show results with non-UTF-8 notes", "show_results",
         "exp --out RESULTS.md --plot RESULTS.png --notes not_utf8.txt", 1,
         "not_utf8.txt: the notes are not UTF-8 text"),
    Case("transcribe a 10 ms file", "transcribe", "--model model good.wav blip.wav", 1,
         "blip.wav: 10 ms is shorter than the 20 ms the encoder needs"),
]  # fmt: skip


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (but lock files) and its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_one_line_and_changes_nothing(base, tmp_path, case):
    ws = tmp_path / "ws"
    shutil.copytree(base, ws, symlinks=True)
    if case.setup is not None:
        case.setup(ws)
    before = snapshot(ws)
    out = subprocess.run(
        [sys.executable, "-m", f"sap2.bin.{case.tool}", *case.args.split()],
        cwd=ws, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.returncode == case.status, out.stderr[-2000:]
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    errors = [line for line in out.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and case.culprit in errors[0], out.stderr[-2000:]
    assert snapshot(ws) == before


@pytest.mark.parametrize(
    "tool, args, folder",
    [
        ("decode", f"{MODEL} --mode no_context --out-dir decoded", "decoded"),
        ("train", TRAIN, "exp/new"),
    ],
)
def test_a_second_run_into_a_folder_in_use_is_refused(base, tmp_path, tool, args, folder):
    ws = tmp_path / "ws"
    shutil.copytree(base, ws, symlinks=True)
    with folder_lock(ws / folder, f"sap2-{tool}"):  # as a first run holds it
        before = snapshot(ws)
        out = subprocess.run(
            [sys.executable, "-m", f"sap2.bin.{tool}", *args.split()],
            cwd=ws, capture_output=True, text=True,
        )  # fmt: skip
        assert snapshot(ws) == before
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f"{folder}: in use by sap2-{tool} (pid " in out.stderr.strip().splitlines()[-1]


def test_a_manifest_of_other_records_names_the_file(tmp_path):
    # Valid gzip and JSON, but no cuts in it.
    from sap2.data.manifests import read_cuts
    from sap2.errors import InputError

    path = tmp_path / "cuts.jsonl.gz"
    path.write_bytes(gzip.compress(json.dumps({"id": "x"}).encode() + b"\n"))
    with pytest.raises(InputError, match=f"{path}: not a readable lhotse cuts manifest"):
        read_cuts(path)
