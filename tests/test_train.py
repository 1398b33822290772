"""sap2-train on a tiny model: configuration, training examples, kill and resume, gloo DDP."""

import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO
from lhotse import CutSet
from safetensors.torch import load_file

from sap2.bin.train import get_parser
from sap2.errors import InputError
from sap2.model.modeling_sap2 import audio_ctc_loss
from sap2.model.processor import load_processor
from sap2.model.prompts import Task
from sap2.train.config import config_from_args
from sap2.train.examples import TrainingExamples
from sap2.train.trainer import (
    alignment_ctc_loss,
    step_window_size,
    transcript_tokens,
    two_phase_cosine,
)


@pytest.fixture
def train_cuts(slidespeech_test_cuts):
    return slidespeech_test_cuts


def parse(*args):
    return config_from_args(get_parser().parse_args(list(args)))


def test_config_yaml_then_command_line(tmp_path):
    conf = tmp_path / "train.yaml"
    conf.write_text("model_dir: m\ntrain_cuts: c\nlora_rank: 16\nsap_window_size: 4\n")
    config = parse("--config", str(conf), "--sap-window-size", "3", "--bf16", "false")
    assert (config.lora_rank, config.sap_window_size, config.bf16) == (16, 3, "false")
    assert config.task_weights()["prune"] == pytest.approx(0.3)
    conf.write_text("model_dir: m\ntrain_cuts: c\nlora_rnk: 16\n")
    with pytest.raises(InputError, match="unknown keys lora_rnk"):
        parse("--config", str(conf))
    with pytest.raises(InputError, match="--train-cuts is required"):
        parse("--model-dir", "m")
    with pytest.raises(InputError, match="task proportions"):
        parse("--model-dir", "m", "--train-cuts", "c", "--task-prune", "0", "--task-transcribe",
              "0", "--task-transcribe-context", "0", "--task-multitask", "0")  # fmt: skip
    with pytest.raises(InputError, match="sap_window_mix must be window sizes >= 1"):
        parse("--model-dir", "m", "--train-cuts", "c", "--sap-window-mix", "1 two")
    assert parse(
        "--model-dir", "m", "--train-cuts", "c", "--sap-window-mix", "1 2"
    ).window_sizes() == [1, 2]
    with pytest.raises(SystemExit):  # window 1 is "no compression": there is no mode none
        parse("--model-dir", "m", "--train-cuts", "c", "--sap-mode", "none")


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("p-long-context", "1.5", r"a number in \[0, 1\], got 1.5"),
        ("ctc-weight", "1", r"a number in \[0, 1\), got 1"),
        ("learning-rate", "-1", "a number > 0"),
        ("lora-rank", "-1", "an integer >= 0"),
        ("warmup-ratio", "2", r"a number in \[0, 1\]"),
        ("gradient-accumulation-steps", "0", "an integer > 0"),
        ("num-buckets", "1", "an integer >= 2"),
        ("bf16", "maybe", "one of auto, true, false"),
    ],
)
def test_bad_numbers_are_usage_errors_on_the_command_line_and_named_in_yaml(
    tmp_path, capsys, option, value, expected
):
    with pytest.raises(SystemExit) as exit_info:
        parse("--model-dir", "m", "--train-cuts", "c", f"--{option}", value)
    assert exit_info.value.code == 2
    assert re.search(f"argument --{option}: expected {expected}", capsys.readouterr().err)
    conf = tmp_path / "train.yaml"
    conf.write_text(f"model_dir: m\ntrain_cuts: c\n{option.replace('-', '_')}: {value}\n")
    with pytest.raises(InputError, match=f"{conf}: {option.replace('-', '_')}: expected"):
        parse("--config", str(conf))


def test_yaml_numbers_are_typed_when_the_config_is_read(tmp_path, capsys):
    conf = tmp_path / "train.yaml"
    conf.write_text("model_dir: m\ntrain_cuts: c\nlearning_rate: 1e-3\nnum_epochs: 2\n")
    config = parse("--config", str(conf))
    assert config.learning_rate == 0.001 and isinstance(config.num_epochs, float)
    assert get_parser().parse_args(["--config", str(conf), "--print-config"])
    from sap2.bin.train import main

    assert main(["--config", str(conf), "--print-config"]) == 0
    assert "learning_rate: 0.001\n" in capsys.readouterr().out


