"""Evaluation: tasks as data (`tasks`), per-item records on disk (`logs`), metrics as registered pure
functions (`metrics`), summaries and side-by-side comparisons from logs alone (`summary`, `report`).

The model-side scorer fills one `logs.ItemRecord` per item of each task and writes it with
`logs.write_task`; everything downstream needs no model.
"""
