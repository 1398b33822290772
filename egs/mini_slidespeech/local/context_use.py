#!/usr/bin/env python3
"""Does the model read its context? Teacher-forced loss with right, wrong and no keywords.

For every test utterance that says a slide term, the transcript's cross-entropy (per
target token) is measured three times: transcription with the terms it says as the
keyword list (the list a perfect pruning stage would give), with as many other terms of
the test set instead, and without context. A model that copies terms from its context
scores "right" well below "none"; one that ignores the context scores all three alike.
Decoding can still miss every term while this shows a partial use of the context.

Usage:
  python local/context_use.py --model-dir exp/sap2_train/final --cuts data/cuts/test.jsonl.gz \\
      --out exp/sap2_train/context_use.txt
"""

import argparse
import random
import sys
from pathlib import Path

import torch
from lhotse import CutSet

from sap2.data.dataset import load_audio
from sap2.fileio import atomic_write_text
from sap2.model.loading import load_sap2_model
from sap2.model.processor import Example, encode_batch
from sap2.model.prompts import Task


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", required=True, help="trained model folder (EXP/final)")
    parser.add_argument("--cuts", required=True, help="test cuts with the 'ocr_keywords' field")
    parser.add_argument("--out", required=True, help="text file for the three mean losses")
    parser.add_argument("--window", type=int, default=1, help="SAP window size")
    parser.add_argument("--seed", type=int, default=0, help="seed of the wrong keywords")
    args = parser.parse_args()
    if not (Path(args.model_dir) / "config.json").is_file():
        sys.exit(f"context_use.py: {args.model_dir}: no trained model (config.json)")
    if not Path(args.cuts).is_file():
        sys.exit(f"context_use.py: {args.cuts}: no such cuts manifest")
    model, processor = load_sap2_model(args.model_dir, sap_window_size=args.window)
    model.eval()
    cuts = CutSet.from_file(args.cuts).to_eager()
    all_terms = sorted({t.lower() for cut in cuts for t in cut.custom.get("ocr_keywords", [])})
    rng = random.Random(args.seed)
    losses: dict[str, list[float]] = {"right": [], "wrong": [], "none": []}
    for cut in cuts:
        text = cut.supervisions[0].text or ""
        said = [t.lower() for t in cut.custom.get("ocr_keywords", []) if t.lower() in text.split()]
        if not said:
            continue
        others = [t for t in all_terms if t not in said]
        wrong = rng.sample(others, min(len(said), len(others)))
        audio = load_audio(cut)
        for name, task, keywords in (
            ("right", Task.TRANSCRIBE_CONTEXT, said),
            ("wrong", Task.TRANSCRIBE_CONTEXT, wrong),
            ("none", Task.TRANSCRIBE, []),
        ):
            batch = encode_batch(processor, [Example(audio, task, keywords, text)], True)
            with torch.no_grad():
                losses[name].append(float(model(**batch).loss))
    if not losses["right"]:
        sys.exit(f"context_use.py: {args.cuts}: no utterance says a term of its slide")
    lines = [f"utterances with a slide term: {len(losses['right'])}, window {args.window}"]
    lines += [f"{name}\t{sum(v) / len(v):.3f}" for name, v in losses.items()]
    atomic_write_text(args.out, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