def test_print_config_into_a_closed_pipe_ends_quietly():
    cmd = [sys.executable, "-m", "sap2.bin.train", "--model-dir", "m", "--train-cuts", "c",
           "--print-config"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the tool writes (as `| head` can be)
    stderr = proc.stderr.read().decode()
    assert proc.wait() == 1 and "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_training_examples_mix_tasks_and_drop_context(train_cuts):
    config = parse(
        "--model-dir", "m", "--train-cuts", "c", "--p-no-context", "0.2", "--p-long-context", "0.5"
    )  # fmt: skip
    make = TrainingExamples(config)
    cuts = CutSet.from_file(train_cuts).to_eager()
    audio = np.zeros(10, dtype=np.float32)
    tasks, shown_long = [], []
    for epoch in range(60):
        make.set_epoch(epoch)
        for cut in cuts:
            example = make(cut, audio)
            tasks.append(example.task)
            if example.task in (Task.PRUNE, Task.MULTITASK):
                assert list(example.context) == cut.context
                assert set(example.keywords) <= set(cut.supervisions[0].text.split())
            if example.task is Task.TRANSCRIBE_CONTEXT:
                long = list(example.context) == cut.context
                assert long or list(example.context) == list(example.keywords)
                shown_long.append(long)
    share = {t: tasks.count(t) / len(tasks) for t in Task}
    assert np.mean(shown_long) == pytest.approx(0.5, abs=0.1)
    assert share[Task.TRANSCRIBE] == pytest.approx(0.2 + 0.8 * 0.1, abs=0.07)
    assert share[Task.PRUNE] == pytest.approx(0.8 * 0.3, abs=0.07)
    cut = cuts["talk1-0001"]
    assert make(cut, audio).task == make(cut, audio).task  # deterministic per epoch


def test_window_size_per_step_is_reproducible_and_uses_every_size():
    draws = [step_window_size([1, 2, 4], seed=7, step=k) for k in range(60)]
    assert draws == [step_window_size([1, 2, 4], seed=7, step=k) for k in range(60)]
    assert set(draws) == {1, 2, 4}
    assert draws != [step_window_size([1, 2, 4], seed=8, step=k) for k in range(60)]
    weighted = [step_window_size([1, 2, 2], seed=7, step=k) for k in range(300)]
    assert 1.5 < weighted.count(2) / weighted.count(1) < 2.7  # a size listed twice: twice as often


def run_train(tiny_model_dir, cuts, exp, *extra, **popen):
    cmd = [
        sys.executable, "-m", "sap2.bin.train", "--model-dir", str(tiny_model_dir),
        "--train-cuts", str(cuts), "--exp-dir", str(exp), "--max-steps", "6",
        "--max-duration", "2.5", "--num-buckets", "2", "--save-steps", "2",
        "--num-workers", "0", "--log-batches", "true", "--lora-dropout", "0",
        "--sap-window-mix", "1 2 3", *extra,
    ]  # fmt: skip
    return subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **popen
    )


