#!/usr/bin/env python3
"""Prefill cost of long contexts with and without SAP compression, and KV-cache decoding.

Builds a small random Qwen2-Audio (same code paths as the 7B model, CPU, float32) and
measures, for biasing contexts of 100, 500, 1000 and 2000 words:

* prefill time: one forward pass over the packed prompt (audio encoder included);
* prefill peak memory: the growth of the process's peak resident memory during it;

at SAP window 1 (no compression), 2 and 4; and the time to generate 50 tokens greedily
with the KV cache (``model.generate``) and without it (re-reading the whole sequence at
every step, :func:`greedy_without_cache`). Each setting runs in a fresh process so that
peak memory is its own. Ratios are against window 1 (and against decoding without the
cache), measured in the same run.

Usage:
  python benchmarks/sap_prefill.py
  python benchmarks/sap_prefill.py --words 100 500 --hidden-size 256 --repeat 2
"""

import argparse
import json
import random
import resource
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from sap2.model.loading import load_sap2_model
from sap2.model.modeling_sap2 import Sap2ForConditionalGeneration
from sap2.model.processor import Example, encode_batch
from sap2.model.prompts import Task
from sap2.model.tiny import build_tiny_qwen2_audio

WINDOWS = (1, 2, 4)


def pseudo_words(count: int, seed: int = 0) -> list[str]:
    """Distinct lower-case pseudo-words of 4-10 letters (a stand-in for rare words)."""
    rng = random.Random(seed)
    words: dict[str, None] = {}
    while len(words) < count:
        words["".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 10)))] = None
    return list(words)


def build_model(out_dir: Path, args: argparse.Namespace) -> None:
    words = pseudo_words(3000)
    texts = [" ".join(words[i : i + 12]) for i in range(0, len(words), 12)]
    build_tiny_qwen2_audio(
        out_dir, texts, vocab_size=2000, hidden_size=args.hidden_size,
        num_layers=args.num_layers, num_heads=8, audio_dim=64, audio_layers=2,
    )  # fmt: skip


def example(num_words: int) -> Example:
    audio = (np.random.default_rng(0).standard_normal(16000 * 5) * 0.1).astype(np.float32)
    return Example(audio, Task.PRUNE, pseudo_words(num_words, seed=1))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def greedy_without_cache(
    model: Sap2ForConditionalGeneration, batch: dict, max_new_tokens: int
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Greedy decoding that re-reads the whole packed sequence at every step (no KV
    cache): the baseline of cached generation. Returns the tokens (B, N) and the raw
    logits of each step."""
    packed = model.pack_inputs(
        batch["input_ids"], batch["attention_mask"], batch["input_features"],
        batch["feature_attention_mask"], padding_side="left",
    )  # fmt: skip
    embeds, mask = packed.inputs_embeds, packed.attention_mask
    tokens, logits = [], []
    for _ in range(max_new_tokens):
        positions = (mask.cumsum(-1) - 1).clamp_min(0)
        step = model(inputs_embeds=embeds, attention_mask=mask, position_ids=positions,
                     use_cache=False).logits[:, -1]  # fmt: skip
        token = step.argmax(-1)
        tokens.append(token)
        logits.append(step)
        embeds = torch.cat([embeds, model.get_input_embeddings()(token)[:, None]], dim=1)
        mask = torch.cat([mask, mask.new_ones(len(mask), 1)], dim=1)
    return torch.stack(tokens, dim=1), logits


def run_worker(args: argparse.Namespace) -> dict:
    """One setting, in this process: prefill (or decoding) time and peak memory."""
    torch.set_num_threads(args.threads)
    model, processor = load_sap2_model(args.model_dir, sap_window_size=args.window)
    model.eval()
    batch = encode_batch(processor, [example(args.num_words)], with_targets=False)
    start_rss = peak_rss_mb()
    with torch.no_grad():
        if args.decode is None:
            packed = model.pack_inputs(
                batch["input_ids"], batch["attention_mask"], batch["input_features"],
                batch["feature_attention_mask"], padding_side="left",
            )  # fmt: skip
            seconds = best_time(lambda: model(**batch, use_cache=True), args.repeat)
            return {
                "seconds": seconds,
                "peak_mb": peak_rss_mb() - start_rss,
                "prompt_tokens": int(batch["attention_mask"].sum()),
                "packed_tokens": int(packed.attention_mask.sum()),
            }
        if args.decode == "cache":
            run = lambda: model.generate(  # noqa: E731
                **batch, max_new_tokens=50, min_new_tokens=50, do_sample=False
            )
        else:
            run = lambda: greedy_without_cache(model, batch, 50)  # noqa: E731
        return {"seconds": best_time(run, args.repeat)}


def worker(model_dir: Path, args: argparse.Namespace, **setting) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--model-dir", str(model_dir),
           "--repeat", str(args.repeat), "--threads", str(args.threads)]  # fmt: skip
    for name, value in setting.items():
        cmd += [f"--{name.replace('_', '-')}", str(value)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--words", type=int, nargs="+", default=[100, 500, 1000, 2000])
    parser.add_argument("--hidden-size", type=int, default=512)
    parser.add_argument("--num-layers", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help="timings are the best of N")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--decode-words", type=int, default=100, help="context of the decoding run")
    worker_group = parser.add_argument_group("internal (one setting per process)")
    worker_group.add_argument("--worker", action="store_true")
    worker_group.add_argument("--model-dir")
    worker_group.add_argument("--window", type=int, default=1)
    worker_group.add_argument("--num-words", type=int, default=100)
    worker_group.add_argument("--decode", choices=("cache", "no-cache"))
    return parser


def main(cmd: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(cmd)
    if args.worker:
        print(json.dumps(run_worker(args)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        build_model(model_dir, args)
        print(f"model: Qwen2-Audio layout, hidden {args.hidden_size}, {args.num_layers} layers, "
              f"CPU float32, {args.threads} threads; audio 5 s; best of {args.repeat}")  # fmt: skip
        print()
        header = f"{'words':>6} {'tokens':>7} " + " ".join(
            f"{'w=' + str(w) + ' s':>9} {'x':>5}" for w in WINDOWS
        ) + " " + " ".join(f"{'w=' + str(w) + ' MB':>9} {'x':>5}" for w in WINDOWS)  # fmt: skip
        print("prefill time (s) and peak memory growth (MB); x = window 1 / window w")
        print(header)
        for words in args.words:
            runs = {w: worker(model_dir, args, window=w, num_words=words) for w in WINDOWS}
            base = runs[1]
            cells = [f"{words:>6} {base['prompt_tokens']:>7}"]
            cells += [f"{runs[w]['seconds']:9.3f} {base['seconds'] / runs[w]['seconds']:5.2f}"
                      for w in WINDOWS]  # fmt: skip
            cells += [f"{runs[w]['peak_mb']:9.1f} "
                      f"{base['peak_mb'] / max(runs[w]['peak_mb'], 1e-9):5.2f}"
                      for w in WINDOWS]  # fmt: skip
            print(" ".join(cells))
        print()
        cached = worker(model_dir, args, window=2, num_words=args.decode_words, decode="cache")
        uncached = worker(model_dir, args, window=2, num_words=args.decode_words, decode="no-cache")
        print(f"generate 50 tokens ({args.decode_words} words, window 2): "
              f"KV cache {cached['seconds']:.3f} s, no cache {uncached['seconds']:.3f} s, "
              f"speed-up {uncached['seconds'] / cached['seconds']:.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
