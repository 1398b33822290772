"""ms-swift JSON of the SAP² authors: export from cuts and import back."""

import json

import pytest
from fake_corpora import make_slidespeech
from lhotse import CutSet

from sap2.bin.prepare import main as prepare
from sap2.bin.swift_json import main as swift_json


@pytest.fixture
def cuts_path(tmp_path):
    corpus = make_slidespeech(tmp_path)
    assert prepare(["slidespeech", str(corpus), str(tmp_path / "data"), "--parts", "test"]) == 0
    return tmp_path / "data" / "cuts" / "test.jsonl.gz"


@pytest.mark.parametrize("task", ["transcribe", "transcribe_context", "prune", "multitask"])
def test_round_trip(cuts_path, tmp_path, task):
    out = tmp_path / f"{task}.json"
    args = ["export", "--cuts", str(cuts_path), "--task", task, "--out", str(out)]
    assert swift_json([*args, "--audio-dir", str(tmp_path / "wav")]) == 0
    records = json.loads(out.read_text())
    assert len(records) == 4
    user = records[0]["messages"][0]["content"]
    assert user.startswith("<audio>") and "</audio>" not in user  # the fork's bare tag
    assert records[0]["audios"] == [str(tmp_path / "wav" / "talk1-0001.wav")]
    assert (tmp_path / "wav" / "talk1-0001.wav").is_file()  # segments get their own file
    assert swift_json(["import", "--json", str(out), "--out", str(tmp_path / "back.jsonl.gz")]) == 0
    original = {c.id: c for c in CutSet.from_file(cuts_path)}
    for cut in CutSet.from_file(tmp_path / "back.jsonl.gz"):
        source = original[cut.id]
        assert cut.custom["task"] == task
        assert cut.duration == pytest.approx(source.duration, abs=1e-3)
        if task == "prune":
            assert cut.custom["context"] == source.context
            heard = [w for w in source.context if w in source.supervisions[0].text.split()]
            assert cut.custom["keywords"] == heard
        else:
            assert cut.supervisions[0].text == source.supervisions[0].text
        if task == "transcribe_context":
            assert cut.custom["context"] == source.ocr_keywords


def test_import_errors_name_the_record(tmp_path, capsys):
    wav = tmp_path / "a.wav"
    prompt = "Transcribe speech to text.<|startofcontext|><|endofcontext|>"

    def record(user, target):
        messages = [{"role": "user", "content": user}, {"role": "assistant", "content": target}]
        return {"messages": messages, "audios": str(wav)}

    good = record(f"<audio>{wav}</audio>{prompt}", "hi")
    odd = record("Say something", "x")
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(odd) + "\n")
    assert swift_json(["import", "--json", str(path), "--out", str(tmp_path / "c.jsonl.gz")]) == 1
    err = capsys.readouterr().err
    assert (
        "1 malformed records (first: #1" in err
        and "records with unreadable audio (first: #0" in err
    )
    (tmp_path / "bad.json").write_text("[{")
    assert (
        swift_json(
            ["import", "--json", str(tmp_path / "bad.json"), "--out", str(tmp_path / "c.jsonl.gz")]
        )
        == 1
    )
    assert "bad.json:1: not valid JSON" in capsys.readouterr().err


NOTEBOOK = {  # prompts and targets as the authors' data_preprocess.ipynb writes them
    "transcribe": ("Transcribe speech to text", "the lattice holds paths"),
    "transcribe_context": (
        "Transcibe speech to text according to keywords may appear in the utterance. "
        "Possible keywords are: kaldi, lattice", "the lattice holds paths"),
    "prune": ("Select keywords that may appear in the speech from the following keywords "
              "list: <|startofcontext|>kaldi, lattice, espnet<|endofcontext|>", "kaldi, lattice"),
    "multitask": ("First select keywords that may appear in the speech from given keywords "
                  "list. Then Transcribe speech to text according to selected keywords. "
                  "Keywords are: <|startofcontext|>kaldi lattice espnet<|endofcontext|>",
                  "Selected keywords are: lattice.\nTranscription: the lattice holds paths"),
}  # fmt: skip


def test_import_reads_the_authors_variants_and_round_trips(tmp_path):
    import numpy as np
    import soundfile as sf

    wav = tmp_path / "u.wav"
    sf.write(wav, np.zeros(16000, dtype=np.float32), 16000)
    records = [
        {"messages": [{"role": "user", "content": f"<audio>{NOTEBOOK['transcribe'][0]}"},
                      {"role": "assistant", "content": NOTEBOOK["transcribe"][1]}],
         "audios": str(wav)},  # a string, not a list
        {"conversations": [{"from": "user",
                            "value": f"<audio>{wav}</audio>{NOTEBOOK['transcribe_context'][0]}"},
                           {"from": "assistant", "value": NOTEBOOK["transcribe_context"][1]}]},
        *[{"messages": [{"role": "user", "content": "<audio>" + NOTEBOOK[task][0]},
                        {"role": "assistant", "content": NOTEBOOK[task][1]}],
           "audios": [str(wav)]} for task in ("prune", "multitask")],
    ]  # fmt: skip
    first = tmp_path / "authors.json"
    first.write_text(json.dumps(records))
    assert swift_json(["import", "--json", str(first), "--out", str(tmp_path / "a.jsonl.gz")]) == 0
    cuts = list(CutSet.from_file(tmp_path / "a.jsonl.gz"))
    fields = [(c.custom["task"], c.custom["context"], c.custom["keywords"],
               c.supervisions[0].text) for c in cuts]  # fmt: skip
    assert fields == [
        ("transcribe", [], [], "the lattice holds paths"),
        ("transcribe_context", ["kaldi", "lattice"], [], "the lattice holds paths"),
        ("prune", ["kaldi", "lattice", "espnet"], ["kaldi", "lattice"], ""),
        ("multitask", ["kaldi", "lattice", "espnet"], ["lattice"], "the lattice holds paths"),
    ]
    again = tmp_path / "ours.json"
    args = ["export", "--cuts", str(tmp_path / "a.jsonl.gz"), "--out", str(again)]
    assert swift_json([*args, "--audio-dir", str(tmp_path / "wav")]) == 0
    assert swift_json(["import", "--json", str(again), "--out", str(tmp_path / "b.jsonl.gz")]) == 0
    back = list(CutSet.from_file(tmp_path / "b.jsonl.gz"))
    assert [(c.custom["task"], c.custom["context"], c.custom["keywords"],
             c.supervisions[0].text, c.recording.sources[0].source) for c in back] == [
        (*f, c.recording.sources[0].source) for f, c in zip(fields, cuts, strict=True)
    ]  # fmt: skip
