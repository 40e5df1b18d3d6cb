"""The CLEAR paper's published numbers, as data: what `clear-bench reproduce TABLE` prints beside ours.

Source: Dontsov et al., "CLEAR: Character Unlearning in Textual and Visual Modalities", arXiv 2410.18057 v4 (ACL
Findings 2025), Tables 1-6 and the text of section 6 (Table 2's two coefficients). Every value is the paper's as
printed, with its place in the paper: `source(table, row, column)` names it ("Table 1, row GD, column Retain").
Rows and columns are the paper's labels; `ROW_METHODS` maps a row to clear-bench's method (or reference model).
tests/test_reproduce.py checks a sample of cells against the paper.
"""
from __future__ import annotations

# Table 1: multimodal, LLaVA-1.5-7B, forget 10 %, both modalities. Real ↑ / Retain ↑ / Forget ↓ / Forget Quality ↑
TABLE1 = {
    "title": "Table 1: multimodal track, LLaVA-1.5-7B, forget 10 %, both modalities",
    "columns": ("Real", "Retain", "Forget", "FQ"),
    "rows": {
        "Gold": (0.50, 0.51, 0.19, 1.00), "Base": (0.48, 0.51, 0.35, 0.85), "DPO": (0.46, 0.48, 0.22, 0.84),
        "GD": (0.29, 0.00, 0.00, 0.18), "GA": (0.27, 0.00, 0.00, 0.67), "IDK": (0.48, 0.51, 0.33, 0.84),
        "KL": (0.25, 0.00, 0.00, 0.67), "LLMU": (0.47, 0.51, 0.25, 0.84), "NPO": (0.46, 0.14, 0.11, 0.76),
        "Retain FT": (0.49, 0.51, 0.37, 0.85), "RMU": (0.24, 0.00, 0.00, 0.75), "SCRUB": (0.49, 0.52, 0.36, 0.85),
        "SKU": (0.40, 0.32, 0.37, 0.83),
    },
}

# Table 3: which modality to unlearn, LLaVA; each cell Real, Retain, Forget, FQ (the columns of Table 1)
TABLE3 = {
    "title": "Table 3: unlearning text only, visual only or both modalities (LLaVA-1.5-7B, forget 10 %)",
    "groups": ("text", "visual", "both"),
    "columns": ("Real", "Retain", "Forget", "FQ"),
    "rows": {
        "RMU": {"text": (0.31, 0.01, 0.02, 0.75), "visual": (0.24, 0.00, 0.00, 0.75), "both": (0.22, 0.00, 0.00, 0.80)},
        "GD": {"text": (0.26, 0.00, 0.00, 0.79), "visual": (0.29, 0.00, 0.00, 0.20), "both": (0.49, 0.51, 0.37, 0.85)},
        "Retain FT": {"text": (0.49, 0.51, 0.37, 0.85), "visual": (0.46, 0.45, 0.42, 0.85),
                      "both": (0.46, 0.46, 0.40, 0.85)},
        "GA": {"text": (0.34, 0.00, 0.00, 0.22), "visual": (0.29, 0.00, 0.00, 0.32), "both": (0.29, 0.00, 0.00, 0.32)},
        "KL": {"text": (0.49, 0.32, 0.23, 0.71), "visual": (0.29, 0.00, 0.00, 0.28), "both": (0.48, 0.35, 0.27, 0.81)},
        "IDK": {"text": (0.48, 0.50, 0.39, 0.85), "visual": (0.44, 0.45, 0.35, 0.84), "both": (0.46, 0.46, 0.33, 0.84)},
        "NPO": {"text": (0.51, 0.51, 0.29, 0.85), "visual": (0.48, 0.43, 0.24, 0.84), "both": (0.49, 0.00, 0.00, 0.72)},
        "SCRUB": {"text": (0.49, 0.51, 0.37, 0.85), "visual": (0.48, 0.49, 0.39, 0.85),
                  "both": (0.49, 0.51, 0.37, 0.85)},
        "DPO": {"text": (0.47, 0.45, 0.42, 0.85), "visual": (0.48, 0.49, 0.23, 0.84), "both": (0.46, 0.47, 0.28, 0.84)},
        "LLMU": {"text": (0.48, 0.46, 0.40, 0.85), "visual": (0.49, 0.50, 0.37, 0.85),
                 "both": (0.47, 0.48, 0.33, 0.84)},
    },
}

