"""Rows of a config -> `Sample`s for training (evaluation tasks build theirs in `eval/tasks.py`)."""
from __future__ import annotations

from ..errors import SchemaError
from .prompts import caption_question
from .sample import Sample


def to_rgb(image, where: str):
    """Decode a `datasets` image cell to RGB PIL, with a one-line error for corrupt bytes."""
    if image is None:
        return None
    try:
        if isinstance(image, dict):  # undecoded {"bytes", "path"}
            import io

            from PIL import Image

            if not image.get("bytes") and not image.get("path"):
                raise SchemaError(f"{where}: image cannot be decoded (0 bytes and no path)")
            image = Image.open(io.BytesIO(image["bytes"])) if image.get("bytes") else Image.open(image["path"])
        image.load()
        return image.convert("RGB")
    except SchemaError:
        raise
    except Exception as e:
        raise SchemaError(f"{where}: image cannot be decoded ({type(e).__name__}: {str(e)[:120]})") from e


def decoded_rows(ds, where: str):
    """Iterate (index, row) with images decoded to RGB, turning a decode failure (corrupt or truncated bytes) into
    a one-line error naming `where` (source and config), the row and the image column."""
    import datasets

    raw = ds.cast_column("image", datasets.Image(decode=False)) if "image" in ds.features else ds
    for i, row in enumerate(raw):
        if "image" in row:
            row = dict(row, image=to_rgb(row["image"], f"{where} row {i}"))
        yield i, row


def training_samples(ds, source: str, config: str) -> list[Sample]:
    """Samples to fine-tune or unlearn on, from any CLEAR image config, `+tofu` config or TOFU QA config.

    Image rows become (image, caption request, caption); text rows (question, answer). Image rows are
    marked as caption requests, so a training collator may draw the request anew each time (the
    reference draws one at random per sample; we draw from a seeded generator).
    """
    where = f"{source}:{config}"
    out = []
    for i, row in decoded_rows(ds, where):
        item_id = f"{config}/{i}"
        image = row.get("image")
        if image is not None:
            out.append(Sample(item_id=item_id, question=caption_question(item_id), answer=row["caption"],
                              image=image, person=row.get("name"), source=where, extra={"caption_request": True}))
        elif row.get("question") is not None:
            out.append(Sample(item_id=item_id, question=row["question"], answer=row["answer"],
                              person=row.get("author") or row.get("name"), source=where))
        else:
            raise SchemaError(f"{where}: row {i} has neither an image nor a question")
    return out
