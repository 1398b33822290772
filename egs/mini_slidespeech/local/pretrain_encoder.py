#!/usr/bin/env python3
"""Stage 3 of egs/mini_slidespeech: pretrain the tiny model's audio encoder with CTC.

The real recipe starts from Qwen2-Audio, whose audio encoder has heard a great deal of
speech; the tiny model's starts from random weights. In stage 10 it learns from the
auxiliary CTC loss (``ctc_weight``) and the language model's loss together, and within
a few CPU minutes that teaches it the common words but not the sounds of a term: its
greedy CTC transcripts spell none of the test terms, and the word it writes in a term's
place shares few letters with it. This stage trains the encoder alone first, with the
CTC loss of each training utterance's transcript through the (tied) LM head, the loss
stage 10 adds. A step runs the encoder only, so it is several times cheaper than a
step of stage 10. The features of the training utterances are computed once and kept
in memory. At the end, the greedy CTC transcripts of ``--valid-cuts`` (dev) are scored:
their WER and the mean letter similarity of each slide term said to what was written
in its place (0: nothing in common, 1: spelt right).

Usage:
  python local/pretrain_encoder.py --model-dir exp/tiny_init --cuts data/cuts/train.jsonl.gz \\
      --valid-cuts data/cuts/dev.jsonl.gz --out exp/tiny_ctc --steps 2000
"""

import argparse
import difflib
import logging
import math
import random
import sys
from pathlib import Path

import jiwer
import torch
from lhotse import CutSet
from tqdm import tqdm

from sap2.data.dataset import load_audio
from sap2.model.loading import load_sap2_model, save_sap2_model
from sap2.model.modeling_sap2 import audio_ctc_loss
from sap2.model.processor import Example, transcript_ids


def features(processor, cuts: CutSet) -> list[tuple[torch.Tensor, torch.Tensor, str]]:
    """(log-mel features, frame mask, transcript) of every cut, padded to the window."""
    extractor = processor.feature_extractor
    out = []
    for cut in tqdm(cuts, desc="features", mininterval=5):
        f = extractor(
            load_audio(cut), sampling_rate=extractor.sampling_rate, return_tensors="pt",
            return_attention_mask=True,
        )  # fmt: skip
        text = cut.supervisions[0].text or ""
        out.append((f["input_features"][0], f["attention_mask"][0], text))
    return out


def ctc_collapse(best: list[int], blank: int) -> list[int]:
    """Greedy CTC decoding of the best token per frame: repeats merged, blanks dropped."""
    return [t for i, t in enumerate(best) if t != blank and (i == 0 or t != best[i - 1])]


def greedy_transcripts(model, processor, items, batch_size: int = 32) -> list[str]:
    """The greedy CTC transcripts of ``(features, frame mask, _)`` items."""
    blank = model.config.ctc_blank_token_id
    transcripts = []
    with torch.no_grad():
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            encoded, lengths = model.encode_audio(
                torch.stack([c[0] for c in chunk]), torch.stack([c[1] for c in chunk])
            )
            best = model.lm_head(encoded).argmax(-1)
            for row, length in zip(best.tolist(), lengths.tolist(), strict=True):
                tokens = ctc_collapse(row[:length], blank)
                transcripts.append(processor.tokenizer.decode(tokens).strip())
    return transcripts


def term_similarity(reference: str, hypothesis: str, terms: set[str]) -> list[float]:
    """For each term said in ``reference``, the letter similarity (difflib ratio) of the
    words aligned to it in ``hypothesis`` (0 where it was deleted)."""
    ref, hyp = reference.split(), hypothesis.split()
    scores = []
    matcher = difflib.SequenceMatcher(a=ref, b=hyp, autojunk=False)
    for _, a1, a2, b1, b2 in matcher.get_opcodes():
        written = " ".join(hyp[b1:b2])
        for word in ref[a1:a2]:
            if word in terms:
                scores.append(difflib.SequenceMatcher(a=word, b=written).ratio())
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", required=True, help="tiny model folder (exp/tiny_init)")
    parser.add_argument("--cuts", required=True, help="training cuts")
    parser.add_argument("--valid-cuts", help="cuts to report greedy CTC on (with ocr_keywords)")
    parser.add_argument("--out", required=True, help="folder of the pretrained model")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=12, help="utterances per step")
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if min(args.steps, args.batch_size) < 1:
        sys.exit(f"pretrain_encoder.py: --steps and --batch-size must be >= 1, got "
                 f"{args.steps}, {args.batch_size}")  # fmt: skip
    if not (Path(args.model_dir) / "config.json").is_file():
        sys.exit(f"pretrain_encoder.py: {args.model_dir}: no model (config.json)")
    for cuts in (args.cuts, args.valid_cuts):
        if cuts and not Path(cuts).is_file():
            sys.exit(f"pretrain_encoder.py: {cuts}: no such cuts manifest")
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    model, processor = load_sap2_model(args.model_dir)
    # The blank of sap2-train's CTC loss (sap2/bin/train.py): the padding token.
    blank = model.config.ctc_blank_token_id = processor.tokenizer.pad_token_id
    train = features(processor, CutSet.from_file(args.cuts))
    if not train:
        sys.exit(f"pretrain_encoder.py: {args.cuts}: no cuts")
    # The encoder, its projector and the LM head (tied to the input embeddings) learn.
    modules = (model.model.audio_tower, model.model.multi_modal_projector, model.lm_head)
    trained = [p for module in modules for p in module.parameters()]
    optimizer = torch.optim.AdamW(trained, lr=args.learning_rate, weight_decay=0.01)
    warmup = max(1, args.steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * s / args.steps)),
    )
    model.train()
    total = 0.0
    for step in tqdm(range(args.steps), desc="encoder pretraining", mininterval=5):
        batch = rng.sample(train, min(args.batch_size, len(train)))
        encoded, lengths = model.encode_audio(
            torch.stack([b[0] for b in batch]), torch.stack([b[1] for b in batch])
        )
        examples = [Example(None, transcript=b[2]) for b in batch]
        labels = transcript_ids(processor.tokenizer, examples)
        loss = audio_ctc_loss(model.lm_head(encoded), lengths, labels, blank)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        total += loss.item()
        if (step + 1) % 100 == 0:
            logging.info("step %d: CTC loss %.3f", step + 1, total / 100)
            total = 0.0
    model.eval()
    if args.valid_cuts:
        cuts = CutSet.from_file(args.valid_cuts).to_eager()
        heard = greedy_transcripts(model, processor, features(processor, cuts))
        references = [cut.supervisions[0].text or "" for cut in cuts]
        similarity = []
        for cut, reference, hypothesis in zip(cuts, references, heard, strict=True):
            terms = {t.lower() for t in (cut.custom or {}).get("ocr_keywords", [])}
            similarity += term_similarity(reference, hypothesis, terms)
        logging.info(
            "%s, greedy CTC: WER %.2f, letter similarity of the %d terms said %.2f",
            args.valid_cuts, 100 * jiwer.wer(references, heard), len(similarity),
            sum(similarity) / max(1, len(similarity)),
        )  # fmt: skip
    save_sap2_model(model, processor, args.out)
    logging.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
