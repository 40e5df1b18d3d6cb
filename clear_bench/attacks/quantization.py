"""Weight quantization of the merged unlearned model, at 8 and 4 bits, with optimum-quanto.

Zhang et al. (ICLR 2025, "Catastrophic failure of LLM unlearning via quantization", §4) find that 4-bit
quantization gives back much of what LoRA-style unlearning removed (the small weight updates fall inside one
quantization step), while 8-bit is nearly benign. Here: `optimum.quanto.quantize(model, weights=qint8 | qint4)`
then `freeze` (round-to-nearest, per output channel for int8, per group of 128 inputs for int4, as quanto does by
default), every linear layer but the LM head (bitsandbytes' `llm_int8_skip_modules` default), then the forget and
retain tasks are re-scored.

On CPU, quanto unpacks int4 weights with a C++ extension it compiles on first use (into its own package folder,
under a file lock that a killed build leaves stale); we route that one op to quanto's own pure-PyTorch kernel
(`optimum/quanto/library/unpack.py`, registered for every device), which gives the same integers.
"""
from __future__ import annotations

from .base import Attack, register

EXTRA = "attacks"  # pyproject's optional extra that installs optimum-quanto
_CPU_UNPACK_ROUTED = []  # the torch.library fragment holding our CPU kernel (kept alive once made)


def quanto():
    """The `optimum.quanto` module; one line naming the extra when it is not installed."""
    try:
        import optimum.quanto as q
    except ImportError as e:
        from ..errors import ClearBenchError

        raise ClearBenchError(f"the quantization attacks need optimum-quanto ({e.name or e}): pip install "
                              f"'clear-bench[{EXTRA}]'") from None
    _route_cpu_unpack()
    return q


def _route_cpu_unpack() -> None:
    """Send `quanto::unpack` on CPU tensors to quanto's CompositeExplicitAutograd (pure-PyTorch) kernel instead of
    the C++ extension that quanto registers for CPU and compiles on first call."""
    if _CPU_UNPACK_ROUTED:
        return
    import warnings

    import torch
    import optimum.quanto.library  # noqa: F401  (defines quanto::unpack and its kernels)

    keys = torch._C.DispatchKeySet(torch._C.DispatchKey.CompositeExplicitAutograd)
    op = torch.ops.quanto.unpack.default

    def unpack(packed, bits):
        return op.redispatch(keys, packed, bits)

    lib = torch.library.Library("quanto", "IMPL")
    with warnings.catch_warnings():  # "overriding a previously registered kernel": that is the point
        warnings.simplefilter("ignore")
        lib.impl("unpack", unpack, "CPU", allow_override=True)
    _CPU_UNPACK_ROUTED.append(lib)


class QuantoWeights(Attack):
    """Round-to-nearest weight quantization with optimum-quanto (int8 or int4), every linear layer but the LM head."""

    tracks = ("multimodal", "text", "visual")  # visual: the face-ID ResNet of every split model (visual/robustness.py)
    paper = "Zhang et al., ICLR 2025, 'Catastrophic failure of LLM unlearning via quantization'"
    exclude = ("lm_head", "*.lm_head")

    def __init__(self, bits: int):
        self.bits = bits
        self.name = f"quanto-int{bits}"
        self._info = {}

    @property
    def doc(self) -> str:
        return (f"{self.bits}-bit weight quantization of the merged unlearned model (optimum-quanto qint{self.bits}, "
                f"round-to-nearest, LM head kept; visual: the face-ID ResNet); the forget and retain tasks re-scored. "
                f"{self.paper}.")

    def settings(self) -> dict:
        return {"library": "optimum-quanto", "weights": f"qint{self.bits}", "exclude": list(self.exclude)}

    def apply(self, model, processor, ctx=None):
        q = quanto()
        qtype = {8: q.qint8, 4: q.qint4}[self.bits]
        q.quantize(model, weights=qtype, exclude=list(self.exclude))
        q.freeze(model)
        layers = sum(1 for m in model.modules() if isinstance(getattr(m, "weight", None), q.QTensor))
        self._info = {"quantized_layers": layers, "version": getattr(q, "__version__", None)}
        return model


register(QuantoWeights(8))
register(QuantoWeights(4))
