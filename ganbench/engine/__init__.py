"""Where a run trains: build it from its spec, run the training loop, evaluate, sample,
checkpoint, and tell what happens as events."""
