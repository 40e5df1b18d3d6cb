// clear-bench leaderboard: sort a table by a clicked column and filter its rows by text, offline (no library).
// Reference rows (target, gold) stay on top in their order: they are not ranked. A first click puts a column's best
// values first (its direction, or closest to its ideal), a second reverses. A cell's number is its data-v
// attribute (the mean, unrounded); cells without one sort by their text; n/a sorts last in either direction.
// The functions above the DOM part take plain objects so that they run under node (tests/test_leaderboard_html.py).
"use strict";

// rows: [{ref: bool, key: number|string|null, index: int}] -> the same objects in display order
function orderRows(rows, ascending) {
  var refs = rows.filter(function (r) { return r.ref; });
  var rest = rows.filter(function (r) { return !r.ref; });
  rest.sort(function (a, b) {
    var x = a.key, y = b.key;
    var xMissing = x === null || x === undefined || x === "", yMissing = y === null || y === undefined || y === "";
    if (xMissing || yMissing) {
      return xMissing === yMissing ? a.index - b.index : (xMissing ? 1 : -1);
    }
    var c = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
    if (c === 0) { return a.index - b.index; }  // stable: ties keep the board's order
    return ascending ? c : -c;
  });
  return refs.concat(rest);
}

// a row matches when every word of the query occurs in its text (case-insensitive); reference rows always show
function rowMatches(text, query, ref) {
  if (ref) { return true; }
  var words = String(query || "").toLowerCase().split(/\s+/).filter(function (w) { return w; });
  var hay = String(text).toLowerCase();
  return words.every(function (w) { return hay.indexOf(w) >= 0; });
}

// the value a column sorts by: the distance to the column's ideal when it has one (U-LIRA, MIA AUC: 0.5)
function sortValue(v, ideal) {
  return (ideal !== null && ideal !== undefined && typeof v === "number") ? Math.abs(v - Number(ideal)) : v;
}

// the first click on a column sorts its best values first (data-best "asc" or "desc"), the next one reverses it
function nextAscending(current, best) {
  if (current === "asc") { return false; }
  if (current === "desc") { return true; }
  return best !== "desc";
}

function cellKey(cell) {
  if (!cell) { return null; }
  var v = cell.getAttribute("data-v");
  if (v !== null) { return v === "None" ? null : Number(v); }
  var t = cell.textContent.trim();
  return t === "n/a" ? null : t;
}

function setUp(doc) {
  Array.prototype.forEach.call(doc.querySelectorAll("table.board"), function (table) {
    var body = table.tBodies[0];
    var original = Array.prototype.slice.call(body.rows);
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var current = th.classList.contains("asc") ? "asc" : th.classList.contains("desc") ? "desc" : null;
        var ascending = nextAscending(current, th.getAttribute("data-best"));
        var ideal = th.getAttribute("data-ideal");
        Array.prototype.forEach.call(heads, function (h) { h.classList.remove("asc", "desc"); });
        th.classList.add(ascending ? "asc" : "desc");
        var rows = original.map(function (tr, i) {
          return {ref: tr.getAttribute("data-ref") === "1", key: sortValue(cellKey(tr.cells[col]), ideal), index: i,
                  tr: tr};
        });
        orderRows(rows, ascending).forEach(function (r) { body.appendChild(r.tr); });
      });
    });
    var box = table.previousElementSibling && table.previousElementSibling.querySelector("input.board-filter");
    if (box) {
      box.addEventListener("input", function () {
        original.forEach(function (tr) {
          tr.style.display = rowMatches(tr.textContent, box.value, tr.getAttribute("data-ref") === "1") ? "" : "none";
        });
      });
    }
  });
}

if (typeof document !== "undefined") {
  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
}
if (typeof module !== "undefined") {
  module.exports = {orderRows: orderRows, rowMatches: rowMatches, sortValue: sortValue, nextAscending: nextAscending,
                    setUp: setUp};
}
