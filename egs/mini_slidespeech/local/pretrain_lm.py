#!/usr/bin/env python3
"""Stage 3 of egs/mini_slidespeech: pretrain the tiny model's language model on text.

The real recipe starts from Qwen2-Audio, whose language model was pretrained on text and
already copies words from its prompt; the tiny model starts from random weights, and a
few CPU minutes of speech training are not enough to learn copying from scratch. This
stage teaches it first, on text alone (no audio, so a step is cheap): next-token
training of the language model on the SAP² prompts and targets of the training
utterances (transcription with the heard keywords or the whole slide context, and
pruning), where every slide term is replaced, in the context and the target alike, by a
fresh random word for each example. The pieces of such a word can only be predicted by
copying them from the context. Only training text is used.

Usage:
  python local/pretrain_lm.py --model-dir exp/tiny_init --cuts data/cuts/train.jsonl.gz \\
      --out exp/tiny_lm --steps 1500
"""

import argparse
import logging
import math
import random
import shutil
import sys
from pathlib import Path

import torch
from lhotse import CutSet
from make_corpus import invented_words
from tqdm import tqdm

from sap2.model.loading import load_sap2_model
from sap2.model.processor import append_targets
from sap2.model.prompts import PromptTexts, Task, heard_keywords, target_text

TASKS = (Task.TRANSCRIBE_CONTEXT, Task.TRANSCRIBE_CONTEXT, Task.PRUNE)  # 2 : 1


def text_example(cut, rng: random.Random) -> tuple[Task, list[str], str]:
    """(task, context, target) of a cut with its slide terms renamed at random."""
    transcript = cut.supervisions[0].text or ""
    terms = {t.lower() for t in cut.custom.get("ocr_keywords", [])}
    names = dict(zip(sorted(terms), invented_words(rng, len(terms)), strict=True))
    context = [names.get(w.lower(), w) for w in cut.custom.get("context", [])]
    transcript = " ".join(names.get(w, w) for w in transcript.split())
    keywords = heard_keywords(context, transcript)
    task = rng.choice(TASKS)
    if task is Task.TRANSCRIBE_CONTEXT and rng.random() < 0.7:
        context = keywords
    return task, context, target_text(task, transcript, keywords)


def encode(processor, examples, prompts: PromptTexts) -> dict[str, torch.Tensor]:
    """Token ids, attention mask and labels (the target and <|im_end|> only), right-padded."""
    prompt_ids = []
    for task, context, _ in examples:
        messages = [{"role": "user", "content": prompts.user_prompt(task, context)}]
        prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        prompt_ids.append(processor.tokenizer(prompt, add_special_tokens=False)["input_ids"])
    return append_targets(processor.tokenizer, prompt_ids, [target for _, _, target in examples])


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
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.steps < 1 or args.batch_size < 1:
        sys.exit(f"pretrain_lm.py: --steps and --batch-size must be >= 1, got {args.steps}, "
                 f"{args.batch_size}")  # fmt: skip
    if not (Path(args.model_dir) / "config.json").is_file():
        sys.exit(f"pretrain_lm.py: {args.model_dir}: no model (config.json)")
    if not Path(args.cuts).is_file():
        sys.exit(f"pretrain_lm.py: {args.cuts}: no such cuts manifest")
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    model, processor = load_sap2_model(args.model_dir)
    model.train()
    cuts = [c for c in CutSet.from_file(args.cuts) if c.has_custom("context")]
    if not cuts:
        sys.exit(f"pretrain_lm.py: {args.cuts}: no cut has a 'context' field")
    prompts = PromptTexts()
    trained = [p for n, p in model.named_parameters() if "audio_tower" not in n]
    optimizer = torch.optim.AdamW(trained, lr=args.learning_rate, weight_decay=0.01)
    warmup = max(1, args.steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * s / args.steps)),
    )
    progress = tqdm(range(args.steps), desc="text pretraining", mininterval=5)
    total = 0.0
    for step in progress:
        examples = [text_example(rng.choice(cuts), rng) for _ in range(args.batch_size)]
        batch = encode(processor, examples, prompts)
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        total += float(loss)
        if (step + 1) % 100 == 0:
            logging.info("step %d: loss %.3f", step + 1, total / 100)
            total = 0.0
    tmp = Path(f"{args.out}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    processor.save_pretrained(tmp)
    shutil.rmtree(args.out, ignore_errors=True)
    tmp.rename(args.out)
    logging.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
