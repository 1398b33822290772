"""Training: configuration, training examples, and the Trainer with resumable lhotse data."""
