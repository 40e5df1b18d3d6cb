"""The visual-only track of CLEAR (Table 5): face-ID unlearning on N split models, judged by face-ID
accuracies and the U-LIRA / U-MIA membership attacks. `run_visual_job` is `clear-eval --track visual`."""
from .job import VisualJobConfig, run_visual_job

__all__ = ["VisualJobConfig", "run_visual_job"]
