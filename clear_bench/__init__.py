"""clear-bench: the CLEAR benchmark for multimodal (text + image) character unlearning."""

__version__ = "0.1.0"
