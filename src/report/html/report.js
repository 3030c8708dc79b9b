// The object table: drawn from the embedded JSON with textContent only (never innerHTML),
// filtered, sorted and expanded in place. The state lives in the URL hash
// (#filter=..&kind=..&status=..&sort=-assertions&open=<key>), so a view can be linked.
// With a universe, the gap list too: grouped by kind, filtered by text and kind
// (#gfilter=..&gkind=..). The RLS matrix is drawn server-side; its cells link to real
// anchors (#rls-T-C), which are not table state.
(function () {
  "use strict";
  var root = document.documentElement;
  var data = JSON.parse(document.getElementById("pgtap-data").textContent);
  var files = data.files, functions = data.functions, contexts = data.contexts;
  var STATUS = ["tested", "absent", "referenced"];
  var STATUS_LABEL = ["tested", "absent only", "referenced only"];
  var ROLE = ["target", "member", "reference"];
  var NUMERIC = { assertions: 1, absent: 1, referenced: 1, aspects: 1, functions: 1, status: 0 };

  var objects = data.objects.map(function (o, i) {
    var colon = o.key.indexOf(":");
    return {
      o: o,
      index: i,
      id: "obj-" + i,
      name: colon >= 0 ? o.key.slice(colon + 1) : o.key,
      haystack: null
    };
  });

  var body = document.getElementById("objects-body");
  var text = document.getElementById("f-text");
  var kind = document.getElementById("f-kind");
  var status = document.getElementById("f-status");
  var count = document.getElementById("f-count");
  var heads = Array.prototype.slice.call(document.querySelectorAll("#objects-table th[data-sort]"));

  var state = { filter: "", kind: "", status: "", sort: "kind", desc: false, open: {} };
  var gaps = gapList(data.schema);

  function haystack(r) {
    if (r.haystack === null) {
      var parts = [r.o.key];
      r.o.functions.forEach(function (f) { parts.push(functions[f[0]]); });
      var seen = {};
      r.o.locations.forEach(function (l) {
        if (!seen[l[0]]) { seen[l[0]] = 1; parts.push(files[l[0]]); }
      });
      r.haystack = parts.join("\n").toLowerCase();
    }
    return r.haystack;
  }

  function sortValue(r, key) {
    switch (key) {
      case "name": return r.name;
      case "kind": return r.o.kind;
      case "status": return r.o.status;
      case "aspects": return r.o.aspects.length;
      case "functions": return r.o.functions.length;
      default: return r.o[key];
    }
  }

  function compare(a, b) {
    var x = sortValue(a, state.sort), y = sortValue(b, state.sort), c;
    if (typeof x === "number") { c = x - y; } else { c = x < y ? -1 : x > y ? 1 : 0; }
    if (state.desc) { c = -c; }
    if (c === 0) { c = a.index - b.index; }
    return c;
  }

  function el(tag, cls, txt) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (txt !== undefined && txt !== null) { e.textContent = String(txt); }
    return e;
  }

  // Text with line-break opportunities after dots, so long names wrap between parts.
  function breakable(parent, s) {
    var parts = s.split(".");
    parts.forEach(function (p, i) {
      parent.appendChild(document.createTextNode(i < parts.length - 1 ? p + "." : p));
      if (i < parts.length - 1) { parent.appendChild(document.createElement("wbr")); }
    });
  }

  function numCell(n) {
    var td = el("td", n ? "num" : "num zero-num", n.toLocaleString("en-US"));
    return td;
  }

  function row(r) {
    var o = r.o;
    var tr = el("tr", "obj");
    tr.setAttribute("data-key", o.key);
    var open = !!state.open[o.key];
    tr.setAttribute("aria-expanded", open ? "true" : "false");
    var name = el("td", "name");
    var btn = el("button", "disclose");
    btn.type = "button";
    btn.setAttribute("aria-expanded", open ? "true" : "false");
    btn.setAttribute("aria-controls", r.id);
    btn.title = "Show the assertions naming " + o.key;
    var twisty = el("span", "twisty", "\u25B8");
    twisty.setAttribute("aria-hidden", "true");
    btn.appendChild(twisty);
    var label = el("span", "label");
    var dot = r.name.indexOf(".");
    if (dot > 0 && r.name.charAt(0) !== "\"" && o.kind !== "function") {
      label.appendChild(el("span", "schema", r.name.slice(0, dot + 1)));
      breakable(label, r.name.slice(dot + 1));
    } else {
      breakable(label, r.name);
    }
    btn.appendChild(label);
    name.appendChild(btn);
    tr.appendChild(name);
    tr.appendChild(el("td", "kind", o.kind.replace(/_/g, " ")));
    var st = el("td");
    st.appendChild(el("span", "pill " + STATUS[o.status], STATUS_LABEL[o.status]));
    tr.appendChild(st);
    tr.appendChild(numCell(o.assertions));
    tr.appendChild(numCell(o.absent));
    tr.appendChild(numCell(o.referenced));
    var asp = el("td", "aspects");
    o.aspects.forEach(function (a) { asp.appendChild(el("span", "chip", a.replace(/_/g, " "))); });
    tr.appendChild(asp);
    tr.appendChild(numCell(o.functions.length));
    return tr;
  }

  function detail(r) {
    var o = r.o;
    var tr = el("tr", "detail");
    tr.id = r.id;
    var td = el("td");
    td.colSpan = heads.length;
    var fns = el("div", "fns", "Functions: ");
    o.functions.forEach(function (f, i) {
      if (i > 0) { fns.appendChild(document.createTextNode(" \u00B7 ")); }
      fns.appendChild(el("code", null, functions[f[0]]));
      fns.appendChild(document.createTextNode(" \u00D7" + f[1]));
    });
    if (!o.functions.length) { fns.appendChild(document.createTextNode("none (only referenced)")); }
    if (o.single_file) { fns.appendChild(document.createTextNode(" \u2014 all in one file")); }
    td.appendChild(fns);
    var t = el("table", "locs");
    var cap = el("caption", "sr-only", "Assertions naming " + o.key);
    t.appendChild(cap);
    var hr = el("tr");
    ["Location", "Function", "Context", "Role"].forEach(function (h) {
      var th = el("th", null, h);
      th.scope = "col";
      hr.appendChild(th);
    });
    var thead = el("thead");
    thead.appendChild(hr);
    t.appendChild(thead);
    var tb = el("tbody");
    o.locations.forEach(function (l) {
      var lr = el("tr", "role-" + ROLE[l[5]]);
      lr.appendChild(el("td", "where", files[l[0]] + ":" + l[1] + ":" + l[2]));
      var fn = el("td");
      fn.appendChild(el("code", null, functions[l[4]]));
      lr.appendChild(fn);
      lr.appendChild(el("td", null, contexts[l[3]]));
      var role = el("td", null, ROLE[l[5]]);
      if (l[6]) {
        role.appendChild(document.createTextNode(" \u00B7 "));
        role.appendChild(el("span", "absent-tag", "must not exist"));
      }
      lr.appendChild(role);
      tb.appendChild(lr);
    });
    t.appendChild(tb);
    td.appendChild(t);
    if (o.omitted) {
      td.appendChild(el("p", "more", o.omitted.toLocaleString("en-US") +
        " more locations not kept (streaming mode keeps a few per object)."));
    }
    tr.appendChild(td);
    return tr;
  }

  function matches(r, needle) {
    if (state.kind && r.o.kind !== state.kind) { return false; }
    if (state.status && STATUS[r.o.status] !== state.status) { return false; }
    return !needle || haystack(r).indexOf(needle) >= 0;
  }

  function render() {
    var needle = state.filter.trim().toLowerCase();
    var shown = objects.filter(function (r) { return matches(r, needle); });
    shown.sort(compare);
    var frag = document.createDocumentFragment();
    shown.forEach(function (r) {
      frag.appendChild(row(r));
      if (state.open[r.o.key]) { frag.appendChild(detail(r)); }
    });
    if (!shown.length) {
      var tr = el("tr");
      var td = el("td", "empty", objects.length ? "No object matches these filters." : "The suite names no objects.");
      td.colSpan = heads.length;
      tr.appendChild(td);
      frag.appendChild(tr);
    }
    body.textContent = "";
    body.appendChild(frag);
    heads.forEach(function (th) {
      if (th.getAttribute("data-sort") === state.sort) {
        th.setAttribute("aria-sort", state.desc ? "descending" : "ascending");
      } else {
        th.removeAttribute("aria-sort");
      }
    });
    count.textContent = shown.length === objects.length
      ? objects.length.toLocaleString("en-US") + " objects"
      : shown.length.toLocaleString("en-US") + " of " + objects.length.toLocaleString("en-US") + " objects";
    root.setAttribute("data-rows", String(shown.length));
  }

  function toggle(tr) {
    var key = tr.getAttribute("data-key");
    var r = objects.filter(function (x) { return x.o.key === key; })[0];
    if (!r) { return; }
    var btn = tr.querySelector("button");
    if (state.open[key]) {
      delete state.open[key];
      var next = tr.nextSibling;
      if (next && next.className === "detail") { body.removeChild(next); }
      tr.setAttribute("aria-expanded", "false");
      btn.setAttribute("aria-expanded", "false");
    } else {
      state.open[key] = true;
      body.insertBefore(detail(r), tr.nextSibling);
      tr.setAttribute("aria-expanded", "true");
      btn.setAttribute("aria-expanded", "true");
    }
    save();
  }

  // ---- The gaps (schema coverage): drawn from data.schema, at most MAX_GAP_ROWS rows.
  function gapList(schema) {
    if (!schema) { return null; }
    var MAX_GAP_ROWS = 2000;
    var g = {
      state: { filter: "", kind: "" },
      body: document.getElementById("gaps-body"),
      text: document.getElementById("g-text"),
      kind: document.getElementById("g-kind"),
      count: document.getElementById("g-count"),
      rows: schema.gaps.map(function (x) {
        var colon = x[0].indexOf(":");
        return {
          key: x[0],
          kind: schema.kinds[x[1]][0],
          group: x[1],
          name: colon >= 0 ? x[0].slice(colon + 1) : x[0],
          where: schema.files[x[2]] + ":" + x[3],
          note: x.length > 4 ? x[4] : "",
          haystack: (x[0] + "\n" + schema.files[x[2]] + (x.length > 4 ? "\n" + x[4] : "")).toLowerCase()
        };
      })
    };
    root.setAttribute("data-gaps", String(g.rows.length));
    if (!g.body) { return g; }
    g.render = function () {
      var needle = g.state.filter.trim().toLowerCase();
      var shown = g.rows.filter(function (r) {
        return (!g.state.kind || r.kind === g.state.kind) && (!needle || r.haystack.indexOf(needle) >= 0);
      });
      var perGroup = {};
      shown.forEach(function (r) { perGroup[r.group] = (perGroup[r.group] || 0) + 1; });
      var frag = document.createDocumentFragment(), group = -1;
      shown.slice(0, MAX_GAP_ROWS).forEach(function (r) {
        if (r.group !== group) {
          group = r.group;
          var k = schema.kinds[group];
          var gr = el("tr", "group");
          var th = el("th", null, plural(k[0]).replace(/_/g, " "));
          th.colSpan = 3;
          th.scope = "rowgroup";
          var note = k[2].toLocaleString("en-US") + " of " + k[1].toLocaleString("en-US") + " untested";
          if (perGroup[group] !== k[2]) { note += " \u00B7 " + perGroup[group].toLocaleString("en-US") + " shown"; }
          th.appendChild(el("span", "muted", note));
          gr.appendChild(th);
          frag.appendChild(gr);
        }
        var tr = el("tr", "gap");
        tr.setAttribute("data-key", r.key);
        var name = el("td", "name");
        var dot = r.name.indexOf(".");
        if (dot > 0 && r.name.charAt(0) !== "\"" && r.kind !== "function") {
          name.appendChild(el("span", "schema", r.name.slice(0, dot + 1)));
          breakable(name, r.name.slice(dot + 1));
        } else {
          breakable(name, r.name);
        }
        if (r.note) { name.appendChild(el("span", "only", "(" + r.note + ")")); }
        tr.appendChild(name);
        tr.appendChild(el("td", "kind", r.kind.replace(/_/g, " ")));
        tr.appendChild(el("td", "where", r.where));
        frag.appendChild(tr);
      });
      if (shown.length > MAX_GAP_ROWS) {
        var more = el("tr");
        var mtd = el("td", "empty", "\u2026 and " + (shown.length - MAX_GAP_ROWS).toLocaleString("en-US") +
          " more; filter to narrow the list.");
        mtd.colSpan = 3;
        more.appendChild(mtd);
        frag.appendChild(more);
      }
      if (!shown.length) {
        var tr = el("tr");
        var td = el("td", "empty", "No gap matches these filters.");
        td.colSpan = 3;
        tr.appendChild(td);
        frag.appendChild(tr);
      }
      g.body.textContent = "";
      g.body.appendChild(frag);
      var total = g.rows.length.toLocaleString("en-US");
      g.count.textContent = shown.length === g.rows.length
        ? total + (g.rows.length === 1 ? " gap" : " gaps")
        : shown.length.toLocaleString("en-US") + " of " + total + " gaps";
      root.setAttribute("data-gap-rows", String(shown.length));
    };
    g.read = function (p) {
      g.state.filter = p.get("gfilter") || "";
      g.state.kind = p.get("gkind") || "";
      g.text.value = g.state.filter;
      g.kind.value = g.state.kind;
      if (g.kind.value !== g.state.kind) { g.state.kind = ""; g.kind.value = ""; }
    };
    g.save = function (p) {
      if (g.state.filter) { p.set("gfilter", g.state.filter); }
      if (g.state.kind) { p.set("gkind", g.state.kind); }
    };
    document.getElementById("gap-filters").addEventListener("submit", function (e) { e.preventDefault(); });
    var gtimer = 0;
    g.text.addEventListener("input", function () {
      clearTimeout(gtimer);
      gtimer = setTimeout(function () { g.state.filter = g.text.value; g.render(); save(); }, 120);
    });
    g.kind.addEventListener("change", function () { g.state.kind = g.kind.value; g.render(); save(); });
    return g;
  }

  function plural(kind) {
    if (kind === "index") { return "indexes"; }
    if (kind === "policy") { return "policies"; }
    return kind + "s";
  }

  function renderAll() {
    render();
    if (gaps && gaps.render) { gaps.render(); }
  }

  function readHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ""));
    state.filter = p.get("filter") || "";
    state.kind = p.get("kind") || "";
    state.status = STATUS.indexOf(p.get("status")) >= 0 ? p.get("status") : "";
    var sort = p.get("sort") || "kind";
    state.desc = sort.charAt(0) === "-";
    sort = sort.replace(/^-/, "");
    state.sort = heads.some(function (th) { return th.getAttribute("data-sort") === sort; }) ? sort : "kind";
    state.open = {};
    p.getAll("open").forEach(function (k) { state.open[k] = true; });
    text.value = state.filter;
    kind.value = state.kind;
    if (kind.value !== state.kind) { state.kind = ""; kind.value = ""; }
    status.value = state.status;
    if (gaps && gaps.read) { gaps.read(p); }
  }

  function save() {
    var p = new URLSearchParams();
    if (state.filter) { p.set("filter", state.filter); }
    if (state.kind) { p.set("kind", state.kind); }
    if (state.status) { p.set("status", state.status); }
    if (state.sort !== "kind" || state.desc) { p.set("sort", (state.desc ? "-" : "") + state.sort); }
    Object.keys(state.open).sort().forEach(function (k) { p.append("open", k); });
    if (gaps && gaps.save) { gaps.save(p); }
    var h = p.toString();
    try {
      history.replaceState(null, "", h ? "#" + h : location.pathname + location.search);
    } catch (e) {
      // Some viewers forbid history changes on file: pages; the view still works.
    }
  }

  // Only locations of section links (and of the RLS matrices and their cells' lines) are
  // real anchors; everything else is table state.
  function hashIsState() {
    return !/^#(schema|gaps|stale|overview|charts|objects|problems|rls(-[0-9]+){0,2})?$/.test(location.hash);
  }

  document.getElementById("filters").addEventListener("submit", function (e) { e.preventDefault(); });
  var timer = 0;
  text.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.filter = text.value; render(); save(); }, 120);
  });
  kind.addEventListener("change", function () { state.kind = kind.value; render(); save(); });
  status.addEventListener("change", function () { state.status = status.value; render(); save(); });
  heads.forEach(function (th) {
    th.querySelector("button").addEventListener("click", function () {
      var key = th.getAttribute("data-sort");
      if (state.sort === key) {
        state.desc = !state.desc;
      } else {
        state.sort = key;
        state.desc = NUMERIC[key] === 1;
      }
      render();
      save();
    });
  });
  body.addEventListener("click", function (e) {
    var tr = e.target.closest ? e.target.closest("tr.obj") : null;
    if (tr) { toggle(tr); }
  });
  window.addEventListener("hashchange", function () {
    if (hashIsState()) { readHash(); renderAll(); }
  });

  var started = window.performance ? performance.now() : 0;
  if (hashIsState()) { readHash(); }
  renderAll();
  if (window.performance) {
    root.setAttribute("data-render-ms", String(Math.round(performance.now() - started)));
  }
  root.setAttribute("data-ready", "1");
})();
