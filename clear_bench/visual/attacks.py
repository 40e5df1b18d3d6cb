"""Membership attacks of the visual track (CLEAR Table 5): U-LIRA (per example) and U-MIA (population).

Both read one number per (image, model): the score `logit_score` of the image's embedding against its
identity's enrolment vector. "IN" means the model trained on the image's identity and then unlearned it;
"OUT" means it never saw the identity. An attack accuracy of 0.5 is the ideal after unlearning.
After the reference code `cv/attack.py` (github.com/somvy/multimodal_unlearning) and Hayes et al. 2024,
"Inexact unlearning needs more careful evaluations to avoid a false sense of privacy".
"""
from __future__ import annotations

import numpy as np

MAD_TO_SIGMA = 0.6745  # MAD / 0.6745 estimates the standard deviation of a Gaussian
EPS = 1e-45  # the reference's guard: log(0 + 1e-45) = -103.6, finite in float64


def logit_score(cos) -> np.ndarray:
    """l = log(p / (1 - p)) with p = clip(cos, 0, 1): the paper's score, finite at p = 0 and p = 1 (±103.6)."""
    p = np.clip(np.asarray(cos, dtype=np.float64), 0.0, 1.0)
    return np.log(p + EPS) - np.log(1.0 - p + EPS)


def robust_gaussian(scores: np.ndarray, min_sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(median, MAD / 0.6745) along the last axis; the spread is floored at `min_sigma` (a shadow set whose scores
    are all equal, e.g. every cosine clipped to 0, has MAD 0)."""
    med = np.median(scores, axis=-1)
    mad = np.median(np.abs(scores - med[..., None]), axis=-1)
    return med, np.maximum(mad / MAD_TO_SIGMA, min_sigma)


def _log_normal(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    return -0.5 * ((x - mu) / sigma) ** 2 - np.log(sigma)


def ulira_predictions(in_shadow: np.ndarray, out_shadow: np.ndarray, targets: np.ndarray,
                      min_sigma: float = 1e-3) -> np.ndarray:
    """Per-example U-LIRA: for each example (row), Gaussians fitted to its scores under the IN shadow models and
    under the OUT shadow models; a target model's score is predicted IN (True) where the IN likelihood is larger.

    in_shadow (E, S_in), out_shadow (E, S_out), targets (E, T) -> bool (E, T). Compared in log space, so far tails
    never underflow to 0/0.
    """
    in_shadow, out_shadow, targets = (np.asarray(a, dtype=np.float64) for a in (in_shadow, out_shadow, targets))
    mu_in, sd_in = robust_gaussian(in_shadow, min_sigma)
    mu_out, sd_out = robust_gaussian(out_shadow, min_sigma)
    return _log_normal(targets, mu_in[:, None], sd_in[:, None]) > _log_normal(targets, mu_out[:, None],
                                                                               sd_out[:, None])


def ulira_accuracy(in_shadow, out_shadow, targets, target_in, min_sigma: float = 1e-3) -> float:
    """Accuracy of `ulira_predictions` against `target_in` (E, T), the true membership of each target score."""
    pred = ulira_predictions(in_shadow, out_shadow, targets, min_sigma)
    return float(np.mean(pred == np.asarray(target_in, dtype=bool)))


def umia_accuracy(shadow_scores, shadow_in, target_scores, target_in, model: str = "logistic",
                  seed: int = 0) -> float:
    """Population attack: one classifier on every shadow score (feature: the score; label: IN), accuracy on the
    targets. `model`: "logistic" (the paper's number) or "tree" (the reference's decision tree, 256 leaves,
    entropy criterion)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    x = np.asarray(shadow_scores, dtype=np.float64).reshape(-1, 1)
    y = np.asarray(shadow_in, dtype=bool).reshape(-1)
    if model == "logistic":
        clf = LogisticRegression()
    elif model == "tree":
        clf = DecisionTreeClassifier(max_leaf_nodes=256, criterion="entropy", random_state=seed)
    else:
        raise ValueError(f"unknown U-MIA model {model!r}; valid: logistic, tree")
    if len(np.unique(y)) < 2:
        raise ValueError("U-MIA needs IN and OUT shadow scores")
    clf.fit(x, y)
    pred = clf.predict_proba(np.asarray(target_scores, dtype=np.float64).reshape(-1, 1))[:, 1] > 0.5
    return float(np.mean(pred == np.asarray(target_in, dtype=bool).reshape(-1)))
