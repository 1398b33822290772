"""Build a small random Qwen2-Audio checkpoint folder laid out like the real one.

The real recipes load ``Qwen2-Audio-7B-Instruct`` from a local folder. Tests, benchmarks
and the CPU mini recipe use the same loading code on a folder written here: a byte-level
BPE tokenizer trained on the given texts (with Qwen2-Audio's special tokens), Whisper
log-mel feature extraction (128 bins, 30 s window), the Qwen2-Audio chat template, and a
randomly initialised ``Qwen2AudioForConditionalGeneration`` saved in the checkpoint
layout of the published model. Nothing is downloaded.

Usage::

    python -m sap2.model.tiny --out exp/tiny_qwen2_audio --texts data/train/text
"""

import argparse
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import (
    Qwen2AudioConfig,
    Qwen2AudioForConditionalGeneration,
    Qwen2AudioProcessor,
    Qwen2Tokenizer,
    WhisperFeatureExtractor,
)

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
AUDIO_TOKENS = ["<|audio_bos|>", "<|audio_eos|>", "<|AUDIO|>"]


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> Qwen2Tokenizer:
    """A Qwen2 byte-level BPE tokenizer trained on ``texts``, with Qwen2-Audio's tokens."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    trained = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in trained["merges"]]
    tokenizer = Qwen2Tokenizer(vocab=trained["vocab"], merges=merges)
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS + AUDIO_TOKENS})
    tokenizer.eos_token = "<|im_end|>"
    tokenizer.pad_token = "<|endoftext|>"
    return tokenizer


def build_tiny_qwen2_audio(
    out_dir: str | Path,
    texts: Sequence[str],
    vocab_size: int = 400,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    audio_dim: int = 32,
    audio_layers: int = 1,
    seed: int = 0,
) -> Path:
    """Write a random Qwen2-Audio model, processor and tokenizer to ``out_dir``.

    Args:
      out_dir: folder to create (the layout of a Hugging Face model folder).
      texts: sentences to train the BPE tokenizer on.
      vocab_size: BPE vocabulary size before special tokens.
      hidden_size, num_layers, num_heads: the Qwen2 language model.
      audio_dim, audio_layers: the Whisper-style audio encoder (always 128 mel bins and
        a 30 s window, as the real one, so the real feature extractor applies).
      seed: seed of the random weights.
    Returns:
      ``out_dir`` as a :class:`~pathlib.Path`.
    """
    out_dir = Path(out_dir)
    tokenizer = train_tokenizer(texts, vocab_size)
    processor = Qwen2AudioProcessor(
        feature_extractor=WhisperFeatureExtractor(feature_size=128),
        tokenizer=tokenizer,
    )
    processor.chat_template = processor.default_chat_template
    config = Qwen2AudioConfig(
        audio_config={
            "model_type": "qwen2_audio_encoder",
            "d_model": audio_dim,
            "encoder_layers": audio_layers,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": 2 * audio_dim,
            "num_mel_bins": 128,
            "max_source_positions": 1500,
        },
        text_config={
            "model_type": "qwen2",
            "vocab_size": len(tokenizer),
            "hidden_size": hidden_size,
            "intermediate_size": 2 * hidden_size,
            "num_hidden_layers": num_layers,
            "num_attention_heads": num_heads,
            "num_key_value_heads": max(1, num_heads // 2),
            "max_position_embeddings": 8192,
            "eos_token_id": tokenizer.convert_tokens_to_ids("<|im_end|>"),
            "pad_token_id": tokenizer.pad_token_id,
        },
        audio_token_index=tokenizer.convert_tokens_to_ids("<|AUDIO|>"),
    )
    torch.manual_seed(seed)
    model = Qwen2AudioForConditionalGeneration(config)
    model.generation_config.eos_token_id = [
        tokenizer.convert_tokens_to_ids("<|im_end|>"),
        tokenizer.convert_tokens_to_ids("<|endoftext|>"),
    ]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    logger.info("wrote a %d-parameter Qwen2-Audio model to %s", model.num_parameters(), out_dir)
    return out_dir


def main(cmd: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--texts", required=True, help="Kaldi text file to train the BPE on")
    parser.add_argument("--vocab-size", type=int, default=400)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(cmd)
    logging.basicConfig(level=logging.INFO)
    lines = Path(args.texts).read_text(encoding="utf-8").splitlines()
    texts = [line.split(maxsplit=1)[1] for line in lines if len(line.split(maxsplit=1)) == 2]
    build_tiny_qwen2_audio(
        args.out, texts, args.vocab_size, args.hidden_size, args.num_layers, seed=args.seed
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
