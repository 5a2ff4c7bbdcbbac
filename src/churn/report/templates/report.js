(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var ui = data.ui, rows = data.rows, C = {};
  data.cols.forEach(function (name, i) { C[name] = i; });

  var filters = Array.prototype.slice.call(document.querySelectorAll(".filters select[data-field]"));
  var view = document.getElementById("filter-view"), search = document.getElementById("search");
  var sortKey = "rank", sortDir = 1;
  var body = document.getElementById("list-body");
  var countEl = document.getElementById("shown-count");
  var pageInfo = document.getElementById("page-info");
  var prev = document.getElementById("page-prev"), next = document.getElementById("page-next");
  var sizeSelect = document.getElementById("page-size");
  var page = 0, shown = rows;
  var FIELD = { owner: "owner", value_tier: "tier", primary_cause: "cause", risk_band: "band" };

  function fmtInt(x) { return x === null ? "" : Math.round(x).toLocaleString("en-US"); }
  function fmtMoney(x) {
    if (x === null) return "";
    var text = Math.round(Math.abs(x)).toLocaleString("en-US");
    return (x < 0 ? "-" : "") + ui.money.prefix + text + ui.money.suffix;
  }
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

  function inView(r) {
    var v = view.value;
    if (v === "contact") return r[C.decision] === ui.contacted && !r[C.lapsed];
    if (v === "winback") return r[C.lapsed];
    if (v === "at_risk") return (r[C.band] === "high" || r[C.band] === "medium") && !r[C.lapsed];
    return true;
  }

  function found(r) {
    var q = search.value.trim().toLowerCase();
    if (!q) return true;
    return [r[C.id], r[C.name], r[C.owner], r[C.contact]].some(function (x) {
      return x && String(x).toLowerCase().indexOf(q) >= 0;
    });
  }

  function matches(r) {
    if (!inView(r) || !found(r)) return false;
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
    td = cell(tr, "num");
    td.textContent = r[C.rank];
    if (r[C.lapsed]) td.appendChild(el("span", "sub winback", ui.winback_badge));
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
      td.appendChild(badge);
      // why it is a key account, in words: a key account in a low value tier says why it is one
      if (typeof r[C.ka] === "string") td.appendChild(el("span", "sub ka-why", r[C.ka]));
    }
    cell(tr, "owner").textContent = r[C.owner] === null ? ui.no_owner : r[C.owner];
    td = cell(tr, "nowrap");
    td.appendChild(document.createTextNode(r[C.segment]));
    td.appendChild(el("span", "sub", r[C.region]));
    td = cell(tr, "");
    td.appendChild(pill(ui.causes[r[C.cause]] || r[C.cause], ui.cause_colours[r[C.cause]]));
    if (r[C.secondary]) td.appendChild(el("span", "sub", ui.secondary + " " + (ui.causes[r[C.secondary]] || r[C.secondary])));
    td = cell(tr, "action");
    if (r[C.todo]) {  // the contact the plan chose, within budget and capacity
      td.appendChild(el("strong", "todo", r[C.todo]));
      var how = [r[C.todo_channel]].filter(function (x) { return x && x !== "-"; });
      how.push(fmtMoney(r[C.todo_cost]));
      if (r[C.retained]) how.push(ui.retains + " " + fmtMoney(r[C.retained]));
      td.appendChild(el("span", "sub", how.join(" · ")));
    } else if (r[C.decision]) {  // no contact: why not (held-out customers carry no action at all)
      td.appendChild(el("span", r[C.decision] === "holdout" ? "holdout" : "muted", ui.decisions[r[C.decision]] || r[C.decision]));
      if (r[C.action]) td.title = ui.playbook_action + ": " + r[C.action];
    } else {  // a list without a plan: the playbook's action
      td.appendChild(document.createTextNode(r[C.action]));
      var playbook = [r[C.channel], r[C.role]].filter(function (x) { return x && x !== "-"; });
      if (r[C.cost]) playbook.push(fmtMoney(r[C.cost]));
      if (playbook.length) td.appendChild(el("span", "sub", playbook.join(" · ")));
    }
    td = cell(tr, "num");
    td.appendChild(el("strong", "", fmtMoney(r[C.loss])));
    td.appendChild(el("span", "sub", fmtMoney(r[C.value])));
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

  var SORT_FIELD = { rank: "order", id: "id", p: "p", value: "value", owner: "owner", segment: "segment",
                     cause: "cause", retained: "retained", loss: "loss" };
  var DESCENDING_FIRST = { p: 1, value: 1, retained: 1, loss: 1 };

  function compare(a, b) {
    var i = C[SORT_FIELD[sortKey]], x = a[i], y = b[i];
    if (x === y) return a[C.order] - b[C.order];
    if (x === null || x === "") return 1;  // blanks last, whichever the direction
    if (y === null || y === "") return -1;
    return (x < y ? -1 : 1) * sortDir;
  }

  function refilter() {
    shown = rows.filter(matches);
    if (sortKey !== "rank" || sortDir !== 1) shown.sort(compare);
    page = 0;
    render();
  }

  function csvCell(x) {
    var text = x === null || x === undefined ? "" : String(x);
    if (/^[=+\-@]/.test(text)) text = "'" + text;  // text from the data never becomes a formula
    return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function csvText() {
    var lines = [ui.csv_headers.map(csvCell).join(",")];
    shown.forEach(function (r) {
      lines.push([r[C.rank], r[C.id], r[C.name], ui.bands[r[C.band]] || r[C.band], r[C.p],
                  ui.tiers[r[C.tier]] || r[C.tier], r[C.ka] ? ui.key_account : "",
                  r[C.owner] === null ? ui.no_owner : r[C.owner], r[C.segment], r[C.region],
                  ui.causes[r[C.cause]] || r[C.cause], ui.decisions[r[C.decision]] || r[C.decision] || "",
                  r[C.todo], r[C.todo_channel], r[C.todo] ? r[C.todo_cost] : "", r[C.todo] ? r[C.retained] : "",
                  r[C.loss], r[C.value], r[C.why]].map(csvCell).join(","));
    });
    return "\ufeff" + lines.join("\r\n") + "\r\n";  // with a BOM: Excel then reads Chinese as UTF-8
  }
  window.retentionCsv = csvText;


  filters.forEach(function (s) { s.addEventListener("change", refilter); });
  view.addEventListener("change", refilter);
  search.addEventListener("input", refilter);
  Array.prototype.forEach.call(document.querySelectorAll("th.sortable"), function (th) {
    th.addEventListener("click", function () {
      var key = th.getAttribute("data-sort");
      sortDir = key === sortKey ? -sortDir : (DESCENDING_FIRST[key] ? -1 : 1);
      sortKey = key;
      Array.prototype.forEach.call(document.querySelectorAll("th.sortable"), function (h) {
        h.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      refilter();
    });
  });
  document.getElementById("export-csv").addEventListener("click", function () {
    var link = document.createElement("a");
    link.setAttribute("href", URL.createObjectURL(new Blob([csvText()], { type: "text/csv;charset=utf-8" })));
    link.download = ui.csv_name;
    document.body.appendChild(link);
    link.click();
    link.remove();
  });
  sizeSelect.addEventListener("change", function () { page = 0; render(); });
  prev.addEventListener("click", function () { page -= 1; render(); });
  next.addEventListener("click", function () { page += 1; render(); });
  document.getElementById("reset-filters").addEventListener("click", function () {
    filters.forEach(function (s) { s.value = ""; });
    view.selectedIndex = 0;
    search.value = "";
    sortKey = "rank";
    sortDir = 1;
    refilter();
  });
  // A click on an owner in "By owner" shows that owner's customers.
  Array.prototype.forEach.call(document.querySelectorAll("tr.pick"), function (tr) {
    tr.addEventListener("click", function () {
      var owner = document.getElementById("filter-owner");
      owner.value = tr.getAttribute("data-owner");
      view.selectedIndex = 0;  // that owner's customers to contact this week, when the list has a plan
      refilter();
      document.getElementById("list").scrollIntoView();
    });
  });
  refilter();
})();
