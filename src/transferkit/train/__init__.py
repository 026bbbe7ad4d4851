"""The training loop, source pretraining with its cache, and head training on features."""
