"""A SAP² speech LLM assembled from parts, the way SLAM-LLM builds speech LLMs: a Whisper
encoder, any transformers causal LM and a new projector between them.

The result is an ordinary Qwen2-Audio folder (config, safetensors, processor with the
audio tokens and the chat template) that :func:`sap2.model.loading.load_sap2_model`,
``sap2-train``, ``sap2-decode`` and ``sap2-transcribe`` read unchanged: transformers'
Qwen2-Audio builds its language model with ``AutoModel.from_config(text_config)``, so a
llama or any other ``text_config`` works, and its audio encoder has the Whisper
encoder's weights under the same names. The encoder's window can be cut to fewer
seconds than Whisper's 30 (its first positional rows kept): a short window makes a CPU
model fast. The projector is random and the language model's embeddings grow by the
audio tokens; training (``sap2-train``) aligns them.
"""

import logging
from pathlib import Path

import torch

from sap2.errors import InputError
from sap2.fileio import atomic_folder

logger = logging.getLogger(__name__)

Pathlike = str | Path

AUDIO_TOKENS = ["<|audio_bos|>", "<|AUDIO|>", "<|audio_eos|>"]
CHAT_TOKENS = ["<|im_start|>", "<|im_end|>"]
#: Log-mel frames per second (10 ms hops) and the encoder's stride (its second conv).
FRAMES_PER_SECOND = 100
ENCODER_STRIDE = 2


def assemble_speech_llm(
    whisper_dir: Pathlike,
    lm_dir: Pathlike,
    out_dir: Pathlike,
    window_seconds: int = 30,
    gguf_file: str | None = None,
    seed: int = 0,
) -> Path:
    """Write a Qwen2-Audio-layout folder from a transformers Whisper folder (its encoder,
    window cut to ``window_seconds``) and a causal LM folder (``gguf_file``: a GGUF file
    in it, de-quantised by transformers); the projector is drawn from ``seed``.
    Returns ``out_dir``."""
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        Qwen2AudioConfig,
        Qwen2AudioForConditionalGeneration,
        Qwen2AudioProcessor,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
    )

    for folder in (whisper_dir, lm_dir):
        if not Path(folder).is_dir():
            raise InputError(f"{folder}: no such folder")
    try:
        whisper = WhisperForConditionalGeneration.from_pretrained(whisper_dir)
        lm = AutoModelForCausalLM.from_pretrained(lm_dir, gguf_file=gguf_file, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(lm_dir, gguf_file=gguf_file)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read the parts ({' '.join(str(err).split())[:200]})") from None
    positions = window_seconds * FRAMES_PER_SECOND // ENCODER_STRIDE
    audio = whisper.config
    if not 1 <= positions <= audio.max_source_positions:
        raise InputError(
            f"window_seconds must be 1 to {audio.max_source_positions * ENCODER_STRIDE // 100}"
        )
    missing = [t for t in CHAT_TOKENS if t not in tokenizer.get_vocab()]
    tokenizer.add_special_tokens({"additional_special_tokens": [*missing, *AUDIO_TOKENS]})
    if tokenizer.pad_token is None:
        tokenizer.pad_token = (
            "<|endoftext|>" if "<|endoftext|>" in tokenizer.get_vocab() else "<|im_end|>"
        )
    lm.resize_token_embeddings(len(tokenizer))
    ends = ["<|im_end|>", *(["<|endoftext|>"] if "<|endoftext|>" in tokenizer.get_vocab() else [])]
    end_ids = [tokenizer.convert_tokens_to_ids(t) for t in ends]
    text_config = lm.config.to_dict()
    text_config.pop("quantization_config", None)  # GGUF weights are de-quantised: trainable
    text_config.update(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                       eos_token_id=end_ids[0])  # fmt: skip
    config = Qwen2AudioConfig(
        audio_config={
            "model_type": "qwen2_audio_encoder", "d_model": audio.d_model,
            "encoder_layers": audio.encoder_layers,
            "encoder_attention_heads": audio.encoder_attention_heads,
            "encoder_ffn_dim": audio.encoder_ffn_dim, "num_mel_bins": audio.num_mel_bins,
            "max_source_positions": positions,
        },
        text_config=text_config,
        audio_token_index=tokenizer.convert_tokens_to_ids("<|AUDIO|>"),
        tie_word_embeddings=lm.config.tie_word_embeddings,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = Qwen2AudioForConditionalGeneration(config)
    encoder = whisper.model.encoder.state_dict()
    encoder["embed_positions.weight"] = encoder["embed_positions.weight"][:positions]
    model.model.audio_tower.load_state_dict(encoder)
    model.model.language_model.load_state_dict(lm.get_decoder().state_dict())
    model.lm_head.load_state_dict(lm.get_output_embeddings().state_dict())
    model.generation_config.eos_token_id = end_ids
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    features = WhisperFeatureExtractor(feature_size=audio.num_mel_bins, chunk_length=window_seconds)
    processor = Qwen2AudioProcessor(feature_extractor=features, tokenizer=tokenizer)
    processor.chat_template = processor.default_chat_template
    with atomic_folder(out_dir) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
    logger.info(
        "assembled %s (%d parameters): %s encoder, %d s window, %s",
        out_dir, model.num_parameters(), whisper_dir, window_seconds, lm_dir,
    )  # fmt: skip
    return Path(out_dir)
