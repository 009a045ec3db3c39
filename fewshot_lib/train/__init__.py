"""Training: the meta-learning trainer, checkpoints, and distributed runs."""
