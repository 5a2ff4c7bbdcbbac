(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var ui = data.ui, rows = data.rows, C = {};
  data.cols.forEach(function (name, i) { C[name] = i; });

  var filters = Array.prototype.slice.call(document.querySelectorAll(".filters select"));
  var body = document.getElementById("list-body");
  var countEl = document.getElementById("shown-count");
  var pageInfo = document.getElementById("page-info");
  var prev = document.getElementById("page-prev"), next = document.getElementById("page-next");
  var sizeSelect = document.getElementById("page-size");
  var page = 0, shown = rows;
  var FIELD = { owner: "owner", value_tier: "tier", primary_cause: "cause", risk_band: "band" };

  function fmtInt(x) { return x === null ? "" : Math.round(x).toLocaleString("en-US"); }
  function fmtPct(x) {  // 0.9999 reads ">99%", not "100%"
    if (x === null) return "";
    var text = (100 * x).toFixed(0) + "%";
    return text === "100%" && x < 1 ? ">99%" : text === "0%" && x > 0 ? "<1%" : text;
  }
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? values[k] : m; });
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function pill(text, colour) {
    var p = el("span", "pill", text);
    p.style.background = colour || "#7f8c8d";
    return p;
  }

  function matches(r) {
    for (var i = 0; i < filters.length; i++) {
      var want = filters[i].value;
      if (!want) continue;
      var field = filters[i].getAttribute("data-field"), have = r[C[FIELD[field]]];
      if (field === "owner" && have === null) have = ui.no_owner_value;
      if (field === "risk_band" && want === "__at_risk__") {
        if (have !== "high" && have !== "medium") return false;
      } else if (have !== want) {
        return false;
      }
    }
    return true;
  }

  function cell(tr, cls) { var td = el("td", cls); tr.appendChild(td); return td; }

  function rowElement(r) {
    var tr = el("tr"), td;
    cell(tr, "num").textContent = r[C.rank];
    td = cell(tr, "");
    td.appendChild(el("strong", "", r[C.id]));
    if (r[C.name]) td.appendChild(el("span", "sub", r[C.name]));
    if (r[C.contact]) td.appendChild(el("span", "sub", r[C.contact]));
    td = cell(tr, "");
    td.appendChild(pill(ui.bands[r[C.band]] || r[C.band], ui.band_colours[r[C.band]]));
    td.appendChild(el("span", "sub", fmtPct(r[C.p])));
    td = cell(tr, "");
    td.appendChild(document.createTextNode(ui.tiers[r[C.tier]] || r[C.tier] || ""));
    if (r[C.ka]) {
      td.appendChild(el("br"));
      var badge = el("span", "badge", ui.key_account);
      if (typeof r[C.ka] === "string") badge.title = r[C.ka];  // the rule that made it a key account
      td.appendChild(badge);
    }
    cell(tr, "owner").textContent = r[C.owner] === null ? ui.no_owner : r[C.owner];
    td = cell(tr, "nowrap");
    td.appendChild(document.createTextNode(r[C.segment]));
    td.appendChild(el("span", "sub", r[C.region]));
    td = cell(tr, "");
    td.appendChild(pill(ui.causes[r[C.cause]] || r[C.cause], ui.cause_colours[r[C.cause]]));
    if (r[C.secondary]) td.appendChild(el("span", "sub", ui.secondary + " " + (ui.causes[r[C.secondary]] || r[C.secondary])));
    td = cell(tr, "action");
    td.appendChild(document.createTextNode(r[C.action]));
    var how = [r[C.channel], r[C.role]].filter(function (x) { return x && x !== "-"; });
    if (r[C.cost]) how.push(fmtInt(r[C.cost]));
    if (how.length) td.appendChild(el("span", "sub", how.join(" · ")));
    td = cell(tr, "num");
    td.appendChild(el("strong", "", fmtInt(r[C.loss])));
    td.appendChild(el("span", "sub", fmtInt(r[C.value])));
    cell(tr, "why").textContent = r[C.why];
    return tr;
  }

  function render() {
    var size = parseInt(sizeSelect.value, 10) || 0;
    var pages = size ? Math.max(1, Math.ceil(shown.length / size)) : 1;
    page = Math.min(Math.max(page, 0), pages - 1);
    var start = size ? page * size : 0, end = size ? Math.min(shown.length, start + size) : shown.length;
    var frag = document.createDocumentFragment();
    for (var i = start; i < end; i++) frag.appendChild(rowElement(shown[i]));
    if (!shown.length) {
      var tr = el("tr"), td = el("td", "", ui.nothing_shown);
      td.colSpan = 10;
      tr.appendChild(td);
      frag.appendChild(tr);
    }
    body.textContent = "";
    body.appendChild(frag);
    countEl.setAttribute("data-count", String(shown.length));
    countEl.textContent = fill(ui.shown, { shown: fmtInt(shown.length), total: fmtInt(rows.length) });
    pageInfo.textContent = fill(ui.page, { page: page + 1, pages: pages });
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  function refilter() {
    shown = rows.filter(matches);
    page = 0;
    render();
  }

  filters.forEach(function (s) { s.addEventListener("change", refilter); });
  sizeSelect.addEventListener("change", function () { page = 0; render(); });
  prev.addEventListener("click", function () { page -= 1; render(); });
  next.addEventListener("click", function () { page += 1; render(); });
  document.getElementById("reset-filters").addEventListener("click", function () {
    filters.forEach(function (s) { s.value = ""; });
    refilter();
  });
  // A click on an owner in "By owner" shows that owner's customers.
  Array.prototype.forEach.call(document.querySelectorAll("tr.pick"), function (tr) {
    tr.addEventListener("click", function () {
      var owner = document.getElementById("filter-owner");
      owner.value = tr.getAttribute("data-owner");
      refilter();
      document.getElementById("list").scrollIntoView();
    });
  });
  refilter();
})();