def test_killed_training_resumes_exactly(tiny_model_dir, train_cuts, tmp_path):
    straight = run_train(tiny_model_dir, train_cuts, tmp_path / "a")
    assert straight.wait() == 0, straight.stderr.read()
    interrupted = run_train(tiny_model_dir, train_cuts, tmp_path / "b", start_new_session=True)
    marker = tmp_path / "b" / "checkpoint-2" / "rank0_sampler_state.pt"
    deadline = time.time() + 120
    while not marker.exists() and interrupted.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(interrupted.pid, signal.SIGKILL)
    interrupted.wait()
    assert not (tmp_path / "b" / "final").exists()
    # As if a later kill had come while checkpoint-4 was being written:
    partial = tmp_path / "b" / "checkpoint-4"
    partial.mkdir(exist_ok=True)
    (partial / "adapter_model.safetensors").write_bytes(b"\x00" * 10)
    (partial / "rank0_sampler_state.pt").unlink(missing_ok=True)
    resumed = run_train(tiny_model_dir, train_cuts, tmp_path / "b")
    assert resumed.wait() == 0
    log = resumed.stderr.read()
    assert "checkpoint-4 is incomplete" in log
    assert "resuming from" in log and "checkpoint-2\n" in log and "data position restored" in log

    # Same batches at every step (the last logged wins after a resume) ...
    def steps(exp: Path) -> dict[str, str]:
        lines = (exp / "batches.txt").read_text().splitlines()
        return dict(line.split(" ", 1) for line in lines)

    assert steps(tmp_path / "b") == steps(tmp_path / "a")
    assert len(steps(tmp_path / "a")) == 6
    # ... and, with optimizer, scheduler and data restored, the same weights.
    a = load_file(tmp_path / "a" / "final" / "adapter_model.safetensors")
    b = load_file(tmp_path / "b" / "final" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-6
    assert (tmp_path / "a" / "config.yaml").is_file() and (
        tmp_path / "a" / "log" / "train.log"
    ).is_file()
    assert any((tmp_path / "a" / "runs").rglob("events.out.tfevents*"))  # TensorBoard
    assert sorted(p.name for p in (tmp_path / "a").glob("checkpoint-*")) == [
        "checkpoint-4",
        "checkpoint-6",
    ]
    # A crafted sampler state is refused, not run (pickle would call os.system).
    crafted = tmp_path / "a" / "checkpoint-6" / "rank0_sampler_state.pt"
    crafted.write_bytes(pickle.dumps(RunsCode(f"touch {tmp_path / 'PWNED'}")))
    again = run_train(tiny_model_dir, train_cuts, tmp_path / "a")
    assert again.wait() == 1
    err = again.stderr.read()
    assert f"{crafted}: not a sampler state written by sap2-train" in err
    assert "Traceback" not in err and not (tmp_path / "PWNED").exists()
    # A rerun with other settings is refused before anything is written.
    saved = (tmp_path / "a" / "config.yaml").read_bytes()
    other = run_train(tiny_model_dir, train_cuts, tmp_path / "a", "--lora-rank", "4", "--seed", "1")
    assert other.wait() == 1
    err = other.stderr.read()
    assert "other settings (lora_rank 8 -> 4; seed 42 -> 1)" in err and "Traceback" not in err
    assert (tmp_path / "a" / "config.yaml").read_bytes() == saved


class RunsCode:
    """Unpickling this runs a shell command: what a hostile checkpoint would hold."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_two_cpu_processes_with_gloo(tiny_model_dir, train_cuts, tmp_path):
    # utils/train.sh picks torchrun for --ngpu 2; on CPUs the processes talk through gloo.
    exp = tmp_path / "ddp"
    cmd = [
        "bash", "utils/train.sh", "--ngpu", "2", "--master-port", "29533", str(exp),
        "--model-dir", str(tiny_model_dir), "--train-cuts", str(train_cuts), "--max-steps", "2",
        "--max-duration", "2.5", "--num-buckets", "2", "--save-steps", "2", "--num-workers", "0",
    ]  # fmt: skip
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
    log = (exp / "log" / "train.stdout.log").read_text()
    assert out.returncode == 0, out.stderr + log[-3000:]
    assert log.startswith("# torchrun --nnodes 1 --node-rank 0")
    checkpoint = exp / "checkpoint-2"
    assert (checkpoint / "rank0_sampler_state.pt").is_file()
    assert (checkpoint / "rank1_sampler_state.pt").is_file()
    assert (exp / "final" / "adapter_model.safetensors").is_file()


def test_projector_alignment_steps_train_the_projector_alone(tiny_model_dir, train_cuts, tmp_path):
    exp = tmp_path / "align"
    cmd = [
        sys.executable, "-m", "sap2.bin.train", "--model-dir", str(tiny_model_dir),
        "--train-cuts", str(train_cuts), "--exp-dir", str(exp), "--max-steps", "3",
        "--max-duration", "2.5", "--num-buckets", "2", "--save-steps", "1",
        "--save-total-limit", "3", "--num-workers", "0", "--lora-dropout", "0",
        "--align-projector-steps", "2", "--learning-rate", "1e-2",
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    weights = [load_file(exp / f"checkpoint-{s}" / "adapter_model.safetensors") for s in (1, 2, 3)]
    lora = [k for k in weights[0] if "lora_" in k and "language_model" in k]
    projector = [k for k in weights[0] if "multi_modal_projector" in k]
    assert lora and projector

    def moved(keys, a, b):
        return any(not torch.equal(weights[a][k], weights[b][k]) for k in keys)

    assert moved(projector, 0, 1) and not moved(lora, 0, 1)  # steps 1-2: CTC, no LLM
    assert moved(lora, 1, 2)  # step 3: the LLM loss


def test_alignment_ctc_loss_is_ctc_of_cosine_logits_over_the_transcript_tokens():
    torch.manual_seed(0)
    embeddings = torch.randn(50, 8)
    features = torch.randn(2, 7, 8, requires_grad=True)
    lengths = torch.tensor([7, 5])
    labels = torch.tensor([[3, 9, 9, 20], [41, 3, -100, -100]])
    tokens, blank = torch.tensor([3, 9, 20, 41, 44]), 0
    cosine = torch.nn.functional.cosine_similarity(features[:, :, None], embeddings, dim=-1)
    excluded = torch.ones(50, dtype=torch.bool)
    excluded[[*tokens.tolist(), blank]] = False
    full = audio_ctc_loss((16 * cosine).masked_fill(excluded, float("-inf")), lengths, labels, 0)
    loss = alignment_ctc_loss(features, lengths, labels, embeddings, tokens, blank)
    assert torch.allclose(loss, full)
    # Only the direction of a position counts: scaling the features changes nothing.
    scaled = alignment_ctc_loss(3 * features, lengths, labels, embeddings, tokens, blank)
    assert torch.allclose(scaled, loss)


def test_transcript_tokens_cover_every_training_transcript(tiny_model_dir, train_cuts):
    tokenizer = load_processor(tiny_model_dir).tokenizer
    cuts = CutSet.from_file(train_cuts)
    tokens = set(transcript_tokens(tokenizer, cuts).tolist())
    for cut in cuts:
        ids = tokenizer(cut.supervisions[0].text, add_special_tokens=False)["input_ids"]
        assert set(ids) <= tokens
    assert len(tokens) < len(tokenizer)


def test_two_phase_schedule_restarts_its_warmup_and_cosine_after_the_alignment():
    lrs = [two_phase_cosine(10, 30, 0.2, step) for step in range(30)]
    assert lrs[0] == 0 and lrs[2] == 1 and lrs[9] < 0.05  # warmup 2, cosine to ~0 at 10
    assert lrs[10] == 0 and lrs[14] == 1 and lrs[29] < 0.01  # warmup 4 of 20, then cosine
    assert all(a >= b for a, b in zip(lrs[14:], lrs[15:], strict=False))
