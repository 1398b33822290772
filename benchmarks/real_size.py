#!/usr/bin/env python3
"""Cost of SAP² at the size of Qwen2-Audio-7B-Instruct: LoRA training steps, prefill and
decoding with long biasing lists, at SAP window 1 (no compression), 2 and 4.

The model has the shapes of the published checkpoint (a Whisper-large-sized audio
encoder of 32 layers of 1280, a 7B Qwen language model of 32 layers of 4096 and a
vocabulary of 156,032) with random weights, built directly on the device: no download.
Its processor is a small sentencepiece one from :mod:`sap2.model.tiny` (Qwen2-Audio's
128 log-mel bins and 30 s window); a real tokenizer gives about as many tokens for the
common words and fewer for the rare ones, so the token counts are printed. Every step
runs sap2's own code: :func:`~sap2.model.processor.encode_batch`, the SAP² model class,
:func:`~sap2.model.lora.apply_lora` with ``sap2-train``'s defaults (rank 8, audio encoder frozen)
with gradient checkpointing, and ``generate``.

For each biasing list of N words (a training batch of 4 utterances of 10 s that each
carry the whole list; the pruning prompt of one utterance at decoding), it measures

* one optimisation step (forward, backward, AdamW): time and peak device memory;
* the prefill of the pruning prompt: time and peak memory;
* generating 30 tokens with the KV cache;

and prints ratios against window 1 measured in the same run. On a GPU timings are the
best of ``--repeat`` after a warm-up, synchronised; ``--size small`` builds a model of the
same layout with small dimensions (a quick check of this script on a CPU).

Usage:
  python benchmarks/real_size.py                       # one GPU with about 40 GB free
  python benchmarks/real_size.py --words 500 2000 --repeat 5
  python benchmarks/real_size.py --size small --device cpu --dtype float32 --words 50
"""

import argparse
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from random import Random

import numpy as np
import torch

from sap2.data.invented_words import invented_words
from sap2.model.loading import sap2_config_from
from sap2.model.lora import apply_lora
from sap2.model.modeling_sap2 import Sap2ForConditionalGeneration
from sap2.model.processor import Example, add_context_tokens, encode_batch, load_processor
from sap2.model.prompts import Task
from sap2.model.tiny import build_tiny_qwen2_audio
from sap2.train.config import TrainConfig

