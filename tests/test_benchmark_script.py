"""The benchmark scripts run on small inputs (score_speed.py also cross-checks sap2
against its baseline); no timing is asserted: speed is reported by the benchmarks."""

import json
import random

import pytest
from conftest import load_script


def test_score_speed_on_a_small_synthetic_set(tmp_path, capsys):
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(30)]
    (tmp_path / "ref").mkdir()
    (tmp_path / "hyp").mkdir()
    ref_lines, hyp_lines = [], []
    for k in range(40):
        ref = rng.choices(vocab, k=rng.randint(1, 15))
        hyp = [w for w in ref if rng.random() > 0.2] + rng.choices(vocab, k=rng.randint(0, 2))
        rare = sorted(set(ref) & set(vocab[:8]))
        ref_lines.append(f"u{k}\t{' '.join(ref)}\t{json.dumps(rare)}\t{json.dumps(rare)}\n")
        hyp_lines.append(f"u{k}\t{' '.join(hyp)}\n")
    (tmp_path / "ref" / "test-clean.biasing_100.tsv").write_text("".join(ref_lines))
    (tmp_path / "hyp" / "test-clean.fake.tsv").write_text("".join(hyp_lines))

    bench = load_script("benchmarks/score_speed.py")
    assert bench.main(["--is21-dir", str(tmp_path), "--system", "fake", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "x 10: 400 utterances, identical counts" in out
    assert "target: command line at least 5x the baseline" in out
    assert "alignment + counting" in out


def test_real_size_benchmark_runs_small_on_a_cpu(capsys):
    bench = load_script("benchmarks/real_size.py")
    args = ["--size", "small", "--device", "cpu", "--dtype", "float32", "--words", "30"]
    assert bench.main([*args, "--repeat", "1", "--seconds", "1", "--new-tokens", "3"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    rows = [row for row in rows if row and row[0] == "30"]
    assert [row[1] for row in rows] == ["1", "2", "4"]
    assert all(float(row[3]) > 0 and float(row[6]) > 0 and float(row[9]) > 0 for row in rows)
    assert rows[0][4] == "1.00"  # window 1 is the baseline of the ratios


def test_real_size_benchmark_refuses_bad_options(capsys):
    bench = load_script("benchmarks/real_size.py")
    for args in (["--size", "small", "--device", "cpu", "--repeat", "0"], ["--seconds", "-1"]):
        with pytest.raises(SystemExit) as exit_info:
            bench.main(args)
        assert exit_info.value.code == 2
        assert "must be >= 1" in capsys.readouterr().err
