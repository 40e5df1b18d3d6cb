"""The HTML board sorts and filters offline: its embedded script, run under node against a minimal stand-in for the
DOM, reorders the real table built from records (reference rows pinned on top, n/a last) and filters it.

There is no browser on the test machine; node runs the very script the page embeds (extracted from the page)."""
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from clear_bench.leaderboard.build import build
from test_leaderboard import REFERENCE, _record

NODE = shutil.which("node")

FAKE_DOM = r"""
const page = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
function node(attrs, text) {
  const classes = new Set();
  return {attrs, textContent: text, style: {}, listeners: {},
          getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; },
          addEventListener(e, f) { this.listeners[e] = f; },
          classList: {add: (...c) => c.forEach(x => classes.add(x)),
                      remove: (...c) => c.forEach(x => classes.delete(x)),
                      contains: c => classes.has(c)}};
}
const trs = page.rows.map(r => {
  const tr = node({"data-ref": r.ref}, r.cells.map(c => c[1]).join(" "));
  tr.cells = r.cells.map(([v, t]) => node(v === null ? {} : {"data-v": v}, t));
  return tr;
});
const body = {rows: trs.slice(), appendChild(tr) { this.rows = this.rows.filter(x => x !== tr).concat([tr]); }};
const ths = page.head.map((h, i) => node(page.headAttrs[i], h));
const box = node({}, ""); box.value = "";
const table = {tBodies: [body], tHead: {rows: [{cells: ths}]},
               previousElementSibling: {querySelector: () => box}};
const board = module.exports;
board.setUp({querySelectorAll: () => [table]});
const labels = () => body.rows.map(tr => tr.cells[1].textContent);
const out = {};
const col = page.head.indexOf(page.sort);
ths[col].listeners.click(); out.first = labels();
out.firstClass = ths[col].classList.contains("desc");
ths[col].listeners.click(); out.second = labels();
box.value = "np"; box.listeners.input();
out.shown = body.rows.filter(tr => tr.style.display !== "none").map(tr => tr.cells[1].textContent);
process.stdout.write(JSON.stringify(out));
"""


class _Table(HTMLParser):
    """The first board table of a page: header texts and, per row, data-ref and (data-v, text) per cell."""

    def __init__(self):
        super().__init__()
        self.head, self.head_attrs, self.rows, self._cell = [], [], [], None
        self._in_table = self._done = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "board" in (a.get("class") or "") and not self._done:
            self._in_table = True
        elif self._in_table and tag == "tr":
            self.rows.append({"ref": a.get("data-ref"), "cells": []})
        elif self._in_table and tag in ("td", "th"):
            self._cell = [a.get("data-v"), ""]
            if tag == "th":
                self.head_attrs.append({k: v for k, v in a.items() if k.startswith("data-")})

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data

    def handle_endtag(self, tag):
        if self._in_table and tag in ("td", "th") and self._cell is not None:
            cell, self._cell = self._cell, None
            if tag == "th":
                self.head.append(cell[1].strip())
            else:
                self.rows[-1]["cells"].append([cell[0], cell[1].strip()])
        elif tag == "table" and self._in_table:
            self._in_table, self._done = False, True


def _page(tmp_path):
    paths = [_record(tmp_path, m, fq, u, reference=REFERENCE)
             for m, fq, u in (("npo", 0.7, 0.6), ("gd", 0.3, 0.5), ("kl", None, 0.5), ("simnpo", 0.5, 0.5))]
    page = build(paths, tmp_path / "board", include_baselines=False)["html"].read_text()
    table = _Table()
    table.feed(page)
    table.rows = [r for r in table.rows if r["cells"]]
    return page, table