WINDOWS = (1, 2, 4)
# Qwen2-Audio-7B-Instruct's config.json; "small" keeps the layout at CPU size.
SHAPES = {
    "7b": {
        "text": {"vocab_size": 156032, "hidden_size": 4096, "intermediate_size": 11008,
                 "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32},
        "audio": {"d_model": 1280, "encoder_layers": 32, "encoder_attention_heads": 20,
                  "encoder_ffn_dim": 5120},
    },
    "small": {
        "text": {"vocab_size": 4096, "hidden_size": 128, "intermediate_size": 256,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4},
        "audio": {"d_model": 64, "encoder_layers": 2, "encoder_attention_heads": 2,
                  "encoder_ffn_dim": 128},
    },
}  # fmt: skip


def build_model(
    size: str, device: torch.device, dtype: torch.dtype
) -> tuple[Sap2ForConditionalGeneration, object]:
    """A random SAP² model of ``size`` on ``device`` and a small processor for it."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_tiny_qwen2_audio(
            Path(tmp) / "processor", [" ".join(invented_words(Random(s), 40)) for s in range(200)],
            vocab_size=2000, hidden_size=32, num_layers=1, audio_dim=32,
        )  # fmt: skip
        processor = load_processor(folder)
        tiny = sap2_config_from(folder)
        text = {**tiny.text_config.to_dict(), **SHAPES[size]["text"], "tie_word_embeddings": False}
        audio = {**tiny.audio_config.to_dict(), **SHAPES[size]["audio"]}
        text.pop("layer_types", None)  # derived from the number of layers
        config = sap2_config_from(
            folder, text_config=text, audio_config=audio, tie_word_embeddings=False
        )
    with torch.device(device):
        model = Sap2ForConditionalGeneration._from_config(
            config, dtype=dtype, attn_implementation="sdpa"
        )
    add_context_tokens(processor, model)
    return model, processor


def timed(fn: Callable[[], object], device: torch.device, repeat: int) -> tuple[float, float]:
    """Best time in seconds of ``fn`` after one warm-up, and peak device memory in GiB
    (0 on a CPU)."""
    cuda = device.type == "cuda"
    fn()
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if cuda else 0.0
    return min(times), peak


def batch_of(processor, words: list[str], task: Task, utterances: int, seconds: float,
             with_targets: bool, device: torch.device) -> dict:  # fmt: skip
    rng = np.random.default_rng(0)
    examples = [
        Example(
            (rng.standard_normal(int(16000 * seconds)) * 0.1).astype(np.float32),
            task,
            words,
            transcript=" ".join(words[k : k + 20]),
            keywords=words[k : k + 3],
        )  # fmt: skip
        for k in range(utterances)
    ]
    return dict(encode_batch(processor, examples, with_targets=with_targets).to(device))


def measure(
    lora: torch.nn.Module, optimizer: torch.optim.Optimizer, train: dict, prune: dict,
    args: argparse.Namespace,
) -> tuple[float, float, float, float, float]:  # fmt: skip
    """Training step time and GiB, prefill time and GiB, generation time."""
    device = torch.device(args.device)

    def train_step() -> None:
        lora.train()
        loss = lora(**train).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if not torch.isfinite(loss):
            raise RuntimeError(f"training loss is {loss.item()}")

    def generate() -> None:
        lora.generate(**prune, max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
                      do_sample=False)  # fmt: skip

    train_s, train_gib = timed(train_step, device, args.repeat)
    lora.eval()
    with torch.no_grad():
        prefill_s, prefill_gib = timed(lambda: lora(**prune, use_cache=True), device, args.repeat)
        generate_s, _ = timed(generate, device, args.repeat)
    return train_s, train_gib, prefill_s, prefill_gib, generate_s


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--size", choices=sorted(SHAPES), default="7b")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", choices=("bfloat16", "float32"), default="bfloat16")
    parser.add_argument("--words", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--batch", type=int, default=4, help="utterances per training step")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each utterance")
    parser.add_argument("--new-tokens", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3, help="timings are the best of N")
    return parser


def main(cmd: Sequence[str] | None = None) -> int:
    parser = get_parser()
    args = parser.parse_args(cmd)
    if min(*args.words, args.batch, args.repeat, args.new_tokens) < 1 or args.seconds <= 0:
        parser.error("--words, --batch, --repeat and --new-tokens must be >= 1, --seconds > 0")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: no CUDA GPU visible (--size small --device cpu)")
    device, dtype = torch.device(args.device), getattr(torch, args.dtype)
    torch.manual_seed(0)
    start = time.perf_counter()
    model, processor = build_model(args.size, device, dtype)
    model.config.use_cache = False
    lora_options = TrainConfig()  # the LoRA settings of sap2-train's defaults
    lora = apply_lora(
        model, rank=lora_options.lora_rank, alpha=lora_options.lora_alpha,
        dropout=lora_options.lora_dropout, train_audio_encoder=lora_options.train_audio_encoder,
    )  # fmt: skip
    lora.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    trainable = [p for p in lora.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-6)
    print(f"model: {args.size}, {model.num_parameters() / 1e9:.2f} B parameters "
          f"({sum(p.numel() for p in trainable) / 1e6:.1f} M trained), {args.dtype} on "
          f"{torch.cuda.get_device_name(device) if device.type == 'cuda' else device}, "
          f"built in {time.perf_counter() - start:.1f} s; attention "
          f"{model.config._attn_implementation}; best of {args.repeat}")  # fmt: skip
    print(f"training: {args.batch} utterances of {args.seconds:g} s, each with the whole list; "
          f"decoding: the pruning prompt of one; x = window 1 / window w")  # fmt: skip
    print(f"{'words':>6} {'w':>2} {'tokens':>7} {'train s':>8} {'x':>5} {'GiB':>6} "
          f"{'prefill s':>9} {'x':>5} {'GiB':>6} {'gen s':>7} {'x':>5}")  # fmt: skip

    for num_words in args.words:
        words = invented_words(Random(1), num_words)  # stand-ins for the rare words of a list
        train = batch_of(processor, words, Task.TRANSCRIBE_CONTEXT, args.batch, args.seconds,
                         True, device)  # fmt: skip
        prune = batch_of(processor, words, Task.PRUNE, 1, args.seconds, False, device)
        base = None
        for window in WINDOWS:
            model.context_pooling.window_size = window
            row = measure(lora, optimizer, train, prune, args)
            base = base or row
            print(f"{num_words:>6} {window:>2} {int(train['attention_mask'][0].sum()):>7} "
                  f"{row[0]:8.3f} {base[0] / row[0]:5.2f} {row[1]:6.1f} "
                  f"{row[2]:9.3f} {base[2] / row[2]:5.2f} {row[3]:6.1f} "
                  f"{row[4]:7.3f} {base[4] / row[4]:5.2f}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
