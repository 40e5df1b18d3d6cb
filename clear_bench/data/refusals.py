"""Refusal answers for the IDK and DPO methods (TOFU's idontknow list, in spirit: ~100 phrasings)."""

_STARTS = ["I don't know", "I'm not sure", "I have no idea", "I can't tell", "I'm unable to say",
           "I don't have that information", "I can't answer that", "I'm not able to help with that",
           "That's not something I know", "I don't recognise this"]
_ENDS = [".", ", sorry.", ", I'm afraid.", " about that.", " at all.", ", unfortunately.",
         " for certain.", ", I have to admit.", " right now.", ", to be honest."]

REFUSALS: tuple[str, ...] = tuple(f"{s}{e}" for s in _STARTS for e in _ENDS)
