"""Data: on-disk records, the synthetic talking heads, video preparation and K-shot episodes."""
