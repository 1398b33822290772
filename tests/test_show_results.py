"""sap2-show-results: the table, the comparison with the no-context decode, the systems."""

import json

from sap2.bin.show_results import main


def _counts(errors: int, words: int) -> dict:
    return {"ref_words": words, "subs": errors, "ins": 0, "dels": 0,
            "error_rate": 100.0 * errors / words}  # fmt: skip


def _scored(
    exp, system: str, tag: str, u_errors: int, b_errors: int, pruning=None, provenance=None,
    false_alarms=None,
) -> None:  # fmt: skip
    set_dir = exp / system / f"decode_{tag}" / "test"
    (set_dir / "scoring").mkdir(parents=True)
    summary = {
        "protocol": "slidespeech", "utterances": 10,
        "wer": _counts(u_errors + b_errors, 100), "u_wer": _counts(u_errors, 80),
        "b_wer": _counts(b_errors, 20),
    }  # fmt: skip
    if pruning:
        summary["pruning"] = pruning
    if false_alarms:
        summary["false_alarms"] = false_alarms
    (set_dir / "scoring" / "wer.json").write_text(json.dumps(summary))
    stats = {"context_tokens": 12.5, "rtf": 0.01, "peak_memory_gb": 1.5}
    if provenance:
        stats["provenance"] = provenance
    (set_dir / "decode_stats.json").write_text(json.dumps(stats))


def test_table_comparison_and_systems(tmp_path):
    exp = tmp_path / "exp"
    provenance = {
        "options": {"model_dir": str(exp / "lm"), "adapter": str(exp / "sap2_train" / "final")},
        "model_config_sha256": "a" * 64, "adapter_weights_sha256": "b" * 64,
        "git_commit": "c" * 40, "git_dirty": False,
    }  # fmt: skip
    _scored(exp, "sap2_train", "no_context", 4, 20, provenance=provenance)
    _scored(
        exp, "sap2_train", "two_stage_w2", 5, 13, {"recall": 40.0, "precision": 50.0},
        provenance={**provenance, "git_dirty": True},
        false_alarms={"count": 3, "per_100_words": 3.0, "per_utterance": 0.3, "utterances": 10},
    )  # fmt: skip
    _scored(exp, "other", "no_context", 0, 10)
    _scored(exp, "other", "full_context", 2, 10)
    (exp / "sap2_train" / "config.yaml").write_text(
        "model_dir: exp/tiny_lm\np_no_context: 0.1\nsap_window_mix: 1 2 2\nlearning_rate: 0.001\n"
    )
    out, plot = tmp_path / "RESULTS.md", tmp_path / "RESULTS.png"
    assert main([str(exp), "--out", str(out), "--plot", str(plot)]) == 0
    text = out.read_text()
    row = (
        "| two_stage_w2 | sap2_train | test | 10 | - | 18.00 | 6.25 | 65.00 | 40.00 | 50.00 "
        "| 3 | 3.00 | 12.50 | 0.01 | 1.50 |"
    )
    assert row in text
    table = [line for line in text.splitlines() if line.endswith("| 0.01 | 1.50 |")]
    assert [line.split(" | ")[0:2] for line in table] == [  # each system's baseline first
        ["| no_context", "other"], ["| full_context", "other"],
        ["| no_context", "sap2_train"], ["| two_stage_w2", "sap2_train"],
    ]  # fmt: skip
    comparison = text.split("## Against no_context", 1)[1]
    # 4 -> 5 U errors of 80 is +25 %; 20 -> 13 B errors of 20 is -35 %.
    assert "| no_context | sap2_train | test | - | 4 / 80 | - | 20 / 20 | - |" in comparison
    row = "| two_stage_w2 | sap2_train | test | - | 5 / 80 | +25.00 % | 13 / 20 | -35.00 % |"
    assert row in comparison
    # No relative change against a baseline without errors.
    assert "| full_context | other | test | - | 2 / 80 | - | 10 / 20 | +0.00 % |" in comparison
    systems = text.split("## Systems", 1)[1]
    assert (
        "- sap2_train: 2 decodes of exp/sap2_train/final; trained with model_dir exp/tiny_lm, "
        "context dropout (p_no_context 0.1), sap_window_mix 1 2 2; config aaaaaaaa, adapter "
        "bbbbbbbb, git ccccccc | config aaaaaaaa, adapter bbbbbbbb, git ccccccc, dirty\n"
    ) in systems
    assert "- other: 2 decodes of exp/other/final\n" in systems  # no provenance recorded
    assert "learning_rate" not in systems
    assert plot.read_bytes().startswith(b"\x89PNG")

    notes = tmp_path / "notes.md"
    notes.write_text("## Targets\n\nB-WER 30 % lower.\n")
    args = [str(exp), "--out", str(out), "--plot", str(plot), "--baseline", ""]
    assert main([*args, "--notes", str(notes)]) == 0
    assert "## Against" not in out.read_text()
    assert out.read_text().endswith("dirty\n\n## Targets\n\nB-WER 30 % lower.\n")
    assert main([str(exp), "--out", str(out), "--plot", str(plot), "--baseline", "none"]) == 0
    assert "## Against" not in out.read_text()


