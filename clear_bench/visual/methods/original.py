"""Original: no unlearning (the split model as trained; Table 5's first row)."""
from .base import VisualMethod, register


@register("original")
class Original(VisualMethod):
    def unlearn(self, task) -> dict:
        return {}
