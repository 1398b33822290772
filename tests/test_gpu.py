"""The CUDA code paths: bf16 loading, training with DeepSpeed ZeRO-2, decoding on a GPU.

Skipped where no GPU is visible (CI, laptops). On a GPU machine the rest of the suite
runs on the GPU as well (``sap2-train`` picks bf16 there, ``sap2-decode`` the GPU):
``pytest tests/test_gpu.py tests/test_train.py tests/test_decode.py tests/test_model.py``.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO

from sap2.bin.decode import main as decode
from sap2.model.loading import load_sap2_model
from sap2.model.processor import Example, encode_batch
from sap2.model.prompts import Task

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_bf16_model_on_the_gpu_agrees_with_float32(tiny_model_dir):
    audio = (np.random.default_rng(0).standard_normal(16000 * 2) * 0.1).astype(np.float32)
    example = Example(audio, Task.TRANSCRIBE_CONTEXT, ["pooling", "context"], "attention pooling")
    losses = {}
    for dtype in (torch.float32, torch.bfloat16):
        model, processor = load_sap2_model(tiny_model_dir, dtype=dtype, device_map="cuda")
        assert model.dtype == dtype and model.device.type == "cuda"
        batch = encode_batch(processor, [example], with_targets=True).to("cuda")
        with torch.no_grad():
            losses[dtype] = float(model(**batch).loss)
        prompt = encode_batch(processor, [example], with_targets=False).to("cuda")
        tokens = model.generate(**prompt, max_new_tokens=4, min_new_tokens=4, do_sample=False)
        assert tokens.shape[-1] >= 4
    assert abs(losses[torch.bfloat16] - losses[torch.float32]) < 0.05 * losses[torch.float32]


def test_deepspeed_zero2_training_resumes_and_decodes(
    tiny_model_dir, slidespeech_test_cuts, tmp_path
):
    exp = tmp_path / "ds"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")

    def train(steps: int) -> str:
        cmd = [
            "bash", "utils/train.sh", "--ngpu", "1", str(exp),
            "--model-dir", str(tiny_model_dir), "--train-cuts", str(slidespeech_test_cuts),
            "--max-steps", str(steps), "--max-duration", "2.5", "--num-buckets", "2",
            "--save-steps", "2", "--num-workers", "0",
            "--deepspeed", str(REPO / "egs" / "slidespeech" / "conf" / "ds_zero2.json"),
        ]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO, env=env)
        log = (exp / "log" / "train.stdout.log").read_text()
        assert out.returncode == 0, out.stderr + log[-4000:]
        return log

    train(2)
    assert (exp / "checkpoint-2" / "rank0_sampler_state.pt").is_file()
    assert any((exp / "checkpoint-2").glob("global_step*"))  # DeepSpeed's own state
    log = train(4)
    assert "resuming from" in log and "data position restored" in log
    assert (exp / "final" / "adapter_model.safetensors").is_file()

    out = tmp_path / "decode"
    assert decode([
        "--model-dir", str(tiny_model_dir), "--adapter", str(exp / "final"),
        "--cuts", str(slidespeech_test_cuts), "--out-dir", str(out), "--mode", "two_stage",
        "--max-new-tokens", "4",
    ]) == 0  # fmt: skip
    records = [json.loads(line) for line in (out / "hyp.jsonl").read_text().splitlines()]
    assert records and all("hyp" in r for r in records)
