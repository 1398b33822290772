"""sap2-asr: SAP² contextual speech recognition with speech LLMs.

``sap2.sap_pool`` is imported on first use, so that tools which do not need torch (such
as ``sap2-score``) start quickly.
"""

__version__ = "0.1.0"

__all__ = ["sap_pool", "__version__"]


def __getattr__(name: str):
    if name == "sap_pool":
        from sap2.model.pooling import sap_pool

        return sap_pool
    raise AttributeError(f"module 'sap2' has no attribute {name!r}")
