"""Configuration of the SAP² model: a Qwen2-Audio configuration plus the context pooling.

Example::

    >>> from sap2.model.configuration_sap2 import Sap2Config
    >>> config = Sap2Config.from_pretrained("/path/to/Qwen2-Audio-7B-Instruct",
    ...                                     sap_window_size=2, sap_num_heads=4)
    >>> config.sap_mode
    'speech'
"""

from huggingface_hub.dataclasses import strict
from transformers import AutoConfig, Qwen2AudioConfig

from sap2.model.pooling import POOLING_MODES


def valid_ctc_weight(weight: float) -> bool:
    """0 <= weight < 1: the CTC loss may help, the LM loss keeps some weight."""
    return 0 <= weight < 1


CONTEXT_START_TOKEN = "<|startofcontext|>"
CONTEXT_END_TOKEN = "<|endofcontext|>"


@strict
class Sap2Config(Qwen2AudioConfig):
    r"""Qwen2-Audio configuration with the fields of SAP² context compression.

    sap_window_size (`int`, defaults to 2):
        Context tokens pooled into one embedding (1 keeps every token: no compression).
    sap_num_heads (`int`, defaults to 4):
        Heads of the speech-driven attention; the LLM hidden size must be divisible by it.
    sap_mode (`str`, defaults to `"speech"`):
        `"speech"` (speech-driven attention pooling, the paper's), `"mean"` (uniform
        pooling over valid tokens, the ablation), or `"authors"` (the arithmetic of
        the authors' public layer: window sums over the window size, padding included).
    context_start_token_id, context_end_token_id (`int`, *optional*):
        Ids of `<|startofcontext|>` and `<|endofcontext|>`, set when the tokens are added
        to the tokenizer (see :func:`sap2.model.processor.add_context_tokens`).
    ctc_weight (`float`, defaults to 0.0):
        Weight of an auxiliary CTC loss in training (ESPnet's hybrid CTC/attention):
        the projected audio features are classified by the LM head into the tokens of the
        transcript, so that an audio encoder trained from scratch learns which sounds make
        which tokens. The loss is ``(1 - ctc_weight) * LM loss + ctc_weight * CTC loss``.
        0 (no CTC) for pretrained encoders such as Qwen2-Audio's.
    ctc_blank_token_id (`int`, *optional*):
        The CTC blank: a token that never occurs in transcripts (the pad token).
    """

    model_type = "sap2_qwen2_audio"

    sap_window_size: int = 2
    sap_num_heads: int = 4
    sap_mode: str = "speech"
    context_start_token_id: int | None = None
    context_end_token_id: int | None = None
    ctc_weight: float = 0.0
    ctc_blank_token_id: int | None = None

    def check_sap_settings(self) -> None:
        """Raise ``ValueError`` for settings the model cannot run with (called when the
        model is built; not named ``validate_*``, which the strict dataclass would run at
        construction with another exception type)."""
        if self.sap_window_size < 1:
            raise ValueError(f"sap_window_size must be >= 1, got {self.sap_window_size}")
        if self.sap_mode not in POOLING_MODES:
            raise ValueError(f"sap_mode must be one of {POOLING_MODES}, got {self.sap_mode!r}")
        if not valid_ctc_weight(self.ctc_weight):
            raise ValueError(f"ctc_weight must be in [0, 1), got {self.ctc_weight}")
        if self.ctc_weight > 0 and self.ctc_blank_token_id is None:
            raise ValueError("ctc_weight > 0 needs ctc_blank_token_id (the pad token id)")
        hidden = self.text_config.hidden_size
        if hidden % self.sap_num_heads:
            raise ValueError(
                f"the LLM hidden size {hidden} is not divisible by sap_num_heads="
                f"{self.sap_num_heads}"
            )


AutoConfig.register(Sap2Config.model_type, Sap2Config)
