"""sap2-asr: SAP² contextual speech recognition with speech LLMs."""

from sap2.model.pooling import sap_pool

__version__ = "0.1.0"

__all__ = ["sap_pool", "__version__"]
