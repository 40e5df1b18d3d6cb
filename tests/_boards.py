"""Reading a built leaderboard.md back in tests: its header row and each ranked row's last cell."""


def last_column(markdown: str) -> tuple[str, dict[str, str]]:
    """(the first section's header row, {method label: last cell} of every ranked row)."""
    lines = markdown.splitlines()
    head = next(line for line in lines if line.startswith("| #"))
    cells = {line.split("|")[2].strip(): line.split("|")[-2].strip() for line in lines
             if line.startswith("| ") and line.split("|")[1].strip().isdigit()}
    return head, cells
