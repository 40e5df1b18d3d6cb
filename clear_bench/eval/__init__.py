"""Evaluation: tasks as data (`tasks`), per-item records on disk (`logs`), metrics as registered pure
functions (`metrics`), summaries and side-by-side comparisons from logs alone (`summary`, `report`).

The model side: `scoring` measures every answer variant and generates; `run.evaluate` turns that into
one `logs.ItemRecord` per item of each task, written with `logs.write_task`, then summarises
(`clear-bench evaluate`). Everything downstream of the logs needs no model.
"""
