"""Decoding: two-stage SAP² (prune, then transcribe), multitask, and plain baselines."""
