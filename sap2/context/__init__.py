"""Context lists: biasing lists with distractors, training-time sampling, OCR keywords."""