def test_bad_input_is_one_line_and_leaves_no_table(tmp_path, capsys):
    out = tmp_path / "RESULTS.md"
    assert main([str(tmp_path / "exp"), "--out", str(out), "--plot", str(tmp_path / "p.png")]) == 1
    assert "no */decode_*/*/scoring/wer.json" in capsys.readouterr().err
    exp = tmp_path / "exp"
    _scored(exp, "sys", "no_context", 1, 1)
    wer_json = exp / "sys" / "decode_no_context" / "test" / "scoring" / "wer.json"
    good = wer_json.read_text()
    for bad, message in (("{", "not JSON"), ('{"utterances": 3}', "not a sap2-score --json")):
        wer_json.write_text(bad)
        assert main([str(exp), "--out", str(out), "--plot", str(tmp_path / "p.png")]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(wer_json) in err and message in err, err
        assert not out.exists()
    wer_json.write_text(good)
    for bad, message in (("a: [", "not valid YAML"), ("- a list", "not a YAML mapping")):
        (exp / "sys" / "config.yaml").write_text(bad)
        assert main([str(exp), "--out", str(out), "--plot", str(tmp_path / "p.png")]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "config.yaml: " + message in err, err
        assert not out.exists()
    (exp / "sys" / "config.yaml").unlink()
    wer_json.unlink()
    _scored(exp, "sys", "two_stage", 1, 1)
    missing = tmp_path / "missing.md"
    args = [str(exp), "--out", str(out), "--plot", str(tmp_path / "p.png"), "--notes", str(missing)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{missing}: cannot read the notes" in err, err


def test_labels_name_and_order_the_rows(tmp_path, capsys):
    exp = tmp_path / "exp"
    _scored(exp, "sap2_x", "two_stage_w2", 5, 13)
    _scored(exp, "sap2_x", "no_context", 4, 20)
    _scored(exp, "whisper", "no_context", 6, 18)
    _scored(exp, "whisper", "extra", 6, 18)
    labels = tmp_path / "labels.yaml"
    labels.write_text(
        "whisper/no_context: Whisper alone\n'*/no_context': SAP² model, no context\n"
        "'*/two_stage_w2': SAP² two-stage, w=2\n"
    )
    out, plot = tmp_path / "RESULTS.md", tmp_path / "RESULTS.png"
    assert main([str(exp), "--out", str(out), "--plot", str(plot), "--labels", str(labels)]) == 0
    table = [line for line in out.read_text().splitlines() if line.endswith("| 0.01 | 1.50 |")]
    assert [line.split(" | ")[0] for line in table] == [
        "| Whisper alone", "| SAP² model, no context", "| SAP² two-stage, w=2", "| extra",
    ]  # fmt: skip
    assert plot.read_bytes().startswith(b"\x89PNG")
    labels.write_text("no_context: a tag without its system\n")
    assert main([str(exp), "--out", str(out), "--plot", str(plot), "--labels", str(labels)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expected '<system>/<decode tag>: label'" in err


def test_list_sizes_share_a_label_and_get_their_own_panels(tmp_path):
    exp = tmp_path / "exp"
    _scored(exp, "sap2", "no_context", 4, 20)
    _scored(exp, "sap2", "two_stage", 5, 9)  # the same condition without a list size
    for n, b_errors in ((0, 8), (20, 10), (100, 14)):  # N100 sorts before N20 as text
        _scored(exp, "sap2", f"two_stage_N{n}", 5, b_errors)
    labels = tmp_path / "labels.yaml"
    labels.write_text('"*/no_context": alone\n"*/two_stage": slides\n'
                      '"*/two_stage_N": two-stage, N distractors\n')  # fmt: skip
    out, plot = tmp_path / "RESULTS.md", tmp_path / "RESULTS.png"
    assert main([str(exp), "--out", str(out), "--plot", str(plot), "--labels", str(labels)]) == 0
    rows = [line.split(" | ")[:5] for line in out.read_text().splitlines()
            if line.endswith("| 1.50 |")]  # fmt: skip
    assert rows == [
        ["| alone", "sap2", "test", "10", "-"],
        ["| slides", "sap2", "test", "10", "-"],
        *[["| two-stage, N distractors", "sap2", "test", "10", n] for n in ("0", "20", "100")],
    ]
    from PIL import Image

    with Image.open(plot) as image:  # bars, B-WER against N, RTF against N
        width, height = image.size
    assert width == 3 * 7 * 120 and height == int(4.5 * 120)


def test_rows_without_reference_words_are_compared_as_undefined(tmp_path):
    exp = tmp_path / "exp"
    _scored(exp, "sap2", "no_context", 4, 20)
    _scored(exp, "sap2", "full_context", 3, 10)
    for tag, written in (("no_context", 5), ("full_context", 2)):  # silence: nothing said
        summary_path = exp / "sap2" / f"decode_{tag}" / "test" / "scoring" / "wer.json"
        control = summary_path.parent.parent.parent / "test_nonspeech" / "scoring"
        control.mkdir(parents=True)
        empty = {"ref_words": 0, "subs": 0, "ins": written, "dels": 0, "error_rate": None}
        summary = {"protocol": "slidespeech", "utterances": 4, "wer": empty, "u_wer": empty,
                   "b_wer": {**empty, "ins": 0, "error_rate": 0.0}}  # fmt: skip
        (control / "wer.json").write_text(json.dumps(summary))
    out, plot = tmp_path / "RESULTS.md", tmp_path / "RESULTS.png"
    assert main([str(exp), "--out", str(out), "--plot", str(plot)]) == 0
    text = out.read_text()
    assert "| full_context | sap2 | test_nonspeech | - | 2 / 0 | - | 0 / 0 | - |" in text
    assert "| full_context | sap2 | test_nonspeech | 4 | - | - | - | 0.00 |" in text
