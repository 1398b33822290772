"""The data stages of egs/librispeech and egs/slidespeech, end to end on fake corpora."""

import json

import pytest
from conftest import REPO, recipe_copy, run_recipe
from fake_corpora import make_is21_words, make_librispeech, make_slidespeech
from lhotse import CutSet

TRAIN_ARGS = "--max-steps 2 --max-duration 3 --num-buckets 2 --save-steps 2 --num-workers 0"


def test_librispeech_recipe(tmp_path, tiny_model_dir):
    recipe = recipe_copy(tmp_path, "librispeech")
    dl = tmp_path / "dl"
    make_librispeech(dl)
    words = make_is21_words(dl)
    common = ["--dl-dir", str(dl), "--words-dir", str(words), "--train-parts", "train-clean-100"]
    out = run_recipe(recipe, *common, "--num-distractors", "5 10", "--stop-stage", "5")
    assert out.returncode == 0, out.stderr
    data = recipe / "data"
    for part in ("test-clean", "test-other"):
        tsv = (data / "context" / f"{part}.biasing_10.tsv").read_text()
        rows = [line.split("\t") for line in tsv.splitlines()]
        assert len(rows) == len(list(CutSet.from_file(data / "cuts" / f"{part}.jsonl.gz").ids))
        for _utt, _text, rare, words_list in rows:
            assert set(json.loads(rare)) <= set(json.loads(words_list))
            assert len(json.loads(words_list)) == len(json.loads(rare)) + 10
    cuts = {c.id: c for c in CutSet.from_file(data / "cuts" / "test-clean.jsonl.gz")}
    titian = cuts["1188-133604-0000"]
    assert titian.has_custom("biasing_list_5") and titian.has_custom("biasing_list_10")
    distractors = titian.distractors_10
    assert len(distractors) == 10 and not set(distractors) & set(titian.rare_words)
    assert set(distractors) | set(titian.rare_words) == set(titian.biasing_list_10)
    assert titian.rare_words == [
        "continually", "find", "four", "holbein", "me", "men", "speaking", "titian", "will"
    ]  # fmt: skip
    # The most frequent training words, ties in alphabetical order.
    common_words = (data / "lang" / "common_words_5k.txt").read_text().splitlines()
    assert common_words[:2] == ["lynde\t2", "missus\t2"]
    assert "Stage 5: biasing lists" in out.stderr and "lists for 3 utterances in" in out.stderr

    again = run_recipe(recipe, *common, "--stage", "1", "--stop-stage", "1")
    assert again.returncode == 0 and "done, skipping" in again.stderr

    # Training, decoding in JOB=1:2 jobs, scoring and the results table, on a tiny model.
    tiny = ["--model-dir", str(tiny_model_dir), "--ngpu", "0", "--nj", "2"]
    rest = run_recipe(
        recipe, *common, *tiny, "--num-distractors", "5 10", "--stage", "6",
        "--train-args", TRAIN_ARGS, "--decode-conditions", "two_stage no_context",
    )  # fmt: skip
    assert rest.returncode == 0, rest.stderr[-3000:]
    exp = recipe / "exp" / "sap2_train"
    assert (exp / "final" / "adapter_model.safetensors").is_file()
    assert "--stage 10 --stop-stage 10" in (exp / "run.sh").read_text()
    for tag in ("two_stage_N5", "two_stage_N10", "no_context"):
        for part in ("test-clean", "test-other"):
            out = exp / f"decode_{tag}" / part
            lines = (out / "hyp.txt").read_text().splitlines()
            assert len(lines) == {"test-clean": 3, "test-other": 2}[part]
            assert json.loads((out / "scoring" / "wer.json").read_text())["protocol"] == "is21"
            assert (out / "log" / "decode.2.log").is_file()
    # The negative controls at the largest N: distractors alone, and silence and noise.
    controls = exp / "decode_two_stage_distractors_N10" / "test-clean"
    assert len((controls / "hyp.txt").read_text().splitlines()) == 3
    context = dict(
        line.split(" ", 1) for line in (controls / "context.txt").read_text().splitlines()
    )
    cuts = {c.id: c for c in CutSet.from_file(recipe / "data" / "cuts" / "test-clean.jsonl.gz")}
    assert context["1188-133604-0000"].split("$") == cuts["1188-133604-0000"].distractors_10
    nonspeech = exp / "decode_two_stage_N10" / "test-clean_nonspeech"
    assert len((nonspeech / "hyp.txt").read_text().splitlines()) == 6  # 3 silent, 3 noisy
    summary = json.loads((nonspeech / "scoring" / "wer.json").read_text())
    assert summary["wer"]["ref_words"] == 0 and "false_alarms" in summary
    results = (recipe / "RESULTS.md").read_text()
    assert "| two_stage_N10 | sap2_train | test-clean | 3 | 10 |" in results
    assert "| two_stage_N10 | sap2_train | test-clean_nonspeech | 6 | 10 |" in results
    assert "| two_stage_distractors_N10 | sap2_train | test-clean | 3 | 10 |" in results
    assert (recipe / "RESULTS_bwer.png").stat().st_size > 1000


