"""egs/mini_slidespeech end to end with a much smaller corpus and a few training steps."""

import shutil

import pytest
from conftest import recipe_copy, run_recipe
from lhotse import CutSet

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (apt-get install espeak-ng)",
)


def test_every_stage_runs_and_writes_well_formed_outputs(tmp_path):
    recipe = recipe_copy(tmp_path, "mini_slidespeech")
    out = run_recipe(
        recipe, "--corpus-dir", str(tmp_path / "corpus"), "--train-talks", "3", "--test-talks", "1",
        "--train-args", "--max-steps 3 --num-workers 0", "--ctc-steps", "3", "--lm-steps", "3",
        "--nj", "1",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    corpus = tmp_path / "corpus"
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
    assert all(c.has_custom("context") and c.duration <= 6 for c in cuts)
    # The encoder's CTC pretraining reported what it hears of the dev set, and the text
    # pretraining started from its model.
    assert "dev.jsonl.gz, greedy CTC: WER " in out.stderr
    assert (recipe / "exp" / "tiny_ctc" / "model.safetensors").is_file()
    assert "exp/tiny_ctc -> exp/tiny_lm" in out.stderr
    # Text pretraining saved a model with the context tokens, which training starts from.
    lm_config = (recipe / "exp" / "tiny_lm" / "config.json").read_text()
    assert "context_start_token_id" in lm_config
    exp = recipe / "exp" / "sap2_train"
    assert (exp / "final" / "model.safetensors").is_file()
    # Stage 10 respelt the terms of the corpus's spelling families (one per line).
    families = (corpus / "train" / "spelling_families").read_text().splitlines()
    assert families and all(len(line.split()) > 1 for line in families)
    assert "spelling_families: " in (exp / "config.yaml").read_text()
    tags = ["no_context", "full_context_w1", "two_stage_speech_w2", "two_stage_mean_w2",
            "two_stage_speech_w2_constrained"]  # fmt: skip
    for tag in tags:
        scoring = exp / f"decode_{tag}" / "test" / "scoring"
        assert (scoring / "wer.txt").read_text().startswith("WER: error_rate=")
    # The constrained pruning pass wrote only words of each utterance's context.
    contexts = {c.id: set(c.context) for c in cuts}
    constrained = exp / "decode_two_stage_speech_w2_constrained" / "test" / "keywords.txt"
    for line in constrained.read_text().splitlines():
        utt, *keywords = line.split(maxsplit=1)
        assert set("".join(keywords).split("$")) - {""} <= contexts[utt], line
    use = [line.split("\t") for line in (exp / "context_use_test.txt").read_text().splitlines()]
    assert [row[:2] for row in use[2:-1]] == [
        ["none", "-"], ["right", "1"], ["wrong", "1"], ["pruning", "1"],
        ["right", "2"], ["wrong", "2"], ["pruning", "2"],
    ]  # fmt: skip
    for row in use[2:-1]:  # loss, first and later pieces right
        assert float(row[2]) > 0 and all(0 <= float(share) <= 1 for share in row[3:5]), row
    # conf/train.yaml trains with a CTC loss: what the audio encoder hears alone.
    assert use[-1][0].startswith("audio encoder alone (greedy CTC): WER ")
    results = (recipe / "RESULTS.md").read_text()
    assert all(f"| {tag} | test |" in results for tag in tags)
    assert "| pruning precision | context tokens |" in results
    # Each condition against no context, and the one model behind them all.
    against = results.split("## Against no_context", 1)[1]
    assert all(f"| sap2_train | {tag} | test |" in against for tag in tags)
    assert "- sap2_train: 5 decodes of one trained model" in results
    assert "context dropout (p_no_context 0.1)" in results
    assert results.endswith((recipe / "local" / "results_notes.md").read_text())
    assert (recipe / "RESULTS.png").read_bytes().startswith(b"\x89PNG")
    # A rerun of the corpus stage skips the synthesis.
    again = run_recipe(recipe, "--corpus-dir", str(corpus), "--stop-stage", "0")
    assert again.returncode == 0 and "done, skipping" in again.stderr