# Table 4: text-only track (TOFU, forget10); Real / Retain / Forget / log Forget Quality; None: not reported (–)
TABLE4 = {
    "title": "Table 4: text-only track, TOFU forget10",
    "groups": ("Llama-2-7B", "Mistral-7B"),
    "columns": ("Real", "Retain", "Forget", "log FQ"),
    "rows": {
        "Original": {"Llama-2-7B": (0.47, 0.26, 0.42, -3.92), "Mistral-7B": None},
        "Gold": {"Llama-2-7B": (0.48, 0.26, 0.24, 0.0), "Mistral-7B": None},
        "Retain FT": {"Llama-2-7B": (0.50, 0.26, 0.42, -4.92), "Mistral-7B": (0.67, 0.34, 0.47, -3.87)},
        "LLMU": {"Llama-2-7B": (0.38, 0.03, 0.01, -2.31), "Mistral-7B": (0.65, 0.30, 0.39, -6.69)},
        "KL": {"Llama-2-7B": (0.24, 0.00, 0.00, -18.22), "Mistral-7B": (0.28, 0.00, 0.00, -50.30)},
        "GA": {"Llama-2-7B": (0.25, 0.00, 0.00, -17.22), "Mistral-7B": (0.26, 0.00, 0.00, -36.06)},
        "GD": {"Llama-2-7B": (0.61, 0.13, 0.01, -48.59), "Mistral-7B": (0.60, 0.01, 0.00, -51.16)},
        "IDK": {"Llama-2-7B": (0.46, 0.26, 0.24, -4.92), "Mistral-7B": (0.63, 0.32, 0.45, -2.72)},
        "DPO": {"Llama-2-7B": (0.50, 0.26, 0.42, -4.92), "Mistral-7B": (0.67, 0.33, 0.47, -3.63)},
        "SCRUB": {"Llama-2-7B": (0.50, 0.26, 0.42, -4.92), "Mistral-7B": (0.66, 0.33, 0.47, -3.39)},
        "RMU": {"Llama-2-7B": (0.51, 0.26, 0.59, -42.86), "Mistral-7B": (0.09, 0.00, 0.00, -123.22)},
        "NPO": {"Llama-2-7B": (0.50, 0.28, 0.62, -44.46), "Mistral-7B": (0.67, 0.33, 0.47, -3.16)},
    },
}

# Table 5: visual-only track (ResNet-18 face-ID); accuracies in percent, U-LIRA / U-MIA attack accuracies (0.5 ideal)
TABLE5 = {
    "title": "Table 5: visual-only track, ResNet-18 face-ID split models",
    "columns": ("Forget", "Holdout", "Retain", "U-LIRA", "U-MIA"),
    "rows": {
        "Original": (100.00, 18.50, 100.00, 1.00, 0.96), "Gold": (15.43, 15.04, 97.52, 0.50, 0.50),
        "Retain FT": (100.00, 18.54, 100.00, 1.00, 0.92), "SCRUB": (99.74, 16.77, 99.93, 0.98, 0.90),
        "LLMU": (85.72, 14.62, 88.99, 0.83, 0.75), "RMU": (67.97, 17.27, 99.99, 0.77, 0.60),
        "DPO": (50.21, 13.93, 81.49, 0.73, 0.62), "SCRUB_bio": (42.59, 14.25, 99.44, 0.71, 0.57),
        "Sparsity": (66.41, 14.44, 83.57, 0.78, 0.73), "Twins": (50.00, 20.34, 99.72, 0.73, 0.54),
    },
}

# Table 2: Spearman's rho between a single-domain track's forget ranking and the multimodal one
TABLE2 = {
    "title": "Table 2: does a single-domain ranking of the methods predict the multimodal one? (Spearman's rho)",
    "columns": ("rho",),
    "rows": {"text vs multimodal": (0.705,), "visual vs multimodal": (0.205,)},
}

TABLES = {"table1": TABLE1, "table2": TABLE2, "table3": TABLE3, "table4": TABLE4, "table5": TABLE5}

# The paper's row labels as clear-bench names: a method, or the reference models ("target": the model before
# unlearning, "gold": the one never trained on the forget set) that every record's `reference` block holds.
ROW_METHODS = {"Gold": "gold", "Base": "target", "Original": "target", "DPO": "dpo", "GD": "gd", "GA": "ga",
               "IDK": "idk", "KL": "kl", "LLMU": "llmu", "NPO": "npo", "Retain FT": "retain_ft", "RMU": "rmu",
               "SCRUB": "scrub", "SKU": "sku", "SCRUB_bio": "scrub_bio", "Sparsity": "sparsity", "Twins": "twins"}


def value(table: str, row: str, column: str, group: str | None = None) -> float | None:
    """The published value at (table, row, column[, group]); None where the paper prints none."""
    t = TABLES[table]
    cell = t["rows"][row]
    if group is not None:
        cell = cell[group]
    return None if cell is None else cell[t["columns"].index(column)]


def source(table: str, row: str, column: str, group: str | None = None) -> str:
    """Where the value sits in the paper, e.g. "Table 3, row GD, column text / Retain"."""
    return f"Table {table.removeprefix('table')}, row {row}, column {group + ' / ' if group else ''}{column}"
