"""Build a small random Qwen2-Audio checkpoint folder laid out like the real one.

The real recipes load ``Qwen2-Audio-7B-Instruct`` from a local folder. Tests, benchmarks
and the CPU mini recipe use the same loading code on a folder written here: a sentencepiece
BPE tokenizer trained on the given texts (with Qwen2-Audio's special tokens), Whisper
log-mel feature extraction (by default 128 bins and a 30 s window as in Qwen2-Audio;
smaller for a fast CPU model), the Qwen2-Audio chat template, and a
randomly initialised ``Qwen2AudioForConditionalGeneration`` saved in the checkpoint
layout of the published model. Nothing is downloaded.

From the shell: ``sap2-tiny-model`` (:mod:`sap2.bin.tiny_model`).
"""

import logging
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import sentencepiece
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    PreTrainedTokenizerFast,
    Qwen2AudioConfig,
    Qwen2AudioForConditionalGeneration,
    Qwen2AudioProcessor,
    WhisperFeatureExtractor,
)
from transformers.tokenization_utils_sentencepiece import SentencePieceExtractor

from sap2.model.prompts import PromptTexts

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
AUDIO_TOKENS = ["<|audio_bos|>", "<|audio_eos|>", "<|AUDIO|>"]
# The text of Qwen2-Audio's chat template around the special tokens.
CHAT_TEMPLATE_WORDS = ["system", "You are a helpful assistant.", "user", "Audio 1:", "assistant"]


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A sentencepiece BPE tokenizer trained on ``texts`` and, as often, on the SAP²
    prompts and the chat template's words, with byte fallback for unseen characters and
    Qwen2-Audio's special tokens.

    The trained pieces and merges run on the ``tokenizers`` backend, so the processor
    saves and loads the tokenizer like any Hugging Face one. Every text segment gets
    sentencepiece's word-boundary mark, also right after a special token: a keyword at
    the start of the context span (``<|startofcontext|>k1 k2``) then has the same pieces
    as in a transcript, which a model trained from scratch needs to learn to copy it.
    ``vocab_size`` counts the 256 byte pieces; a small corpus may give fewer pieces.
    """
    texts = list(texts)
    prompts = PromptTexts()
    # Every example the model reads holds the chat turns and a task prompt: weigh them
    # as often as the texts, so that their words become whole pieces (short prompts).
    fixed = [*CHAT_TEMPLATE_WORDS, prompts.transcribe, prompts.transcribe_context, prompts.prune]
    sentences = texts + fixed * max(1, len(texts))
    with tempfile.TemporaryDirectory() as tmp:
        model_file = Path(tmp) / "spm.model"
        with model_file.open("wb") as writer:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=iter(sentences), model_writer=writer, model_type="bpe",
                vocab_size=vocab_size, hard_vocab_limit=False, byte_fallback=True,
                character_coverage=1.0, unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1,
                normalization_rule_name="identity", minloglevel=2,
            )  # fmt: skip
        vocab, _, merges = SentencePieceExtractor(str(model_file)).extract()
    backend = Tokenizer(
        models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True)
    )
    backend.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="always", split=False)
    backend.decoder = decoders.Sequence(
        [
            decoders.Replace("\u2581", " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Strip(" ", 1, 0),
        ]
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>")
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS + AUDIO_TOKENS})
    tokenizer.eos_token = "<|im_end|>"
    tokenizer.pad_token = "<|endoftext|>"
    return tokenizer


def build_tiny_qwen2_audio(
    out_dir: str | Path,
    texts: Sequence[str],
    vocab_size: int = 400,
    tie_word_embeddings: bool = False,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    audio_dim: int = 32,
    audio_layers: int = 1,
    num_mel_bins: int = 128,
    window_seconds: int = 30,
    hop_length: int = 160,
    seed: int = 0,
) -> Path:
    """Write a random Qwen2-Audio model, processor and tokenizer to ``out_dir``.

    Args:
      out_dir: folder to create (the layout of a Hugging Face model folder).
      texts: sentences to train the BPE tokenizer on.
      vocab_size: sentencepiece vocabulary size (256 byte pieces included) before the
        special tokens.
      tie_word_embeddings: share the input embeddings and the output projection.
      hidden_size, num_layers, num_heads: the Qwen2 language model.
      audio_dim, audio_layers: the Whisper-style audio encoder.
      num_mel_bins, window_seconds, hop_length: the log-mel features (Qwen2-Audio: 128
        bins, 30 s, 10 ms hops); a shorter window and longer hops make a CPU model fast.
      seed: seed of the random weights.
    Returns:
      ``out_dir`` as a :class:`~pathlib.Path`.
    """
    out_dir = Path(out_dir)
    tokenizer = train_tokenizer(texts, vocab_size)
    processor = Qwen2AudioProcessor(
        feature_extractor=WhisperFeatureExtractor(
            feature_size=num_mel_bins, hop_length=hop_length, chunk_length=window_seconds
        ),
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
            "num_mel_bins": num_mel_bins,
            # the first convolution keeps the frame rate, the second halves it
            "max_source_positions": window_seconds * 16000 // hop_length // 2,
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
            "tie_word_embeddings": tie_word_embeddings,
            "eos_token_id": tokenizer.convert_tokens_to_ids("<|im_end|>"),
            "pad_token_id": tokenizer.pad_token_id,
        },
        audio_token_index=tokenizer.convert_tokens_to_ids("<|AUDIO|>"),
        tie_word_embeddings=tie_word_embeddings,  # what PreTrainedModel reads to tie
    )
    torch.manual_seed(seed)
    model = Qwen2AudioForConditionalGeneration(config)
    if tie_word_embeddings:
        # Qwen2-Audio's class does not tie them itself: save equal tensors, which the
        # SAP² model class (and transformers' loading) then ties without a warning.
        with torch.no_grad():
            model.lm_head.weight.copy_(model.get_input_embeddings().weight)
    model.generation_config.eos_token_id = [
        tokenizer.convert_tokens_to_ids("<|im_end|>"),
        tokenizer.convert_tokens_to_ids("<|endoftext|>"),
    ]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    logger.info("wrote a %d-parameter Qwen2-Audio model to %s", model.num_parameters(), out_dir)
    return out_dir
