"""The text-only track (CLEAR Table 4): TOFU unlearning on a plain causal LM, over the same layers as the
multimodal track (training loop, unlearning runner, methods, collator, scorer, metrics)."""