def test_librispeech_missing_corpus(tmp_path):
    recipe = recipe_copy(tmp_path, "librispeech")
    out = run_recipe(
        recipe, "--dl-dir", str(tmp_path / "empty"), "--train-parts", "train-clean-100",
        "--stage", "1", "--stop-stage", "1",
    )  # fmt: skip
    assert out.returncode == 1
    assert "Stage 1" in out.stderr and "no LibriSpeech part here" in out.stderr
    assert "Traceback" not in out.stderr
    bad = run_recipe(recipe, "--stage=1")
    assert bad.returncode == 2 and "instead of '--stage=1'" in bad.stderr


def test_slidespeech_recipe(tmp_path, tiny_model_dir):
    recipe = recipe_copy(tmp_path, "slidespeech")
    corpus = make_slidespeech(tmp_path)
    common = ["--corpus-dir", str(corpus), "--splits", "train test", "--test-sets", "test"]
    out = run_recipe(recipe, *common, "--stop-stage", "6")
    assert out.returncode == 0, out.stderr
    cuts = CutSet.from_file(recipe / "data" / "cuts" / "test.jsonl.gz")
    assert all(c.has_custom("context") and c.has_custom("session") for c in cuts)
    for name in ("text", "keywords", "utt2session"):
        assert (recipe / "data" / "test" / name).is_file()
        assert (recipe / "data" / "test_nonspeech" / name).is_file()  # the controls
    controls = CutSet.from_file(recipe / "data" / "cuts" / "test_nonspeech.jsonl.gz")
    assert len(controls) == 2 * len(cuts) and all(c.has_custom("context") for c in controls)
    records = json.loads((recipe / "data" / "swift" / "test.json").read_text())
    assert len(records) == 4 and "<|startofcontext|>" in records[0]["messages"][0]["content"]

    # Training, decoding one folder per conf/decode/<cond>.yaml, scoring, the results.
    conditions = ["two_stage", "no_context", "two_stage_distractors"]
    rest = run_recipe(
        recipe, *common, "--model-dir", str(tiny_model_dir), "--ngpu", "0", "--stage", "10",
        "--train-args", TRAIN_ARGS, "--decode-conditions", " ".join(conditions),
    )  # fmt: skip
    assert rest.returncode == 0, rest.stderr[-3000:]
    exp = recipe / "exp" / "sap2_train"
    for cond in conditions:
        for name, count in (("test", len(cuts)), ("test_nonspeech", len(controls))):
            folder = exp / f"decode_{cond}" / name
            assert len((folder / "hyp.txt").read_text().splitlines()) == count
            options = json.loads((folder / "decode_options.json").read_text())
            assert options["mode"] == cond.removesuffix("_distractors")
            summary = json.loads((folder / "scoring" / "wer.json").read_text())
            assert summary["protocol"] == "slidespeech" and summary["utterances"] == count
    context = (exp / "decode_two_stage_distractors" / "test" / "context.txt").read_text()
    by_id = {c.id: c for c in cuts}
    for line in context.splitlines():
        utt, words = line.split(" ", 1)
        assert words.split("$") == by_id[utt].custom["context_distractors"]
    assert sorted(p.name for p in exp.glob("decode_*")) == sorted(f"decode_{c}" for c in conditions)
    results = (recipe / "RESULTS.md").read_text()
    assert "| two_stage_distractors | sap2_train | test |" in results


