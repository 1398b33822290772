"""Negative controls: distractor-only contexts and non-speech cuts through the decode path."""

import json

import numpy as np
import soundfile as sf
from conftest import run_score
from lhotse import CutSet

from sap2.bin.decode import main as decode
from sap2.bin.nonspeech_cuts import main as nonspeech_cuts
from sap2.context.distractors import without_words
from sap2.data.nonspeech import pick_sources


def test_without_words_removes_the_utterances_own_words_only():
    context = ["Kaldi", "lattice", "tutorial", "kaldi recipes", "kaldi lattice", ""]
    assert without_words(context, ["KALDI", "LATTICE"]) == ["tutorial", "kaldi recipes"]
    assert without_words(context, []) == context[:-1]


def test_pick_sources_spreads_over_the_ids(slidespeech_test_cuts):
    cuts = CutSet.from_file(slidespeech_test_cuts)
    ids = sorted(cuts.ids)
    assert [c.id for c in pick_sources(cuts, 2)] == [ids[0], ids[-1]]
    assert [c.id for c in pick_sources(cuts, 10)] == ids


def test_nonspeech_cuts_decoded_and_scored(slidespeech_test_cuts, tiny_model_dir, tmp_path):
    data = tmp_path / "data"
    args = ["--cuts", str(slidespeech_test_cuts), "--data-dir", str(data), "--part", "ns"]
    assert nonspeech_cuts([*args, "--num", "2"]) == 0
    cuts = {c.id: c for c in CutSet.from_file(data / "cuts" / "ns.jsonl.gz")}
    sources = {c.id: c for c in CutSet.from_file(slidespeech_test_cuts)}
    assert len(cuts) == 4
    for utt, cut in cuts.items():
        source_id, kind = utt.rsplit("-", 1)
        source = sources[source_id]
        assert kind in ("silence", "noise") and cut.session == kind
        assert cut.context == source.context and cut.supervisions[0].text == ""
        assert abs(cut.duration - source.duration) < 1e-3
        audio = cut.load_audio()[0]
        assert (np.abs(audio).max() == 0) == (kind == "silence")
    assert sorted((data / "ns" / "text").read_text().split()) == sorted(cuts)  # ids only
    assert "-noise noise\n" in (data / "ns" / "utt2session").read_text()
    wav = next((data / "audio" / "ns").glob("*-noise.wav"))
    assert sf.info(wav).samplerate == 16000

    out = tmp_path / "decode"
    ns_cuts = str(data / "cuts" / "ns.jsonl.gz")
    assert decode(["--model-dir", str(tiny_model_dir), "--cuts", ns_cuts, "--out-dir", str(out),
                   "--mode", "full_context", "--max-new-tokens", "5"]) == 0  # fmt: skip
    scored = run_score(
        "--protocol", "slidespeech", "--ref", data / "ns" / "text", "--hyp", out / "hyp.txt",
        "--keywords", data / "ns" / "keywords", "--utt2session", data / "ns" / "utt2session",
        "--context", out / "context.txt", "--context-format", "keywords",
        "--json", tmp_path / "wer.json",
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    summary = json.loads((tmp_path / "wer.json").read_text())
    written = sum(len(line.split()) - 1 for line in (out / "hyp.txt").read_text().splitlines())
    assert summary["wer"]["ref_words"] == 0 and summary["wer"]["ins"] == written
    assert summary["false_alarms"]["per_100_words"] is None
    assert summary["false_alarms"]["utterances"] == 4
    assert set(summary["sessions"]) == {"silence", "noise"}
