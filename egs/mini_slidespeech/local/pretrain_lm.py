#!/usr/bin/env python3
"""Stage 4 of egs/mini_slidespeech: pretrain the tiny model's language model on text.

The real recipe starts from Qwen2-Audio, whose language model was pretrained on text and
already copies words from its prompt; the tiny model starts from random weights, and a
few CPU minutes of speech training are not enough to learn copying from scratch (the
first piece of a term is picked from the context, the rest is not copied). This stage
teaches it first, on text alone (no audio, so a step is cheap). Every example is a
pruning prompt whose context is a training utterance's slide context, or its slide
terms alone in random order, with every term renamed to a fresh random word; the target
is one to three of those words. Without audio, which words are picked cannot be
predicted, so the loss teaches only the copy itself: once a word's first piece is
written, its later pieces can only come from the context. The targets hold no
sentences, so the model does not learn to write transcripts it has not heard. With
``--windows 1 2``, each step draws a SAP window as stage 10 does (default: window 1
only); without audio, a window's pooled vector is the mean of its pieces. Only training
text is used.

Usage:
  python local/pretrain_lm.py --model-dir exp/tiny_init --cuts data/cuts/train.jsonl.gz \\
      --out exp/tiny_lm --steps 1500
"""

import argparse
import logging
import math
import random
import sys
from pathlib import Path

import torch
from lhotse import CutSet
from tqdm import tqdm

from sap2.model.loading import load_sap2_model, save_sap2_model
from sap2.model.processor import append_targets
from sap2.model.prompts import PromptTexts, Task, target_text
from sap2.train.renaming import invented_words


def text_example(cut, rng: random.Random) -> tuple[Task, list[str], str]:
    """(task, context, target) of a copy example made from ``cut`` (module docstring)."""
    terms = sorted({t.lower() for t in cut.custom.get("ocr_keywords", [])})
    names = dict(zip(terms, invented_words(rng, len(terms)), strict=True))
    context = [names.get(w.lower(), w) for w in cut.custom.get("context", [])]
    candidates = [w for w in dict.fromkeys(context) if w in names.values()]
    if not candidates or rng.random() < 0.5:  # (OCR may break every term of a slide)
        context = candidates = list(names.values())
        rng.shuffle(context)
    picked = set(rng.sample(candidates, rng.randint(1, min(3, len(candidates)))))
    keywords = [w for w in candidates if w in picked]  # in context order, as pruning writes
    return Task.PRUNE, context, target_text(Task.PRUNE, keywords=keywords)


def encode(processor, examples, prompts: PromptTexts) -> dict[str, torch.Tensor]:
    """Token ids, attention mask and labels (the target and <|im_end|> only), right-padded."""
    prompt_ids = []
    for task, context, _ in examples:
        messages = [{"role": "user", "content": prompts.user_prompt(task, context)}]
        prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        prompt_ids.append(processor.tokenizer(prompt, add_special_tokens=False)["input_ids"])
    return append_targets(processor.tokenizer, prompt_ids, [target for _, _, target in examples])


def continuation_pieces(tokenizer) -> torch.Tensor:
    """(vocab,) bool: true for the pieces that continue a word (no word-boundary mark, not
    a special token), the pieces that only copying can predict here."""
    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    special = set(tokenizer.all_special_tokens)
    return torch.tensor([not p.startswith("\u2581") and p not in special for p in pieces])


def copied_later_pieces(
    logits: torch.Tensor, labels: torch.Tensor, later: torch.Tensor
) -> tuple[int, int]:
    """(right, total): argmax predictions of the target's word-continuing pieces."""
    predicted, targets = logits[:, :-1].argmax(-1), labels[:, 1:]
    scored = (targets != -100) & later[targets.clamp_min(0)]
    return int((predicted == targets)[scored].sum()), int(scored.sum())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", required=True, help="tiny model folder (exp/tiny_init)")
    parser.add_argument("--cuts", required=True, help="training cuts with context and ocr_keywords")
    parser.add_argument("--out", required=True, help="folder of the pretrained model")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--windows", type=int, nargs="+", default=[1],
        help="SAP windows, one drawn per step (without audio, a window is a mean)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if min(args.steps, args.batch_size, *args.windows) < 1:
        sys.exit(f"pretrain_lm.py: --steps, --batch-size and --windows must be >= 1, got "
                 f"{args.steps}, {args.batch_size}, {args.windows}")  # fmt: skip
    if not (Path(args.model_dir) / "config.json").is_file():
        sys.exit(f"pretrain_lm.py: {args.model_dir}: no model (config.json)")
    if not Path(args.cuts).is_file():
        sys.exit(f"pretrain_lm.py: {args.cuts}: no such cuts manifest")
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    window_rng = random.Random(args.seed + 1)  # (the examples do not depend on --windows)
    model, processor = load_sap2_model(args.model_dir)
    model.train()
    cuts = [c for c in CutSet.from_file(args.cuts) if c.custom and c.custom.get("ocr_keywords")]
    if not cuts:
        sys.exit(f"pretrain_lm.py: {args.cuts}: no cut has slide terms ('ocr_keywords')")
    prompts = PromptTexts()
    trained = [p for n, p in model.named_parameters() if "audio_tower" not in n]
    optimizer = torch.optim.AdamW(trained, lr=args.learning_rate, weight_decay=0.01)
    warmup = max(1, args.steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * s / args.steps)),
    )
    later = continuation_pieces(processor.tokenizer)
    progress = tqdm(range(args.steps), desc="text pretraining", mininterval=5)
    total, right, scored = 0.0, 0, 0
    for step in progress:
        examples = [text_example(rng.choice(cuts), rng) for _ in range(args.batch_size)]
        if model.context_pooling is not None:
            model.context_pooling.window_size = window_rng.choice(args.windows)
        batch = encode(processor, examples, prompts)
        packed = model.pack_inputs(
            batch["input_ids"], batch["attention_mask"], labels=batch["labels"]
        )
        out = model(
            inputs_embeds=packed.inputs_embeds, attention_mask=packed.attention_mask,
            position_ids=packed.position_ids, labels=packed.labels,
        )  # fmt: skip
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        total += out.loss.item()
        counts = copied_later_pieces(out.logits.detach(), packed.labels, later)
        right, scored = right + counts[0], scored + counts[1]
        if (step + 1) % 100 == 0:
            logging.info("step %d: loss %.3f, later pieces of the words copied right %.2f",
                         step + 1, total / 100, right / max(1, scored))  # fmt: skip
            total, right, scored = 0.0, 0, 0
    if model.context_pooling is not None:
        model.context_pooling.window_size = model.config.sap_window_size
    save_sap2_model(model, processor, args.out)
    logging.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