@pytest.mark.parametrize("what", ["no_corpus", "no_segments"])
def test_slidespeech_stage_0_says_how_to_get_the_corpus(tmp_path, what):
    recipe = recipe_copy(tmp_path, "slidespeech")
    corpus = tmp_path / "nowhere"
    if what == "no_segments":
        corpus = make_slidespeech(tmp_path)
        (corpus / "test" / "segments").unlink()
    out = run_recipe(recipe, "--corpus-dir", str(corpus), "--splits", "test", "--stop-stage", "0")
    assert out.returncode == 1
    expected = "slidespeech.github.io" if what == "no_corpus" else "test/segments not found"
    assert "stage 0" in out.stderr and expected in out.stderr


@pytest.mark.parametrize("recipe", ["slidespeech", "librispeech"])
def test_real_recipes_train_as_the_authors_run(recipe):
    # The authors' ms-swift run: LoRA rank 8 (projector included), lr 1e-4, cosine, no
    # warmup, weight decay 0.1; SAP window 2, 4 heads (docs/fidelity.md).
    from sap2.train.config import read_config_file

    conf = read_config_file(REPO / "egs" / recipe / "conf" / "train.yaml")
    expected = {"lora_rank": 8, "lora_alpha": 32, "lora_dropout": 0.05, "projector": "lora",
                "learning_rate": 1e-4, "warmup_ratio": 0.0, "weight_decay": 0.1,
                "num_epochs": 1.0, "sap_window_size": 2, "sap_num_heads": 4}  # fmt: skip
    assert {k: conf[k] for k in expected} == expected


@pytest.mark.parametrize("recipe", ["librispeech", "slidespeech", "mini_slidespeech"])
def test_help_lists_every_stage_and_every_decoding_condition_is_a_file(recipe):
    import re
    import subprocess

    folder = REPO / "egs" / recipe
    out = subprocess.run(["bash", "run.sh", "--help"], cwd=folder, capture_output=True,
                         text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    script = (folder / "run.sh").read_text()
    stages = re.findall(r'if \[ "\$\{stage\}" -le (\d+) \]', script)
    assert stages and stages == sorted(stages, key=int)
    listed = re.findall(r"^ {1,3}(\d+)  \S", out.stdout, flags=re.M)
    assert listed == stages
    # Decoding conditions are conf/decode/<cond>.yaml, read by sap2-decode --config.
    conditions = sorted((folder / "conf" / "decode").glob("*.yaml"))
    assert conditions and "--config" in script and "conf/decode" in script
    from sap2.bin.decode import get_parser
    from sap2.cli import parse_with_config

    for condition in conditions:
        args = parse_with_config(get_parser(), ["--config", str(condition), "--out-dir", "x"])
        assert args.mode in ("two_stage", "multitask", "full_context", "no_context")


@pytest.mark.parametrize("recipe", ["librispeech", "slidespeech"])
def test_a_missing_condition_file_stops_decoding_before_it_starts(tmp_path, recipe):
    folder = recipe_copy(tmp_path, recipe)
    out = run_recipe(folder, "--stage", "20", "--stop-stage", "20",
                     "--decode-conditions", "two_stage nope")  # fmt: skip
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1].endswith("conf/decode/nope.yaml not found")
    assert not (folder / "exp").exists()
