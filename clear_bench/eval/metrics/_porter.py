"""A dependency-free Porter stemmer matching NLTK's default mode (NLTK_EXTENSIONS).

Only used by the ROUGE fallback when `rouge_score`/`nltk` are not installed (the GPU image lacks
both), so that ROUGE-L with stemming gives the same numbers everywhere. Written from the published
algorithm (M. F. Porter, "An algorithm for suffix stripping", 1980) plus the documented NLTK
departures: an irregular-forms table, no stemming of 1-2 letter words, 'ies'/'ied' on 4-letter
words -> 'ie', y -> i only after a consonant, 'bli' -> 'ble', 'alli' first, 'fulli', 'logi'.
Agreement with nltk is checked in tests/test_metrics_rouge.py.
"""
from __future__ import annotations

from typing import Callable, Optional

_VOWELS = frozenset("aeiou")
_IRREGULAR = {
    "skies": "sky", "sky": "sky", "dying": "die", "lying": "lie", "tying": "tie", "news": "news",
    "innings": "inning", "inning": "inning", "outings": "outing", "outing": "outing",
    "cannings": "canning", "canning": "canning", "howe": "howe", "proceed": "proceed",
    "exceed": "exceed", "succeed": "succeed",
}

Rule = tuple[str, str, Optional[Callable[[str], bool]]]


def _consonants(word: str) -> list[bool]:
    """Per letter: is it a consonant? 'y' is one unless it follows a consonant."""
    flags: list[bool] = []
    for i, ch in enumerate(word):
        if ch in _VOWELS:
            flags.append(False)
        elif ch == "y":
            flags.append(i == 0 or not flags[i - 1])
        else:
            flags.append(True)
    return flags


def _measure(stem: str) -> int:
    """m in [C](VC)^m[V]: the number of vowel-run -> consonant-run transitions."""
    cv = "".join("c" if c else "v" for c in _consonants(stem))
    return cv.count("vc")


def _m_pos(stem: str) -> bool:
    return _measure(stem) > 0


def _m_gt1(stem: str) -> bool:
    return _measure(stem) > 1


def _has_vowel(stem: str) -> bool:
    return not all(_consonants(stem))


def _ends_double_consonant(word: str) -> bool:
    return len(word) >= 2 and word[-1] == word[-2] and _consonants(word)[-1]


def _ends_cvc(word: str) -> bool:
    flags = _consonants(word)
    if len(word) >= 3:
        return flags[-3] and not flags[-2] and flags[-1] and word[-1] not in "wxy"
    return len(word) == 2 and not flags[0] and flags[1]


def _first_rule(word: str, rules: list[Rule]) -> str:
    """Apply the first rule whose suffix matches; if its condition fails, stop (try no other)."""
    for suffix, repl, cond in rules:
        if word.endswith(suffix):
            stem = word[: len(word) - len(suffix)]
            return stem + repl if cond is None or cond(stem) else word
    return word


def _step1a(w: str) -> str:
    if w.endswith("ies") and len(w) == 4:
        return w[:-3] + "ie"
    return _first_rule(w, [("sses", "ss", None), ("ies", "i", None), ("ss", "ss", None), ("s", "", None)])


def _step1b(w: str) -> str:
    if w.endswith("ied"):
        return w[:-3] + ("ie" if len(w) == 4 else "i")
    if w.endswith("eed"):
        return w[:-1] if _m_pos(w[:-3]) else w
    for suffix in ("ed", "ing"):
        if w.endswith(suffix) and _has_vowel(w[: -len(suffix)]):
            stem = w[: -len(suffix)]
            break
    else:
        return w
    for suffix, repl in (("at", "ate"), ("bl", "ble"), ("iz", "ize")):
        if stem.endswith(suffix):
            return stem[: -len(suffix)] + repl
    if _ends_double_consonant(stem):
        return stem if stem[-1] in "lsz" else stem[:-1]
    return stem + "e" if _measure(stem) == 1 and _ends_cvc(stem) else stem


def _step1c(w: str) -> str:
    return _first_rule(w, [("y", "i", lambda s: len(s) > 1 and _consonants(s)[-1])])


_STEP2 = [("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"),
          ("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"),
          ("ization", "ize"), ("ation", "ate"), ("ator", "ate"), ("alism", "al"), ("iveness", "ive"),
          ("fulness", "ful"), ("ousness", "ous"), ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"),
          ("fulli", "ful")]


def _step2(w: str) -> str:
    if w.endswith("alli") and _m_pos(w[:-4]):
        return _step2(w[:-4] + "al")
    rules: list[Rule] = [(s, r, _m_pos) for s, r in _STEP2]
    rules.append(("logi", "log", lambda s: _m_pos(w[:-3])))  # the 'l' counts with the stem
    return _first_rule(w, rules)


def _step3(w: str) -> str:
    return _first_rule(w, [(s, r, _m_pos) for s, r in (
        ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""),
        ("ness", ""))])


def _step4(w: str) -> str:
    rules: list[Rule] = [(s, "", _m_gt1) for s in (
        "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent")]
    rules.append(("ion", "", lambda s: _m_gt1(s) and s[-1] in "st"))
    rules += [(s, "", _m_gt1) for s in ("ou", "ism", "ate", "iti", "ous", "ive", "ize")]
    return _first_rule(w, rules)


def _step5(w: str) -> str:
    if w.endswith("e"):
        stem = w[:-1]
        m = _measure(stem)
        if m > 1 or (m == 1 and not _ends_cvc(stem)):
            w = stem
    if w.endswith("ll") and _m_gt1(w[:-1]):
        w = w[:-1]
    return w


def stem(word: str) -> str:
    """Porter stem of a lower-case word, as nltk's PorterStemmer().stem() returns it."""
    word = word.lower()
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 2:
        return word
    for step in (_step1a, _step1b, _step1c, _step2, _step3, _step4, _step5):
        word = step(word)
    return word
