(function () {
  "use strict";
  var panel = document.getElementById("details");
  var current = null;
  function pieces(id) {
    return document.querySelectorAll('mark.hl[data-id="' + id.replace(/"/g, '\\"') + '"]');
  }
  function hide() {
    if (current === null) { return; }
    pieces(current).forEach(function (m) { m.classList.remove("active"); });
    var row = document.getElementById("row-" + current.split(":").pop());
    if (row) { row.classList.remove("active"); }
    panel.hidden = true;
    current = null;
  }
  function show(mark) {
    var id = mark.getAttribute("data-id");
    if (id === current) { return; }
    hide();
    var row = document.getElementById(mark.getAttribute("data-row"));
    if (!row) { return; }
    current = id;
    pieces(id).forEach(function (m) { m.classList.add("active"); });
    row.classList.add("active");
    panel.replaceChildren(row.querySelector(".row-head").cloneNode(true),
                          row.querySelector(".row-body").cloneNode(true));
    panel.hidden = false;
    var box = mark.getBoundingClientRect();
    var left = Math.max(8, Math.min(box.left, document.documentElement.clientWidth - panel.offsetWidth - 8));
    panel.style.left = (left + window.scrollX) + "px";
    panel.style.top = (box.bottom + window.scrollY + 6) + "px";
  }
  document.querySelectorAll("mark.hl[title]").forEach(function (m) { m.removeAttribute("title"); });
  document.addEventListener("mouseover", function (e) {
    var mark = e.target.closest ? e.target.closest("mark.hl[data-id]") : null;
    if (mark) { show(mark); } else if (!panel.contains(e.target)) { hide(); }
  });
  document.addEventListener("focusin", function (e) {
    var mark = e.target.closest ? e.target.closest("mark.hl[data-id]") : null;
    if (mark) { show(mark); } else if (!panel.contains(e.target)) { hide(); }
  });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") { hide(); } });
})();
