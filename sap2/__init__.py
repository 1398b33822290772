"""sap2-asr: SAP² contextual speech recognition with speech LLMs."""

__version__ = "0.1.0"