def test_the_page_has_target_and_gold_rows_and_links_each_row_to_its_record(tmp_path):
    page, table = _page(tmp_path)
    refs = [r["cells"][1][1] for r in table.rows if r["ref"] == "1"]
    assert refs == ["target (before) record", "gold (retain only) record"]  # each with a link to its source
    assert "<script" in page and "src=" not in page.split("<script")[1].split(">")[0]  # embedded, no CDN
    assert "http" not in page.split("<script>")[1]
    for href in re.findall(r'href="(records/[^"]+)"', page):
        record = json.loads((tmp_path / "board" / href).read_text())
        assert record["schema"].startswith("clear-bench/submission")
    assert len(re.findall(r'href="records/', page)) == 4 + 2  # every run, and each reference row's source


@pytest.mark.skipif(NODE is None, reason="needs node")
def test_the_embedded_script_sorts_and_filters_the_table(tmp_path):
    page, table = _page(tmp_path)
    script = page.split("<script>")[1].split("</script>")[0]
    sort = next(h for h in table.head if h.startswith("FQ (1−JS)"))
    (tmp_path / "board.js").write_text(script + FAKE_DOM)
    page_data = {"head": table.head, "headAttrs": table.head_attrs, "rows": table.rows, "sort": sort}
    (tmp_path / "page.json").write_text(json.dumps(page_data))
    run = subprocess.run([NODE, str(tmp_path / "board.js"), str(tmp_path / "page.json")], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    names = lambda labels: [x.split()[0] for x in labels]  # noqa: E731  (the label cell ends with its links)
    refs = ["target", "gold"]
    # FQ is ↑: the first click puts the best first (0.7 > 0.5 > 0.3), n/a last; the second reverses, n/a still last
    assert names(out["first"]) == refs + ["npo", "simnpo", "gd", "kl"] and out["firstClass"] is True
    assert names(out["second"]) == refs + ["gd", "simnpo", "npo", "kl"]
    assert names(out["shown"]) == refs + ["simnpo", "npo"]  # "np" matches npo and simnpo (ascending now); refs stay


@pytest.mark.skipif(NODE is None, reason="needs node")
def test_the_sort_is_stable_on_ties_and_pins_references():
    from clear_bench.leaderboard.build import board_script

    harness = """
const orderOf = module.exports.orderRows;
const rows = [{ref: false, key: 2, index: 0, n: "a"}, {ref: true, key: 9, index: 1, n: "target"},
              {ref: false, key: 1, index: 2, n: "b"}, {ref: false, key: 2, index: 3, n: "c"},
              {ref: false, key: null, index: 4, n: "d"}, {ref: false, key: "x", index: 5, n: "e"}];
const b = module.exports;
process.stdout.write(JSON.stringify([orderOf(rows.slice(0, 5), true).map(r => r.n),
                                     orderOf(rows.slice(0, 5), false).map(r => r.n),
                                     [b.sortValue(0.4, "0.5"), b.sortValue(0.55, "0.5"), b.sortValue(0.4, null)],
                                     [b.nextAscending(null, "desc"), b.nextAscending(null, "asc"),
                                      b.nextAscending("desc", "desc"), b.nextAscending("asc", null)]]));
"""
    run = subprocess.run([NODE, "-e", board_script() + harness], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    asc, desc, distances, directions = json.loads(run.stdout)
    assert asc == ["target", "b", "a", "c", "d"] and desc == ["target", "a", "c", "b", "d"]
    assert distances == pytest.approx([0.1, 0.05, 0.4])  # a column with an ideal sorts by the distance to it
    assert directions == [False, True, True, False]


def test_headers_tell_the_script_each_column_s_best_direction_and_ideal(tmp_path):
    from clear_bench.leaderboard.build import baseline_records

    page = build(baseline_records(), tmp_path / "board", include_baselines=False)["html"].read_text()
    visual = page.split("id='board-visual'")[1].split("</thead>")[0]
    assert re.search(r"data-best='asc' data-ideal='0\.5'>U-LIRA", visual)
    assert re.search(r"data-best='asc'>Forget acc ↓", visual)
    assert re.search(r"data-best='desc'>Retain acc ↑", visual)
