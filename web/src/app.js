// kspm report and live view. Every value from the data goes into the page through textContent
// (never innerHTML), so nothing in a scanned object can inject markup.
(function () {
  "use strict";
  var SEVERITIES = ["critical", "high", "medium", "low", "info"];
  // Hops that follow from what the objects are, not from a setting one can change.
  var STRUCTURAL = { INCLUDES: 1, MEMBER_OF: 1, POD_RUNS_CONTAINER: 1, NODE_HOSTS_POD: 1, NODE_CREDENTIALS: 1,
    CONTROL_PLANE_NODE: 1, SECRET_AUTHENTICATES_AS: 1, SVC_SELECTS_POD: 1, ENDPOINT_EXPLOIT: 1, NODE_MAY_HOST_POD: 1 };
  var PAGE = 100;
  var state = { data: null, graphs: [], sort: { col: -1, dir: 1 }, page: 0, token: null };
  window.kspm = state;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        if (attrs[k] == null) continue;
        if (k === "text") e.textContent = attrs[k];
        else if (k === "class") e.className = attrs[k];
        else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), attrs[k]);
        else e.setAttribute(k, attrs[k]);
      }
    }
    (children || []).forEach(function (c) {
      if (c != null) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function sev(s) { return el("span", { class: "sev " + s, text: s }); }
  function sevRank(s) { var i = SEVERITIES.indexOf(s); return i < 0 ? 9 : i; }

  // ---------- tabs ----------
  document.querySelectorAll("#tabs button").forEach(function (b) {
    b.addEventListener("click", function () { showTab(b.getAttribute("data-tab")); });
  });
  function showTab(name) {
    document.querySelectorAll("#tabs button").forEach(function (x) { x.classList.toggle("active", x.getAttribute("data-tab") === name); });
    document.querySelectorAll(".tab").forEach(function (x) { x.classList.toggle("active", x.id === name); });
    if (name === "paths") {
      state.graphs.forEach(function (g) { g.resize(); g.fit(undefined, 20); });
      if (state.explorer && state.explorer.cy) { state.explorer.cy.resize(); state.explorer.cy.fit(undefined, 30); }
    }
  }

  // ---------- summary and overview ----------
  function renderSummary(d) {
    var s = d.summary || {};
    var box = clear(document.getElementById("summary"));
    box.appendChild(el("span", { text: (s.clusters || 0) + " cluster(s)" }));
    box.appendChild(el("span", { text: (s.objects || 0) + " objects" }));
    box.appendChild(el("span", { text: (s.findings || 0) + " findings" }));
    var by = s.by_severity || {};
    SEVERITIES.forEach(function (x) { if (by[x]) box.appendChild(el("span", {}, [sev(x), " " + by[x]])); });
    box.appendChild(el("span", { text: (s.attack_paths || 0) + " attack paths" }));
    document.getElementById("footer").textContent = (d.tool || "kspm") + " · this page makes no network requests" +
      (window.KSPM_MODE === "live" ? " beyond its own service" : "");
  }

  function scoreOf(d, cluster, fw) {
    var c = (d.compliance || []).filter(function (x) { return x.cluster === cluster && x.framework === fw; })[0];
    if (!c) return "–";
    return c.score == null ? "n/a" : c.score + "%";
  }

  function renderOverview(d) {
    var box = clear(document.getElementById("overview"));
    var fws = [];
    (d.compliance || []).forEach(function (c) { if (fws.indexOf(c.framework) < 0) fws.push(c.framework); });
    var head = ["Cluster", "Provider", "Version", "Objects", "Coverage"].concat(fws).concat(SEVERITIES);
    var t = el("table", { id: "clusters" }, [el("thead", {}, [el("tr", {}, head.map(function (h) { return el("th", { text: h }); }))])]);
    var body = el("tbody");
    (d.clusters || []).forEach(function (c) {
      var gaps = (c.coverage_gaps || []).length, errs = c.errors || 0;
      var unevaluated = Object.keys(c.unevaluated_kinds || {}).length;
      var coverage = (gaps ? gaps + " kind(s) not readable; " : "") + (errs ? errs + " error(s); " : "") +
        (unevaluated ? unevaluated + " kind(s) not evaluated" : "") || "complete";
      var cells = [c.name, c.provider, c.kubernetes_version || "?", String(c.objects), coverage]
        .concat(fws.map(function (f) { return scoreOf(d, c.name, f); }))
        .concat(SEVERITIES.map(function (x) { return String((c.findings_by_severity || {})[x] || 0); }));
      body.appendChild(el("tr", {}, cells.map(function (v) { return el("td", { text: v }); })));
    });
    t.appendChild(body);
    renderFixPlan(d, box);
    box.appendChild(el("h2", { text: "Clusters" }));
    box.appendChild(t);
    if ((d.errors || []).length) {
      box.appendChild(el("h2", { text: "Could not be read or assessed" }));
      var ul = el("ul");
      d.errors.forEach(function (e) {
        ul.appendChild(el("li", { text: (e.cluster ? e.cluster + ": " : "") + e.file + (e.line ? ":" + e.line : "") + " — " + e.message }));
      });
      box.appendChild(ul);
    }
  }

  // ---------- fix plan ----------
  // The plan of the report (fix_plan in the JSON): fixes as
  // [id, cluster, object, changes, command, cost, breaks, resolved findings, loses].
  function renderFixPlan(d, box) {
    var plan = d.fixes || {};
    var fixes = plan.fixes || [];
    if (!fixes.length) return;
    var wrap = el("div", { id: "fix-plan" });
    wrap.appendChild(el("h2", { text: "Fix these " + fixes.length + " to remove " + plan.paths_cut + " of " + plan.paths + " " + plan.severity + "-or-worse attack paths" }));
    wrap.appendChild(el("p", { class: "muted", text: "Cost " + plan.cost + (plan.method === "exact" ? " (optimal)" : plan.method === "greedy" ? " (greedy; no plan costs less than " + plan.lower_bound + ")" : "") +
      ". Proven by searching the graph again without what the fixes remove; " + (plan.remaining || []).length + " path(s) remain where no hop is a change kspm can cut (see each card)." }));
    var clusters = plan.clusters || {};
    var ct = el("table", { id: "fix-clusters" }, [el("thead", {}, [el("tr", {}, ["Cluster or cloud account", "Fixes", "Paths cut", "Paths remaining"].map(function (h) { return el("th", { text: h }); }))])]);
    var cb = el("tbody");
    Object.keys(clusters).sort().forEach(function (c) {
      var x = clusters[c];
      cb.appendChild(el("tr", {}, [c, String(x.fixes), String(x.paths_cut), String(x.remaining)].map(function (v) { return el("td", { text: v }); })));
    });
    ct.appendChild(cb);
    wrap.appendChild(ct);
    var list = el("ol", { id: "fix-list" });
    fixes.forEach(function (f, i) {
      var item = el("li", { "data-fix": f[0] }, [
        el("b", { text: f[3] }), " — " + f[1] + " · " + f[2] + " · cuts " + f[6].length + " path(s)" + (f[7] ? ", resolves " + f[7] + " finding(s)" : "") + " · cost " + f[5],
        el("details", {}, [el("summary", { text: "command, paths, what it takes away" }),
          el("pre", { text: f[4] }),
          el("div", { class: "muted", text: "Paths: " + f[6].join(", ") }),
          el("ul", {}, f[8].map(function (l) { return el("li", { text: l }); }))])
      ]);
      item.hidden = i >= 10;
      list.appendChild(item);
    });
    wrap.appendChild(list);
    if (fixes.length > 10) {
      var all = el("button", { text: "Show all " + fixes.length + " fixes", onclick: function () {
        list.querySelectorAll("li[data-fix]").forEach(function (x) { x.hidden = false; });
        all.hidden = true;
      } });
      wrap.appendChild(all);
    }
    box.appendChild(wrap);
  }

  // Path ID → the plan's fixes that cut it, and why a path the plan cannot cut stays.
  function planIndex(d) {
    var byPath = {}, remaining = {};
    ((d.fixes || {}).fixes || []).forEach(function (f) {
      f[6].forEach(function (id) { (byPath[id] = byPath[id] || []).push(f); });
    });
    ((d.fixes || {}).remaining || []).forEach(function (r) { remaining[r[0]] = r[1]; });
    return { byPath: byPath, remaining: remaining };
  }

  // ---------- attack paths ----------
  // Hops of different clusters with the same references are different hops.
  function stepKey(cluster, st) { return cluster + "\u0000" + st[0] + "\u0000" + st[1] + "\u0000" + st[2]; }

  // The cheapest edge to remove: the configurable hop shared by the most reported paths.
  function fixFor(path, counts) {
    var best = null;
    path.steps.forEach(function (st) {
      if (STRUCTURAL[st[2]]) return;
      var n = counts[stepKey(path.cluster, st)] || 0;
      if (!best || n > best.n) best = { step: st, n: n };
    });
    return best;
  }

  // ---------- path filters (the URL keeps them: #paths?cluster=…&technique=…) ----------
  var PATH_FILTERS = ["cluster", "sink", "severity", "technique", "namespace", "entry", "node"];

  function nodesOf(p) { return [p.source].concat(p.steps.map(function (s) { return s[1]; })); }
  function sinkOf(p) {
    if (p.target.indexOf("CloudAdmin") === 0) return "CloudAdmin";
    if (p.target.indexOf("Node:") === 0) return "NodeRoot";
    return p.target;
  }
  // The namespace of a reference `Kind:ns/name` (also inside `Endpoint:Kind:ns/name`).
  function namespaceOf(ref) {
    var m = /:([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/[^\/]+$/.exec(ref.replace(/^\[[^\]]*\] /, ""));
    return m ? m[1] : "";
  }
  function entryKindOf(p) { return p.source.split(":")[0]; }

  function readFilters() {
    var out = {};
    var h = window.location.hash || "";
    var q = h.indexOf("?");
    if (h.indexOf("#paths") !== 0 || q < 0) return out;
    h.slice(q + 1).split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0 && PATH_FILTERS.indexOf(kv.slice(0, i)) >= 0) out[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
    });
    return out;
  }

  function writeFilters(f) {
    var parts = PATH_FILTERS.filter(function (k) { return f[k]; }).map(function (k) { return k + "=" + encodeURIComponent(f[k]); });
    var hash = "#paths" + (parts.length ? "?" + parts.join("&") : "");
    // replaceState keeps the history clean; file:// pages may refuse it.
    try { window.history.replaceState(null, "", hash); } catch (e) { /* below */ }
    if (window.location.hash !== hash) window.location.hash = hash;
  }

  function matches(p, f) {
    if (f.cluster && p.cluster !== f.cluster) return false;
    if (f.sink && sinkOf(p) !== f.sink) return false;
    if (f.severity && sevRank(p.severity) > sevRank(f.severity)) return false;
    if (f.technique && !p.steps.some(function (s) { return s[2] === f.technique; })) return false;
    if (f.namespace && !nodesOf(p).some(function (n) { return namespaceOf(n) === f.namespace; })) return false;
    if (f.entry && entryKindOf(p) !== f.entry) return false;
    if (f.node && f.node.charAt(0) === "=") {
      // Exactly one node: `=[cluster] Kind:ns/name`, or `=reference` for a fleet-wide node.
      var exact = f.node.slice(1);
      if (!nodesOf(p).some(function (n) { return n === exact || (n.charAt(0) !== "[" && "[" + p.cluster + "] " + n === exact); })) return false;
    } else if (f.node) {
      var needle = f.node.toLowerCase();
      if (!nodesOf(p).some(function (n) { return n.toLowerCase().indexOf(needle) >= 0; })) return false;
    }
    return true;
  }

  function renderPaths(d) {
    var box = clear(document.getElementById("paths"));
    state.graphs.forEach(function (g) { g.destroy(); });
    state.graphs = [];
    // A re-render (the live view, on a changed posture) replaces the explorer: free the old one.
    if (state.explorer) state.explorer.destroy();
    state.explorer = null;
    var all = d.paths || [];
    if (!all.length) {
      box.appendChild(el("p", { text: "No attack paths found." }));
      // The graph can still be explored: reach, who reaches, neighbours, routes.
      if (d.graph && d.graph.nodes.length) {
        var lone = el("div", { id: "explorer", class: "explorer" });
        box.appendChild(lone);
        state.explorer = new window.KspmExplorer.Explorer(lone, d, explorerHelpers(d, function () {}));
        state.explorer.show([]);
      }
      return;
    }
    var counts = {};
    all.forEach(function (p) { p.steps.forEach(function (st) { var k = stepKey(p.cluster, st); counts[k] = (counts[k] || 0) + 1; }); });
    var plan = planIndex(d);
    var filters = readFilters();
    function uniq(f) {
      var seen = {};
      all.forEach(function (p) { [].concat(f(p)).forEach(function (v) { if (v) seen[v] = true; }); });
      return Object.keys(seen).sort();
    }
    function select(key, label, values, text) {
      var s = el("select", { id: "p-" + key, "aria-label": label }, [el("option", { value: "", text: label })].concat(values.map(function (v) {
        return el("option", { value: v, text: text ? text(v) : v });
      })));
      s.value = filters[key] || "";
      s.addEventListener("change", function () { filters[key] = s.value; update(); });
      return s;
    }
    var nodeBox = el("input", { id: "p-node", type: "search", placeholder: "contains node… (=[cluster] ref: exactly)", "aria-label": "contains node" });
    nodeBox.value = filters.node || "";
    nodeBox.addEventListener("input", function () { filters.node = nodeBox.value; update(); });
    box.appendChild(el("div", { class: "filters", id: "path-filters" }, [
      select("cluster", "any cluster", uniq(function (p) { return p.cluster; })),
      select("sink", "any sink", uniq(sinkOf)),
      select("severity", "any severity", SEVERITIES.filter(function (x) { return all.some(function (p) { return p.severity === x; }); }),
        function (v) { return v === "critical" ? v : v + " and above"; }),
      select("technique", "any technique", uniq(function (p) { return p.steps.map(function (s) { return s[2]; }).filter(function (t) { return !STRUCTURAL[t]; }); })),
      select("namespace", "any namespace", uniq(function (p) { return nodesOf(p).map(namespaceOf); })),
      select("entry", "any entry kind", uniq(entryKindOf)),
      nodeBox
    ]));
    var explorerBox = el("div", { id: "explorer", class: "explorer" });
    box.appendChild(explorerBox);
    state.explorer = new window.KspmExplorer.Explorer(explorerBox, d, explorerHelpers(d, function (exact) {
      nodeBox.value = exact; filters.node = exact; update();
    }));
    var count = el("p", { class: "muted", id: "p-count" });
    box.appendChild(count);
    // A card's graph is drawn when the card comes near the screen, with the graphs of the cards
    // before it (state.graphs keeps the cards' order): a graph costs tens of ms, and twenty drawn
    // at once held up the first draw of the explorer above them. Within 300 px below the screen
    // counts as near, so a graph is drawn before it scrolls into view.
    var queued = [];
    if (state.cardWatch) state.cardWatch.disconnect();
    var watch = state.cardWatch = typeof IntersectionObserver === "function" ? new IntersectionObserver(function (entries) {
      var last = -1;
      entries.forEach(function (en) {
        if (!en.isIntersecting) return;
        for (var k = last + 1; k < queued.length; k++) if (queued[k].box === en.target) last = k;
      });
      dequeue(last + 1).forEach(function (q) { q.draw(); });
    }, { rootMargin: "0px 0px 300px 0px" }) : null;
    // The first `n` queued graphs, no longer watched.
    function dequeue(n) {
      return queued.splice(0, n).map(function (q) { watch.unobserve(q.box); return q; });
    }
    // A printed report shows every card's graph: those not drawn yet are drawn before printing.
    if (watch && !state.printHook) {
      state.printHook = true;
      window.addEventListener("beforeprint", function () { if (state.drawQueued) state.drawQueued(); });
    }
    state.drawQueued = function () {
      dequeue(queued.length).forEach(function (q) { q.draw(); });
    };
    function later(graphBox, draw) {
      if (!watch) { setTimeout(draw, 0); return; }
      queued.push({ box: graphBox, draw: draw });
      watch.observe(graphBox);
    }
    var more = el("button", { text: "Show more paths", onclick: function () { addPaths(20); } });
    var list = el("div", { id: "path-list" });
    box.appendChild(list);
    box.appendChild(more);
    var paths = [];
    var shown = 0;
    function addPaths(n) {
      paths.slice(shown, shown + n).forEach(function (p, i) { list.appendChild(pathCard(p, shown + i, counts, d, plan, later)); });
      shown = Math.min(paths.length, shown + n);
      more.hidden = shown >= paths.length;
    }
    function update() {
      state.graphs.forEach(function (g) { g.destroy(); });
      state.graphs = [];
      dequeue(queued.length);
      clear(list);
      paths = all.filter(function (p) { return matches(p, filters); });
      shown = 0;
      count.textContent = (paths.length === all.length ? all.length + " attack path(s)" : paths.length + " of " + all.length + " attack path(s)") +
        ", highest score first. Click a node or hop to see its evidence.";
      if (PATH_FILTERS.some(function (k) { return filters[k]; }) || (window.location.hash || "").indexOf("#paths") === 0) writeFilters(filters);
      state.explorer.show(paths);
      addPaths(20);
    }
    update();
  }

  // What the explorer (explorer.js) uses of this page.
  function explorerHelpers(d, filterNode) {
    return {
      el: el, clear: clear, techniques: d.techniques || {}, live: window.KSPM_MODE === "live", ask: api,
      findingsOn: function (ref, cluster) { return (d.findings || []).filter(function (f) { return f[2] === ref && (!cluster || f[1] === cluster); }); },
      filterNode: filterNode
    };
  }

  // `later(box, draw)`: draws the card's graph when renderPaths sees the card near the screen.
  function pathCard(p, index, counts, d, plan, later) {
    var card = el("div", { class: "card path", "data-path": p.id });
    card.appendChild(el("h3", {}, [sev(p.severity), " ", el("b", { text: "score " + Math.round(p.score) }), " · " + p.cluster + " · " + p.source + " → " + p.target]));
    if (p.folded && p.folded.length) {
      card.appendChild(el("div", { class: "muted", text: "+" + p.folded.length + " shorter entry point" + (p.folded.length > 1 ? "s" : "") + " on this path: " + p.folded.join(", ") }));
    }
    if (p.siblings && p.siblings.length) {
      card.appendChild(el("div", { class: "muted", text: "+" + p.siblings.length + " other network segment" + (p.siblings.length > 1 ? "s" : "") + " the same way: " + p.siblings.join(", ") }));
    }
    var planned = plan.byPath[p.id] || [];
    var fix = planned.length ? null : fixFor(p, counts);
    if (planned.length) {
      card.appendChild(el("div", { class: "fix" }, [
        el("b", { text: "To break this path: " }),
        planned.map(function (f) {
          return f[3] + " on " + f[2] + " (" + f[0] + ", cuts " + f[6].length + " path(s) of the plan)";
        }).join("; and ") + "."
      ]));
    } else if (plan.remaining[p.id]) {
      card.appendChild(el("div", { class: "fix" }, [el("b", { text: "Not in the fix plan: " }), plan.remaining[p.id]]));
    } else if (fix) {
      var st = fix.step;
      card.appendChild(el("div", { class: "fix" }, [
        el("b", { text: "To break this path: " }),
        "remove " + st[2] + " from " + st[0] + " to " + st[1] +
          (fix.n > 1 ? " (a hop of " + (fix.n - 1) + " other reported path(s) of " + p.cluster + ")" : "") + ". Why it holds: " + st[3]
      ]));
    }
    var graph = el("div", { class: "graph", id: "graph-" + index });
    var evidence = el("div", { class: "evidence", text: "Click a node or hop." });
    card.appendChild(graph);
    card.appendChild(evidence);
    var nodes = [p.source].concat(p.steps.map(function (s) { return s[1]; }));
    // Left to right, labels alternating above and below so long references do not overlap.
    var elements = nodes.map(function (n, i) {
      return { data: { id: "n" + i, label: n, ref: n, valign: i % 2 ? "top" : "bottom" }, position: { x: i * 220, y: 0 } };
    });
    var cut = ((d.fixes || {}).cut_steps || {})[p.id] || [];
    p.steps.forEach(function (s, i) {
      var info = (d.techniques || {})[s[2]] || "";
      var isCut = cut.indexOf(i) >= 0;
      elements.push({ data: { id: "e" + i, source: "n" + i, target: "n" + (i + 1), label: isCut ? s[2] + " ✂" : s[2], technique: s[2], evidence: s[3], precondition: info, from: s[0], to: s[1], cut: isCut ? "yes" : "no" } });
    });
    // Drawn after insertion, when the container has a size.
    later(graph, function () {
      var cy = cytoscape({
        container: graph, elements: elements, userZoomingEnabled: true, boxSelectionEnabled: false,
        layout: { name: "preset", padding: 30 },
        style: [
          { selector: "node", style: { "label": "data(label)", "font-size": 10, "text-wrap": "wrap", "text-max-width": 200, "text-valign": "data(valign)", "background-color": "#5aa2ff", "width": 18, "height": 18 } },
          { selector: "node[id = 'n0']", style: { "background-color": "#d1452f" } },
          { selector: "node[id = 'n" + (nodes.length - 1) + "']", style: { "background-color": "#8e1b1b", "shape": "diamond" } },
          { selector: "edge", style: { "label": "data(label)", "font-size": 9, "curve-style": "bezier", "target-arrow-shape": "triangle", "width": 2, "line-color": "#8aa0bf", "target-arrow-color": "#8aa0bf", "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.8 } },
          { selector: "edge[cut = 'yes']", style: { "line-style": "dashed", "line-color": "#2f8a4c", "target-arrow-color": "#2f8a4c", "width": 3 } },
          { selector: ":selected", style: { "line-color": "#d1452f", "target-arrow-color": "#d1452f", "background-color": "#d1452f" } }
        ]
      });
      cy.on("tap", "edge", function (ev) {
        var e = ev.target.data();
        evidence.textContent = e.from + " → " + e.to + "\n" + e.technique + (e.precondition ? " — " + e.precondition : "") + "\nEvidence: " + e.evidence +
          (e.cut === "yes" ? "\nThe fix plan removes this hop." : "");
      });
      cy.on("tap", "node", function (ev) {
        var ref = ev.target.data("ref");
        var related = (state.data.findings || []).filter(function (f) { return f[2] === ref && f[1] === p.cluster; });
        evidence.textContent = ref + "\n" + (related.length ? related.length + " finding(s) on it:\n" + related.slice(0, 8).map(function (f) { return "  " + f[0] + ": " + f[4]; }).join("\n") : "No findings on this node.");
      });
      state.graphs.push(cy);
    });
    return card;
  }

  // ---------- findings ----------
  function renderFindings(d) {
    var box = clear(document.getElementById("findings"));
    var rows = d.findings || [];
    var clusters = [], checks = [];
    rows.forEach(function (f) {
      if (clusters.indexOf(f[1]) < 0) clusters.push(f[1]);
      if (checks.indexOf(f[0]) < 0) checks.push(f[0]);
    });
    checks.sort();
    function select(id, label, values) {
      return el("select", { id: id, "aria-label": label }, [el("option", { value: "", text: label })].concat(values.map(function (v) { return el("option", { value: v, text: v }); })));
    }
    var filters = el("div", { class: "filters" }, [
      el("input", { id: "f-text", type: "search", placeholder: "Search resource, message, check…", size: 32 }),
      el("select", { id: "f-severity", "aria-label": "severity" }, [el("option", { value: "", text: "any severity" })].concat(SEVERITIES.map(function (s) { return el("option", { value: s, text: s === "critical" ? s : s + " and above" }); }))),
      select("f-cluster", "any cluster", clusters),
      select("f-check", "any check", checks),
      el("input", { id: "f-namespace", type: "search", placeholder: "namespace", size: 14 }),
      el("input", { id: "f-control", type: "search", placeholder: "control, e.g. cis-kubernetes:5.1.1", size: 28 }),
      el("label", {}, [el("input", { id: "f-path", type: "checkbox" }), " on an attack path"]),
      el("span", { id: "f-count", class: "muted" })
    ]);
    box.appendChild(filters);
    if ((d.omitted || []).length) {
      var n = d.omitted.reduce(function (a, o) { return a + o[2]; }, 0);
      box.appendChild(el("div", { class: "note", text: "This report lists the " + rows.length + " highest-ranked findings one by one; " + n +
        " more (lower ranked) are counted per check and cluster below the table. The JSON report and the API have them all." }));
    }
    var head = ["Severity", "Cluster", "Check", "Resource", "Namespace", "Message", "On path"];
    var table = el("table", { id: "findings-table" });
    var tr = el("tr");
    head.forEach(function (h, i) {
      tr.appendChild(el("th", { text: h, "data-col": String(i), onclick: function () {
        state.sort = { col: i, dir: state.sort.col === i ? -state.sort.dir : 1 };
        state.page = 0;
        update();
      } }));
    });
    table.appendChild(el("thead", {}, [tr]));
    var tbody = el("tbody");
    table.appendChild(tbody);
    box.appendChild(table);
    var pager = el("div", { class: "pager" });
    box.appendChild(pager);
    if ((d.omitted || []).length) {
      var agg = el("table", { id: "omitted" }, [el("thead", {}, [el("tr", {}, ["Check", "Cluster", "Further findings"].map(function (h) { return el("th", { text: h }); }))])]);
      var ab = el("tbody");
      d.omitted.forEach(function (o) { ab.appendChild(el("tr", {}, o.map(function (v) { return el("td", { text: String(v) }); }))); });
      agg.appendChild(ab);
      box.appendChild(el("h3", { text: "Counted, not listed" }));
      box.appendChild(agg);
    }
    ["f-text", "f-namespace", "f-control"].forEach(function (id) { document.getElementById(id).addEventListener("input", function () { state.page = 0; update(); }); });
    ["f-severity", "f-cluster", "f-check", "f-path"].forEach(function (id) { document.getElementById(id).addEventListener("change", function () { state.page = 0; update(); }); });

    function value(f, col) {
      var c = (d.checks || {})[f[0]] || {};
      switch (col) {
        case 0: return sevRank(c.severity);
        case 1: return f[1]; case 2: return f[0]; case 3: return f[2]; case 4: return f[3]; case 5: return f[4];
        case 6: return f[5] ? 0 : 1;
      }
      return 0;
    }
    function update() {
      var text = document.getElementById("f-text").value.toLowerCase();
      var minSev = document.getElementById("f-severity").value;
      var cluster = document.getElementById("f-cluster").value;
      var check = document.getElementById("f-check").value;
      var ns = document.getElementById("f-namespace").value;
      var control = document.getElementById("f-control").value.trim();
      var onPath = document.getElementById("f-path").checked;
      var list = rows.filter(function (f) {
        var c = (d.checks || {})[f[0]] || {};
        if (minSev && sevRank(c.severity) > sevRank(minSev)) return false;
        if (cluster && f[1] !== cluster) return false;
        if (check && f[0] !== check) return false;
        if (ns && f[3] !== ns) return false;
        if (onPath && !f[5]) return false;
        if (control) {
          var cs = f[7].split(" ");
          var ok = cs.some(function (x) { return x === control || x.split(":")[0] === control; });
          if (!ok) return false;
        }
        if (text) {
          var hay = (f[0] + " " + f[2] + " " + f[4] + " " + (c.title || "")).toLowerCase();
          if (hay.indexOf(text) < 0) return false;
        }
        return true;
      });
      if (state.sort.col >= 0) {
        var col = state.sort.col, dir = state.sort.dir;
        list = list.slice().sort(function (a, b) { var x = value(a, col), y = value(b, col); return x < y ? -dir : x > y ? dir : 0; });
      }
      table.querySelectorAll("th").forEach(function (th) {
        var i = Number(th.getAttribute("data-col"));
        th.classList.toggle("sorted-asc", i === state.sort.col && state.sort.dir === 1);
        th.classList.toggle("sorted-desc", i === state.sort.col && state.sort.dir === -1);
      });
      document.getElementById("f-count").textContent = list.length + " of " + rows.length + " findings";
      clear(tbody);
      var pages = Math.max(1, Math.ceil(list.length / PAGE));
      state.page = Math.min(state.page, pages - 1);
      list.slice(state.page * PAGE, state.page * PAGE + PAGE).forEach(function (f) {
        var c = (d.checks || {})[f[0]] || {};
        var row = el("tr", { class: "finding" }, [
          el("td", {}, [sev(c.severity || "info")]), el("td", { text: f[1] }), el("td", { text: f[0], title: c.title || "" }),
          el("td", { text: f[2] }), el("td", { text: f[3] }), el("td", { text: f[4] }), el("td", { text: f[5] ? "yes" : "" })
        ]);
        row.addEventListener("click", function () {
          var next = row.nextSibling;
          if (next && next.classList && next.classList.contains("detail")) { next.remove(); return; }
          var lines = [c.title || f[0], "", "Evidence:", f[6] || "(none)", "", "Remediation: " + (c.remediation || ""),
            "Controls: " + (f[7] || "–"), "Source: " + (f[8] || "–")];
          if (f[9]) lines.push("Reaches: " + f[9]);
          row.after(el("tr", { class: "detail" }, [el("td", { colspan: "7", text: lines.join("\n") })]));
        });
        tbody.appendChild(row);
      });
      clear(pager);
      var prev = el("button", { id: "f-prev", text: "‹ previous", onclick: function () { state.page--; update(); } });
      prev.disabled = state.page === 0;
      pager.appendChild(prev);
      pager.appendChild(el("span", { text: "page " + (state.page + 1) + " of " + pages }));
      var next = el("button", { id: "f-next", text: "next ›", onclick: function () { state.page++; update(); } });
      next.disabled = state.page >= pages - 1;
      pager.appendChild(next);
    }
    update();
  }

  // ---------- compliance ----------
  function renderCompliance(d) {
    var box = clear(document.getElementById("compliance"));
    var comp = d.compliance || [];
    var fws = [];
    comp.forEach(function (c) { if (fws.indexOf(c.framework) < 0) fws.push(c.framework); });
    if (!fws.length) { box.appendChild(el("p", { text: "No compliance data." })); return; }
    var pick = el("select", { id: "c-framework", "aria-label": "framework" }, fws.map(function (f) { return el("option", { value: f, text: f }); }));
    var holder = el("div");
    box.appendChild(el("div", { class: "filters" }, ["Framework ", pick]));
    box.appendChild(holder);
    function draw() {
      clear(holder);
      var rows = comp.filter(function (c) { return c.framework === pick.value; });
      holder.appendChild(el("h3", { text: (rows[0] && rows[0].title) || pick.value }));
      var head = el("tr", {}, [el("th", { text: "Control" })].concat(rows.map(function (r) { return el("th", { text: r.cluster + " (" + (r.score == null ? "n/a" : r.score + "%") + ")" }); })));
      var t = el("table", { class: "compliance" }, [el("thead", {}, [head])]);
      var body = el("tbody");
      var ids = [];
      rows.forEach(function (r) { r.controls.forEach(function (c) { if (ids.indexOf(c[0]) < 0) ids.push(c[0]); }); });
      ids.forEach(function (id) {
        var title = "";
        var cells = rows.map(function (r) {
          var c = r.controls.filter(function (x) { return x[0] === id; })[0];
          if (!c) return el("td", { text: "–" });
          title = title || c[1];
          var label = c[2] === "not_assessable" ? "n/a" : c[2] + (c[2] === "fail" && c[4] ? " (" + c[4] + ")" : "");
          return el("td", { class: c[2], text: label, title: c[3] || "" });
        });
        body.appendChild(el("tr", {}, [el("td", { text: id + (title ? " " + title : "") })].concat(cells)));
      });
      t.appendChild(body);
      holder.appendChild(t);
    }
    pick.addEventListener("change", draw);
    draw();
  }

  function render(d) {
    // Controls travel once per check and cluster (see api/src/html.rs).
    (d.findings || []).forEach(function (f) { f[7] = (d.controls || {})[f[0] + "|" + f[1]] || ""; });
    state.data = d;
    renderSummary(d);
    renderOverview(d);
    renderPaths(d);
    renderFindings(d);
    renderCompliance(d);
    document.body.setAttribute("data-ready", "true");
  }

  // ---------- live view ----------
  function api(path) {
    return fetch(path, { headers: { "Authorization": "Bearer " + state.token } }).then(function (r) {
      if (r.status === 401) throw new Error("invalid token");
      if (!r.ok) {
        // The service says why (`{"error": …}`): an unknown or ambiguous reference, a bad limit.
        return r.json().catch(function () { return {}; }).then(function (b) {
          throw new Error(b.error || path.split("?")[0] + ": HTTP " + r.status);
        });
      }
      return r.json();
    });
  }
  function status(text) { document.getElementById("status").textContent = text; }

  var FILTERS = ["f-text", "f-severity", "f-cluster", "f-check", "f-namespace", "f-control", "f-path"];
  function capture() {
    var keep = {};
    FILTERS.forEach(function (id) { var e = document.getElementById(id); if (e) keep[id] = e.type === "checkbox" ? e.checked : e.value; });
    return keep;
  }
  function restore(keep) {
    FILTERS.forEach(function (id) {
      var e = document.getElementById(id);
      if (!e || !(id in keep)) return;
      if (e.type === "checkbox") e.checked = keep[id]; else e.value = keep[id];
    });
    var t = document.getElementById("f-text");
    if (t) t.dispatchEvent(new Event("input"));
  }
  function signature(d) {
    return (d.findings || []).length + "|" + (d.paths || []).map(function (p) { return p.id; }).join(",") + "|" +
      JSON.stringify(d.findings || []).length + "|" + JSON.stringify(d.summary || {}) + "|" + (d.graph_digest || "");
  }

  // Re-renders only when the posture changed, keeping the user's filters. Reloads never
  // overlap: events arriving during one are folded into a single follow-up.
  var loading = null, again = false;
  function loadLive() {
    if (loading) { again = true; return loading; }
    // The graph the page holds is not sent again while it stays the same.
    var held = state.data && state.data.graph_digest && state.data.graph ? state.data.graph_digest : "";
    loading = api("/api/model" + (held ? "?graph=" + encodeURIComponent(held) : "")).then(function (d) {
      if (d.graph_unchanged && state.data) d.graph = state.data.graph;
      var sig = signature(d);
      if (sig !== state.sig) {
        var keep = capture();
        render(d);
        restore(keep);
        state.sig = sig;
      }
      status("live · updated " + new Date().toLocaleTimeString());
      return loadScans();
    }).catch(function (e) { status(String(e.message || e)); }).then(function () {
      loading = null;
      if (again) { again = false; return loadLive(); }
    });
    return loading;
  }

  function loadScans() {
    return api("/api/scans").then(function (scans) {
      var box = document.getElementById("drift");
      var from = document.getElementById("d-from"), to = document.getElementById("d-to");
      if (!from) {
        clear(box);
        from = el("select", { id: "d-from" });
        to = el("select", { id: "d-to" });
        var out = el("div", { id: "drift-result" });
        box.appendChild(el("p", { class: "muted", text: "Compare two scans of a target: attack paths and findings added and removed, and posture changes." }));
        box.appendChild(el("div", { class: "filters" }, ["From ", from, " to ", to, el("button", { id: "d-go", text: "Compare", onclick: function () { compare(from.value, to.value, out); } })]));
        box.appendChild(out);
      }
      // Refresh the choices, keeping what is selected.
      [from, to].forEach(function (sel, which) {
        var current = sel.value;
        clear(sel);
        scans.forEach(function (s) { sel.appendChild(el("option", { value: s.id, text: s.target + " · " + s.finished_at + " · " + s.findings + " findings" })); });
        if (current && scans.some(function (s) { return s.id === current; })) sel.value = current;
        else if (which === 0 && scans.length > 1) sel.selectedIndex = 1;
      });
    });
  }

  function compare(fromId, toId, out) {
    api("/api/drift?from=" + encodeURIComponent(fromId) + "&to=" + encodeURIComponent(toId)).then(function (dr) {
      clear(out);
      function list(title, items, cls, fmt) {
        out.appendChild(el("h3", { text: title + " (" + items.length + ")" }));
        var ul = el("ul");
        items.slice(0, 500).forEach(function (x) { ul.appendChild(el("li", { class: cls, text: fmt(x) })); });
        out.appendChild(ul);
      }
      function path(p) { return "[" + Math.round(p.score) + "] " + p.cluster + ": " + [p.source].concat(p.steps.map(function (s) { return s.to; })).join(" → "); }
      function finding(f) { return f.severity + " " + f.cluster + " " + f.check + " " + f.resource + ": " + f.message; }
      list("Attack paths added", dr.new_paths, "added", path);
      list("Attack paths removed", dr.resolved_paths, "removed", path);
      list("Findings added", dr.new_findings, "added", finding);
      list("Findings resolved", dr.resolved_findings, "removed", finding);
      list("Posture changes", dr.changes, "", function (c) { return c.change + " " + c.category + " " + c.cluster + " " + c.item; });
    }).catch(function (e) { out.textContent = String(e.message || e); });
  }

  // Server-sent events over fetch (EventSource cannot send the Authorization header).
  function follow() {
    fetch("/api/events", { headers: { "Authorization": "Bearer " + state.token } }).then(function (r) {
      if (r.status === 401) { status("the token is no longer valid: reload the page"); sessionStorage.removeItem("kspm-token"); return; }
      if (!r.ok) throw new Error("HTTP " + r.status);
      // Scans committed while disconnected: catch up once on (re)connect.
      loadLive();
      var reader = r.body.getReader(), dec = new TextDecoder(), buf = "";
      function pump() {
        return reader.read().then(function (x) {
          if (x.done) { status("disconnected; retrying"); setTimeout(follow, 3000); return; }
          buf += dec.decode(x.value, { stream: true });
          var i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            var chunk = buf.slice(0, i); buf = buf.slice(i + 2);
            if (chunk.indexOf("event: scan") === 0) loadLive();
          }
          return pump();
        });
      }
      return pump();
    }).catch(function () { status("disconnected; retrying"); setTimeout(follow, 3000); });
  }

  function startLive() {
    document.getElementById("live").hidden = false;
    document.querySelector('[data-tab="drift"]').hidden = false;
    var saved = sessionStorage.getItem("kspm-token");
    function open(token) {
      state.token = token;
      // Check the token first; the event stream then loads the views (and reloads on change).
      api("/api/scans").then(function () {
        sessionStorage.setItem("kspm-token", token);
        document.getElementById("login").hidden = true;
        follow();
      }).catch(function (e) { status(String(e.message || e)); });
    }
    document.getElementById("login").addEventListener("submit", function (ev) {
      ev.preventDefault();
      open(document.getElementById("token").value);
    });
    if (saved) open(saved);
  }

  // The report's explorer graph travels deflated (api/src/html.rs): inflated by the browser.
  function inflate(b64) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"))).json();
  }
  function renderStatic(d) {
    if (!d.graph_deflated) { render(d); return; }
    var failed = null;
    // A browser without DecompressionStream("deflate-raw") throws at once: caught as a rejection.
    Promise.resolve().then(function () { return inflate(d.graph_deflated); }).then(function (g) { d.graph = g; }, function (e) {
      failed = String(e.message || e);
    }).then(function () {
      delete d.graph_deflated;
      render(d);
      // Without the graph the page still works: the explorer merges the listed paths alone.
      if (failed) document.getElementById("footer").textContent += " · the explorer's graph could not be read in this browser (" + failed + "): pivots need a current browser";
    });
  }

  if (window.KSPM_MODE === "live") startLive();
  else renderStatic(JSON.parse(document.getElementById("kspm-data").textContent));
  if ((window.location.hash || "").indexOf("#paths") === 0) showTab("paths");
})();
