#!/usr/bin/env python3
"""Does the model read its context? Teacher-forced loss with right, wrong and no keywords.

For every test utterance that says a slide term, the transcript's cross-entropy (per
target token) is measured three times: transcription with the terms it says as the
keyword list (the list a perfect pruning stage would give), with as many other terms of
the test set instead, and without context. A model that copies terms from its context
scores "right" well below "none"; one that ignores the context scores all three alike.
Decoding can still miss every term while this shows a partial use of the context, so the
teacher-forced accuracy of the terms' pieces is given too: of their first pieces (which
context word to copy) and of their later pieces (continuing a copy). Keyword lists are
measured at each SAP window given (1: as they are; 2: pooled two to one). The
``pruning`` rows measure the first pass of two-stage decoding the same way: the slide
context (the cut's ``context`` field) in the prompt, the context words said as target,
and the pieces of the terms among them.

For a model trained with an auxiliary CTC loss (``ctc_weight`` > 0), a last line says
what its audio encoder hears alone: the greedy CTC transcripts (through the LM head) of
the same utterances, their word error rate, how many of the terms said they spell, and
how close what they write in a term's place is to it (mean letter similarity, 0 to 1).

Usage:
  python local/context_use.py --model-dir exp/sap2_train/final --cuts data/cuts/test.jsonl.gz \\
      --out exp/sap2_train/context_use.txt --windows 1 2
"""

import argparse
import random
import sys
from pathlib import Path

import jiwer
import torch
from lhotse import CutSet
from pretrain_encoder import features, greedy_transcripts, term_similarity

from sap2.data.dataset import load_audio
from sap2.fileio import atomic_write_text
from sap2.model.loading import load_sap2_model
from sap2.model.processor import Example, encode_batch
from sap2.model.prompts import Task, heard_keywords, target_text


def measure(model, processor, example: Example, terms: list[str]) -> tuple[float, list, list]:
    """Loss per target token and, for each piece of the terms in the target (the
    transcript, or the keywords of a pruning example), whether the argmax prediction is
    right: (loss, first pieces, later pieces)."""
    batch = encode_batch(processor, [example], True)
    with torch.no_grad():
        packed = model.pack_inputs(
            batch["input_ids"], batch["attention_mask"], batch["input_features"],
            batch["feature_attention_mask"], batch["labels"],
        )  # fmt: skip
        out = model(
            inputs_embeds=packed.inputs_embeds, attention_mask=packed.attention_mask,
            position_ids=packed.position_ids, labels=packed.labels,
        )  # fmt: skip
    labels = packed.labels[0]
    positions = (labels != -100).nonzero().flatten().tolist()
    pieces = processor.tokenizer.convert_ids_to_tokens([int(labels[p]) for p in positions])
    words = target_text(example.task, example.transcript, example.keywords).split()
    first, later, word = [], [], -1
    for position, piece in zip(positions, pieces, strict=True):
        word += piece.startswith("\u2581")  # sentencepiece's word-boundary mark
        if 0 <= word < len(words) and words[word] in terms:
            right = int(out.logits[0, position - 1].argmax()) == int(labels[position])
            (first if piece.startswith("\u2581") else later).append(right)
    return float(out.loss), first, later


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", required=True, help="trained model folder (EXP/final)")
    parser.add_argument("--cuts", required=True, help="test cuts with the 'ocr_keywords' field")
    parser.add_argument("--out", required=True, help="output table (text)")
    parser.add_argument("--windows", type=int, nargs="+", default=[1], help="SAP windows")
    parser.add_argument("--seed", type=int, default=0, help="seed of the wrong keywords")
    args = parser.parse_args()
    if min(args.windows) < 1:
        sys.exit(f"context_use.py: --windows must be >= 1, got {args.windows}")
    if not (Path(args.model_dir) / "config.json").is_file():
        sys.exit(f"context_use.py: {args.model_dir}: no trained model (config.json)")
    if not Path(args.cuts).is_file():
        sys.exit(f"context_use.py: {args.cuts}: no such cuts manifest")
    model, processor = load_sap2_model(args.model_dir)
    model.eval()
    cuts = CutSet.from_file(args.cuts).to_eager()
    all_terms = sorted({t.lower() for cut in cuts for t in cut.custom.get("ocr_keywords", [])})
    rng = random.Random(args.seed)
    rows: dict[tuple[str, str], list] = {}
    said_cuts = []
    for cut in cuts:
        text = cut.supervisions[0].text or ""
        said = [t.lower() for t in cut.custom.get("ocr_keywords", []) if t.lower() in text.split()]
        if not said:
            continue
        others = [t for t in all_terms if t not in said]
        wrong = rng.sample(others, min(len(said), len(others)))
        said_cuts.append((cut, said))
        audio = load_audio(cut)
        conditions = [("none", "-", Example(audio, Task.TRANSCRIBE, [], text))]
        context = list(cut.custom.get("context", []))
        pruning = Example(audio, Task.PRUNE, context, text, heard_keywords(context, text))
        for window in args.windows:
            for name, keywords in (("right", said), ("wrong", wrong)):
                example = Example(audio, Task.TRANSCRIBE_CONTEXT, keywords, text)
                conditions.append((name, str(window), example))
            if context:
                conditions.append(("pruning", str(window), pruning))
        for name, window, example in conditions:
            if model.context_pooling is not None and window != "-":
                model.context_pooling.window_size = int(window)
            loss, first, later = measure(model, processor, example, said)
            row = rows.setdefault((name, window), [[], [], []])
            row[0].append(loss)
            row[1] += first
            row[2] += later
    if not said_cuts:
        sys.exit(f"context_use.py: {args.cuts}: no utterance says a term of its slide")
    lines = [
        f"utterances with a slide term: {len(said_cuts)}",
        "keywords\twindow\tloss\tfirst pieces right\tlater pieces right",
    ]
    for (name, window), (losses, first, later) in rows.items():
        lines.append(
            f"{name}\t{window}\t{sum(losses) / len(losses):.3f}\t"
            f"{sum(first) / max(1, len(first)):.2f}\t{sum(later) / max(1, len(later)):.2f}"
        )
    if model.config.ctc_weight > 0:
        items = features(processor, [cut for cut, _ in said_cuts])
        heard = greedy_transcripts(model, processor, items)
        references = [text for _, _, text in items]
        terms_said = sum(len(said) for _, said in said_cuts)
        terms_heard, similarity = 0, []
        for (_, said), reference, hypothesis in zip(said_cuts, references, heard, strict=True):
            terms_heard += sum(t in hypothesis.split() for t in said)
            similarity += term_similarity(reference, hypothesis, set(said))
        lines.append(
            f"audio encoder alone (greedy CTC): WER {100 * jiwer.wer(references, heard):.2f}, "
            f"terms spelt right {terms_heard} of {terms_said}, letter similarity "
            f"{sum(similarity) / max(1, len(similarity)):.2f}"
        )
    atomic_write_text(args.out, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
