// Sorts the tables of the charts plugin's "table" visualization in the
// browser. A page that shows such a table loads this file once:
//
//   <script src="/charts/static/table.js" defer></script>
//
// Clicking a header button (data-sort-column) sorts the rows by that column,
// ascending first, then descending; the header's aria-sort says which. Cells
// with data-sort-value (numbers, dates) sort by it; others by their text.
// Empty cells (data-null) stay last either way. Tables added later (fetched
// renderings) work too: one listener on the document handles them all.
(function () {
  "use strict";

  function key(cell, type) {
    if (!cell || cell.hasAttribute("data-null")) return null;
    if (type === "number" || type === "time") {
      var n = Number(cell.getAttribute("data-sort-value"));
      return Number.isNaN(n) ? null : n;
    }
    return cell.textContent;
  }

  function compare(a, b, type) {
    if (type === "number" || type === "time") return a < b ? -1 : a > b ? 1 : 0;
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }

  function sort(button) {
    var header = button.closest("th");
    var table = button.closest("table");
    if (!header || !table || !table.tBodies.length) return;
    var column = Number(button.getAttribute("data-sort-column"));
    var type = button.getAttribute("data-sort-type") || "text";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("thead th[aria-sort]").forEach(function (th) {
      th.setAttribute("aria-sort", "none");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, index) {
      return { row: row, index: index, key: key(row.cells[column], type) };
    });
    rows.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        if (a.key === b.key) return a.index - b.index;
        return a.key === null ? 1 : -1;
      }
      var order = compare(a.key, b.key, type);
      if (order === 0) return a.index - b.index;
      return ascending ? order : -order;
    });
    rows.forEach(function (entry) { body.appendChild(entry.row); });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var button = target.closest("table.trellis-table th button[data-sort-column]");
    if (button) sort(button);
  });
})();
