"""Corpus preparation (lhotse manifests and cuts), ms-swift JSON, dataset and collator."""
