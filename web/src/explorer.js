// The explorer: the reported attack paths merged into one graph (shared nodes once, cloud
// principals joining clusters), and pivots over the whole fleet graph the scan built — a node's
// neighbours, what it reaches, who reaches it, the report's route from it to a sink — with the
// fix plan drawn on it. The graph comes with the data (`graph`, from engine/src/graph/explore.rs):
// routes are walked in the route tables the scan's own search filled, never searched again here.
// Every value goes into the page through textContent (see app.js).
(function () {
  "use strict";
  var TERMINAL = 1, STEP = 2;
  // Nodes drawn before the rest of the paths wait behind "draw more" (the highest-scored first).
  var MAX_DRAWN = 400;
  // Neighbours drawn per direction on one expansion; the rest are counted.
  var MAX_NEIGHBOURS = 25;
  // Answers listed per question; the rest are counted.
  var MAX_LISTED = 100;
  // Canvas grid: a column per hop, a row per node.
  var COL = 190, ROW = 64;

  // ---------- the fleet graph ----------
  function Graph(g) {
    this.g = g || { clusters: [], kinds: [], techniques: [], texts: [], nodes: [], edges: [], routes: [] };
    this.size = this.g.nodes.length;
  }
  Graph.prototype.ref = function (i) { return this.g.nodes[i][0]; };
  Graph.prototype.cluster = function (i) { var c = this.g.nodes[i][1]; return c < 0 ? null : this.g.clusters[c]; };
  Graph.prototype.kind = function (i) { return this.g.kinds[this.g.nodes[i][2]]; };
  Graph.prototype.flags = function (i) { return this.g.nodes[i][3]; };
  // A node as written from outside its cluster: `[cluster] reference` (fleet-wide: the reference).
  Graph.prototype.qualified = function (i) { return (this.cluster(i) ? "[" + this.cluster(i) + "] " : "") + this.ref(i); };
  Graph.prototype.key = function (i) { return (this.cluster(i) || "") + "\u0000" + this.ref(i); };
  Graph.prototype.edge = function (e) {
    var x = this.g.edges;
    return { from: x[4 * e], to: x[4 * e + 1], technique: this.g.techniques[x[4 * e + 2]], evidence: this.g.texts[x[4 * e + 3]] };
  };
  // The graph (scan target) a node belongs to: one in a report, one per target in the live view.
  Graph.prototype.part = function (i) {
    var parts = this.g.parts || [0], k = 0;
    while (k + 1 < parts.length && parts[k + 1] <= i) k++;
    return k;
  };
  // A node by cluster and reference; a fleet-wide node (the Internet, a cloud principal) of the
  // cluster's own graph when it belongs to none, else of the first graph that has it. -1 when
  // the graph has no such node.
  Graph.prototype.find = function (cluster, ref) {
    if (!this.byKey) {
      this.byKey = new Map(); this.partOf = new Map();
      for (var i = 0; i < this.size; i++) {
        var c = this.cluster(i), keys = c ? [c + "\u0000" + this.ref(i)] : ["#" + this.part(i) + "\u0000" + this.ref(i), "\u0000" + this.ref(i)];
        if (c && !this.partOf.has(c)) this.partOf.set(c, this.part(i));
        for (var k = 0; k < keys.length; k++) if (!this.byKey.has(keys[k])) this.byKey.set(keys[k], i);
      }
    }
    var found = this.byKey.get((cluster || "") + "\u0000" + ref);
    if (found === undefined && cluster && this.partOf.has(cluster)) found = this.byKey.get("#" + this.partOf.get(cluster) + "\u0000" + ref);
    if (found === undefined) found = this.byKey.get("\u0000" + ref);
    return found === undefined ? -1 : found;
  };
  // The same fleet-wide node in every graph (one per scan target); a cluster's node alone.
  Graph.prototype.twins = function (i) {
    if (this.cluster(i)) return [i];
    var out = [];
    for (var k = 0; k < this.size; k++) if (!this.cluster(k) && this.ref(k) === this.ref(i)) out.push(k);
    return out;
  };
  // A node as a path of `cluster` writes it: `[c] reference` for another cluster's node.
  Graph.prototype.findInPath = function (cluster, written) {
    var m = /^\[([^\]]*)\] (.*)$/.exec(written);
    return m ? this.find(m[1], m[2]) : this.find(cluster, written);
  };
  Graph.prototype.adjacency = function () {
    if (this.out) return;
    this.out = []; this.inn = [];
    for (var i = 0; i < this.size; i++) { this.out.push([]); this.inn.push([]); }
    var x = this.g.edges;
    for (var e = 0; 4 * e < x.length; e++) { this.out[x[4 * e]].push(e); this.inn[x[4 * e + 1]].push(e); }
  };
  // Everything `from` reaches within `max` hops (forward: not past a cluster or cloud admin, as
  // `kspm query reach`), or everything that reaches it (backward: not through one, as the
  // report's search). Hubs, containers and network segments are steps, not answers.
  Graph.prototype.reach = function (from, backward, max) {
    this.adjacency();
    var dist = new Map([[from, 0]]), queue = [from], out = [];
    for (var q = 0; q < queue.length; q++) {
      var n = queue[q], d = dist.get(n);
      if (n !== from && !(this.flags(n) & STEP)) out.push({ node: n, hops: d });
      if (d >= max) continue;
      if (!backward && n !== from && (this.flags(n) & TERMINAL)) continue;
      var list = backward ? this.inn[n] : this.out[n];
      for (var k = 0; k < list.length; k++) {
        var e = this.edge(list[k]), next = backward ? e.from : e.to;
        if (backward && (this.flags(next) & TERMINAL)) continue;
        if (!dist.has(next)) { dist.set(next, d + 1); queue.push(next); }
      }
    }
    return out;
  };
  Graph.prototype.tables = function () {
    if (this.tabled) return this.tabled;
    function map(flat) {
      if (!flat) return null;
      var m = new Map();
      for (var i = 0; i < flat.length; i += 2) m.set(flat[i], flat[i + 1]);
      return m;
    }
    this.tabled = this.g.routes.map(function (t) { return { key: t.key, sink: t.sink, full: map(t.full), direct: map(t.direct) }; });
    return this.tabled;
  };
  // The report's route from `from` in one table (edges; [] at a sink; null when it reaches
  // nothing): the way that does not cross the network between pods when there is one.
  Graph.prototype.route = function (t, from, full) {
    var m = (!full && t.direct && t.direct.has(from) && t.direct.get(from) >= 0) ? t.direct : t.full;
    if (!m.has(from)) return null;
    var out = [], cur = from, e;
    while ((e = m.get(cur)) >= 0 && out.length < 256) { out.push(e); cur = this.edge(e).to; }
    return out;
  };
  // What a node reaches, in the fewest hops: `own` is the report's blast radius (its cluster's
  // sinks and the nearest cloud account's admin, as PathIndex::blast_radius counts them),
  // `beyond` every other cluster's sinks and each cloud account (PathIndex::reach_everywhere).
  Graph.prototype.blast = function (i) {
    var self = this, own = {}, beyond = [], home = this.cluster(i);
    this.tables().forEach(function (t) {
      var r = self.route(t, i, true);
      if (!r || !r.length) return;
      if (t.key === home || (t.sink === "CloudAdmin" && home)) own[t.sink] = Math.min(own[t.sink] || Infinity, r.length);
      if (t.key !== home) {
        var same = beyond.filter(function (b) { return b.key === t.key && b.sink === t.sink; })[0];
        if (same) same.hops = Math.min(same.hops, r.length);
        else beyond.push({ key: t.key, sink: t.sink, hops: r.length });
      }
    });
    return { own: own, beyond: beyond };
  };
  // An edge's likelihood: its own where evidence set one, else its technique's.
  Graph.prototype.likelihood = function (e) {
    if (!this.own) {
      this.own = new Map();
      var self = this;
      (this.g.edge_likelihoods || []).forEach(function (x) { self.own.set(x[0], x[1]); });
    }
    var l = this.own.get(e);
    return l === undefined ? (this.g.likelihoods || [])[this.g.edges[4 * e + 2]] : l;
  };
  // The report's reverse search to `targets` (AttackGraph::reverse_bfs_masked): for each node
  // that reaches one, the first edge of its way — fewest hops, then most likely, then the first
  // by next node and technique; never through a cluster or cloud admin; without network
  // segments when `direct`.
  Graph.prototype.searchTo = function (targets, direct) {
    this.adjacency();
    var next = new Map(), odds = new Map(), queue = [], self = this, x = this.g.edges;
    targets.forEach(function (t) { next.set(t, { d: 0, e: -1 }); odds.set(t, 1); queue.push(t); });
    function key(e) { return [self.ref(x[4 * e + 1]), self.g.techniques[x[4 * e + 2]]]; }
    function less(a, b) { return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]); }
    for (var q = 0; q < queue.length; q++) {
      var n = queue[q], d = next.get(n).d, inc = this.inn[n];
      for (var k = 0; k < inc.length; k++) {
        var e = inc[k], src = x[4 * e];
        if ((this.flags(src) & TERMINAL) || (direct && this.kind(src) === "Segment")) continue;
        var p = this.likelihood(e) * odds.get(n), cur = next.get(src);
        if (!cur) { next.set(src, { d: d + 1, e: e }); odds.set(src, p); queue.push(src); }
        else if (cur.d === d + 1 && cur.e >= 0) {
          var o = odds.get(src);
          if (Math.abs(p - o) > 1e-12 ? p > o : less(key(e), key(cur.e))) { cur.e = e; odds.set(src, p); }
        }
      }
    }
    return next;
  };
  // The route `kspm query paths` returns first from `from` to `targets` (Query::routes): the
  // way that does not cross the network when there is one, else the shortest; none beyond
  // `max` hops. Edges, or null.
  Graph.prototype.routeTo = function (from, targets, max) {
    var self = this;
    function walk(next) {
      if (!next.has(from)) return null;
      var out = [], cur = from, step;
      while ((step = next.get(cur)).e >= 0 && out.length < 256) { out.push(step.e); cur = self.g.edges[4 * step.e + 1]; }
      return out;
    }
    function within(r) { return r && r.length && r.length <= max ? r : null; }
    if (this.segments === undefined) {
      this.segments = false;
      for (var i = 0; i < this.size && !this.segments; i++) this.segments = this.kind(i) === "Segment";
    }
    // The search through every edge, once, when it is needed.
    var full;
    function fullWalk() { if (full === undefined) full = walk(self.searchTo(targets, false)); return full; }
    var direct = this.segments ? walk(this.searchTo(targets, true)) : null;
    return within(direct && direct.length ? direct : fullWalk()) || within(fullWalk());
  };

  function tableName(t) { return t.sink === "CloudAdmin" ? "CloudAdmin:" + t.key : t.sink + " of " + t.key; }

  // ---------- the explorer ----------
  // `h`: app.js's helpers {el, clear, findingsOn, techniques, live, ask, filterNode}.
  function Explorer(box, data, h) {
    this.box = box; this.data = data; this.h = h;
    this.graph = new Graph(data.graph);
    this.cy = null; this.drawn = new Map(); this.paths = []; this.limit = 0;
    this.preview = ""; // "": none, "all": the whole plan, or one fix's ID
    this.build();
  }

  Explorer.prototype.build = function () {
    var el = this.h.el, self = this;
    var fixes = ((this.data.fixes || {}).fixes || []);
    this.fixPick = el("select", { id: "x-fix", "aria-label": "fix preview" }, [el("option", { value: "", text: "no fix applied" })]
      .concat(fixes.length ? [el("option", { value: "all", text: "after the whole fix plan (" + fixes.length + " fixes)" })] : [])
      .concat(fixes.map(function (f) { return el("option", { value: f[0], text: "after " + f[0] + ": " + f[3] + " on " + f[2] }); })));
    this.fixPick.addEventListener("change", function () { self.preview = self.fixPick.value; self.draw(); });
    this.more = el("button", { id: "x-more", text: "Draw more paths", onclick: function () { self.limit += MAX_DRAWN; self.draw(); } });
    this.note = el("span", { id: "x-note", class: "muted" });
    this.canvas = el("div", { id: "x-canvas", class: "xcanvas" });
    this.panel = el("div", { id: "x-panel", class: "xpanel" });
    this.box.appendChild(el("div", { class: "filters" }, [el("b", { text: "Merged graph" }), this.fixPick, this.more, this.note]));
    this.box.appendChild(el("div", { class: "xwrap" }, [this.canvas, this.panel]));
  };

  // Frees the canvas (its window listeners) and drops the graph.
  Explorer.prototype.destroy = function () {
    if (this.cy) this.cy.destroy();
    this.cy = null;
    this.graph = new Graph(null);
  };

  // The paths to merge (already filtered); redraws from them.
  Explorer.prototype.show = function (paths) {
    this.paths = paths;
    this.limit = MAX_DRAWN;
    this.draw();
  };

  // Paths cut by the previewed fixes, and (path ID → cut hop positions): the whole plan's
  // (every path it breaks, the hops it removes), or one fix's on its own (`alone`: proven by
  // a search without that fix's changes only — a path it cuts together with another fix stays).
  Explorer.prototype.cuts = function () {
    var plan = this.data.fixes || {}, pick = this.preview, cut = new Set();
    if (pick === "all") {
      (plan.fixes || []).forEach(function (f) { f[6].forEach(function (id) { cut.add(id); }); });
      return { paths: cut, steps: plan.cut_steps || {}, known: true };
    }
    var alone = (plan.alone || {})[pick];
    if (!pick || !alone) return { paths: cut, steps: {}, known: !pick };
    alone.paths.forEach(function (id) { cut.add(id); });
    return { paths: cut, steps: alone.steps || {}, known: true };
  };
  // Paths a fix cuts on its own (the plan's count where that was not searched).
  Explorer.prototype.aloneOf = function (f) {
    var a = ((this.data.fixes || {}).alone || {})[f[0]];
    return a ? a.paths : f[6];
  };

  Explorer.prototype.nodeKey = function (cluster, written) {
    var i = this.graph.findInPath(cluster, written);
    if (i >= 0) return { key: "g" + i, i: i };
    var m = /^\[([^\]]*)\] (.*)$/.exec(written);
    return { key: "p" + (m ? m[1] + "\u0000" + m[2] : cluster + "\u0000" + written), i: -1, ref: m ? m[2] : written, cluster: m ? m[1] : cluster };
  };

  Explorer.prototype.draw = function () {
    var self = this, g = this.graph, cuts = this.cuts();
    var nodes = new Map(), edges = new Map(), cols = {}, used = 0, remaining = 0, clusters = {};
    this.paths.forEach(function (p) { clusters[p.cluster] = 1; });
    var multi = Object.keys(clusters).length > 1;
    for (var n = 0; n < this.paths.length; n++) {
      var p = this.paths[n];
      if (nodes.size >= this.limit) break;
      used++;
      var isCut = cuts.paths.has(p.id);
      if (!isCut) remaining++;
      var written = [p.source].concat(p.steps.map(function (s) { return s[1]; }));
      var keys = written.map(function (w, pos) {
        var k = self.nodeKey(p.cluster, w);
        var x = nodes.get(k.key);
        if (!x) {
          var ref = k.i >= 0 ? g.ref(k.i) : k.ref, cl = k.i >= 0 ? g.cluster(k.i) : k.cluster;
          x = { id: k.key, i: k.i, ref: ref, cluster: cl, label: (multi && cl ? "[" + cl + "] " : "") + ref, col: pos, paths: 0, live: 0, sink: false };
          nodes.set(k.key, x);
        }
        x.col = Math.max(x.col, pos);
        x.paths++;
        if (!isCut) x.live++;
        if (pos === written.length - 1) x.sink = true;
        else if (pos > 0) x.middle = true;
        if (pos === 0) x.entry = true;
        return k.key;
      });
      var cutAt = cuts.steps[p.id] || [];
      p.steps.forEach(function (s, k) {
        var id = keys[k] + ">" + keys[k + 1] + ">" + s[2];
        var e = edges.get(id);
        if (!e) { e = { id: id, source: keys[k], target: keys[k + 1], technique: s[2], evidence: s[3], paths: 0, live: 0, cut: false }; edges.set(id, e); }
        e.paths++;
        if (!isCut) e.live++;
        if (isCut && cutAt.indexOf(k) >= 0) e.cut = true;
      });
    }
    // Left to right from the entries, sinks in the last column; in each column, rows follow the
    // mean row of the nodes leading in (fewer crossings), else the order of score.
    var last = 0;
    nodes.forEach(function (x) { last = Math.max(last, x.col); });
    var before = new Map();
    edges.forEach(function (e) { (before.get(e.target) || before.set(e.target, []).get(e.target)).push(e.source); });
    nodes.forEach(function (x, k) {
      // Sinks (a node, for NodeRoot) in the last column, unless a path goes on through them.
      if (x.sink && !x.middle) x.col = last;
      (cols[x.col] = cols[x.col] || []).push(k);
    });
    Object.keys(cols).map(Number).sort(function (a, b) { return a - b; }).forEach(function (c) {
      var rank = cols[c].map(function (k, order) {
        var ins = (before.get(k) || []).map(function (s) { return nodes.get(s); }).filter(function (s) { return s.col < c && s.row !== undefined; });
        return { k: k, at: ins.length ? ins.reduce(function (a, s) { return a + s.row; }, 0) / ins.length : order, order: order };
      });
      rank.sort(function (a, b) { return a.at - b.at || a.order - b.order; });
      rank.forEach(function (r, row) { nodes.get(r.k).row = row; });
    });
    this.drawn = nodes; this.edgesDrawn = edges;
    this.more.hidden = used >= this.paths.length;
    var counted = used + " of " + this.paths.length + " path(s) merged: " + nodes.size + " nodes, " + edges.size + " hops; edge width = paths through it";
    if (this.preview && cuts.known) counted += " · after " + (this.preview === "all" ? "the fix plan" : this.preview) + ": " + remaining + " of " + used + " remain";
    else if (this.preview) counted += " · " + this.preview + " on its own was not searched (the plan has over 64 fixes)";
    this.note.textContent = counted;
    this.render();
    this.summary();
  };

  Explorer.prototype.elements = function () {
    var out = [];
    this.drawn.forEach(function (x) {
      out.push({ group: "nodes", data: { id: x.id, label: x.label, gone: x.live === 0 && x.paths > 0 ? "yes" : "no", valign: x.col % 2 ? "top" : "bottom" },
        position: { x: x.col * COL, y: x.row * ROW }, classes: x.sink ? "sink" : (x.entry ? "entry" : "") });
    });
    this.edgesDrawn.forEach(function (e) {
      out.push({ group: "edges", data: { id: e.id, source: e.source, target: e.target, label: e.cut ? e.technique + " ✂" : e.technique,
        width: Math.min(12, 1.5 + 2 * Math.log2(Math.max(1, e.live || e.paths))), gone: e.live === 0 && e.paths > 0 ? "yes" : "no", cut: e.cut ? "yes" : "no" } });
    });
    return out;
  };

  Explorer.prototype.render = function () {
    var self = this;
    if (this.cy) this.cy.destroy();
    if (typeof cytoscape === "undefined") return;
    this.cy = cytoscape({
      container: this.canvas, elements: this.elements(), boxSelectionEnabled: false, layout: { name: "preset", padding: 30 },
      style: [
        // Labels alternate above and below by column, so long references of neighbours do not overlap.
        { selector: "node", style: { "label": "data(label)", "font-size": 10, "text-wrap": "wrap", "text-max-width": 180, "text-valign": "bottom" } },
        { selector: "node[valign]", style: { "text-valign": "data(valign)" } },
        { selector: "node", style: { "background-color": "#5aa2ff", "width": 16, "height": 16 } },
        { selector: "node.entry", style: { "background-color": "#d1452f" } },
        { selector: "node.sink", style: { "background-color": "#8e1b1b", "shape": "diamond", "width": 22, "height": 22 } },
        { selector: "node.more", style: { "shape": "round-rectangle", "background-color": "#eef1f6", "border-width": 1, "border-color": "#9aa3b2", "width": 30, "height": 14, "font-style": "italic" } },
        { selector: "node.added", style: { "background-color": "#9aa3b2", "border-width": 1, "border-color": "#5d6778" } },
        { selector: "node.reached", style: { "border-width": 4, "border-color": "#e39b1f" } },
        { selector: "node[gone = 'yes'], edge[gone = 'yes']", style: { "opacity": 0.25 } },
        { selector: "edge", style: { "label": "data(label)", "font-size": 8, "curve-style": "bezier", "target-arrow-shape": "triangle", "width": "data(width)", "line-color": "#8aa0bf", "target-arrow-color": "#8aa0bf", "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.8 } },
        { selector: "edge.added", style: { "line-style": "dotted", "width": 1.5 } },
        { selector: "edge[cut = 'yes']", style: { "line-style": "dashed", "line-color": "#2f8a4c", "target-arrow-color": "#2f8a4c", "opacity": 1 } },
        { selector: ".route", style: { "line-color": "#d1452f", "target-arrow-color": "#d1452f", "background-color": "#d1452f", "opacity": 1 } },
        { selector: ":selected", style: { "border-width": 3, "border-color": "#121826" } }
      ]
    });
    this.cy.on("tap", "node", function (ev) {
      var of = ev.target.data("of");
      if (of) { self.neighbours(of); self.select(of); } else self.select(ev.target.id());
    });
    this.cy.on("tap", "edge", function (ev) { self.explainEdge(ev.target.id()); });
  };

  // The first free row of a canvas column.
  Explorer.prototype.rowsIn = function (col) {
    var rows = 0;
    this.drawn.forEach(function (x) { if (x.col === col) rows = Math.max(rows, x.row + 1); });
    return rows;
  };

  // A node or edge of the full graph put on the canvas (pivots): placed beside `near`.
  Explorer.prototype.place = function (i, near, side) {
    var id = "g" + i;
    if (this.drawn.has(id)) return id;
    var base = this.drawn.get(near) || { col: 0 };
    var col = base.col + side, rows = this.rowsIn(col);
    var x = { id: id, i: i, ref: this.graph.ref(i), cluster: this.graph.cluster(i), label: this.graph.qualified(i),
      col: col, row: rows, paths: 0, live: 0, sink: false, added: true };
    this.drawn.set(id, x);
    if (this.cy) this.cy.add({ group: "nodes", data: { id: id, label: x.label, gone: "no" }, position: { x: col * COL, y: rows * ROW }, classes: "added" });
    return id;
  };
  Explorer.prototype.placeEdge = function (e, cls) {
    var x = this.graph.edge(e), s = "g" + x.from, t = "g" + x.to, id = s + ">" + t + ">" + x.technique;
    if (!this.drawn.has(s) || !this.drawn.has(t)) return id;
    if (this.cy && this.cy.getElementById(id).empty()) {
      this.cy.add({ group: "edges", data: { id: id, source: s, target: t, label: x.technique, width: 1.5, gone: "no", cut: "no", edge: e }, classes: cls || "added" });
    }
    if (!this.edgesDrawn.has(id)) this.edgesDrawn.set(id, { id: id, source: s, target: t, technique: x.technique, evidence: x.evidence, paths: 0, live: 0, cut: false, edge: e });
    return id;
  };

  // Expands a node's neighbours (in and out) from the full graph, MAX_NEIGHBOURS per direction
  // at a time; the rest wait in an aggregate node ("+N more") that draws the next batch on a click.
  Explorer.prototype.neighbours = function (id) {
    var x = this.drawn.get(id), g = this.graph, self = this;
    if (!x || x.i < 0) return { out: 0, in: 0, shown: 0 };
    g.adjacency();
    var shown = 0;
    x.expanded = x.expanded || { "1": 0, "-1": 0 };
    [[g.out[x.i], 1], [g.inn[x.i], -1]].forEach(function (pair) {
      var from = x.expanded[pair[1]], list = pair[0];
      list.slice(from, from + MAX_NEIGHBOURS).forEach(function (e) {
        var ed = g.edge(e), other = pair[1] > 0 ? ed.to : ed.from;
        self.place(other, id, pair[1]);
        self.placeEdge(e);
      });
      x.expanded[pair[1]] = Math.min(list.length, from + MAX_NEIGHBOURS);
      shown += x.expanded[pair[1]];
      self.aggregate(x, pair[1], list.length - x.expanded[pair[1]]);
    });
    return { out: g.out[x.i].length, in: g.inn[x.i].length, shown: shown };
  };

  // The "+N more" node of a node's undrawn neighbours on one side (gone when none are left).
  Explorer.prototype.aggregate = function (x, side, left) {
    var id = "more" + (side > 0 ? ">" : "<") + x.id;
    if (!this.cy) return;
    var node = this.cy.getElementById(id);
    if (left <= 0) { this.cy.remove(node); return; }
    var label = "+" + left + " more " + (side > 0 ? "out" : "in") + " (click: next " + Math.min(left, MAX_NEIGHBOURS) + ")";
    if (node.nonempty()) { node.data("label", label); return; }
    var col = this.drawn.get(x.id).col + side, rows = this.rowsIn(col);
    this.cy.add([{ group: "nodes", data: { id: id, label: label, of: x.id, gone: "no" }, classes: "more",
      position: { x: col * COL, y: (rows + 1) * ROW } },
      { group: "edges", data: { id: id + "-e", source: side > 0 ? x.id : id, target: side > 0 ? id : x.id, label: "", width: 1, gone: "no", cut: "no" }, classes: "added" }]);
  };

  Explorer.prototype.highlight = function (nodes) {
    if (!this.cy) return;
    this.cy.nodes().removeClass("reached");
    var self = this;
    nodes.forEach(function (n) { var e = self.cy.getElementById("g" + n); if (e.nonempty()) e.addClass("reached"); });
  };

  // ---------- the side panel ----------
  Explorer.prototype.summary = function () {
    var el = this.h.el, panel = this.h.clear(this.panel), self = this;
    panel.appendChild(el("h4", { text: "Click a node or a hop" }));
    // Which single change removes most of these paths: the plan's fixes, counted on them.
    var shown = new Set(this.paths.map(function (p) { return p.id; }));
    var fixes = ((this.data.fixes || {}).fixes || []).map(function (f) {
      return { f: f, n: self.aloneOf(f).filter(function (id) { return shown.has(id); }).length };
    }).filter(function (x) { return x.n > 0; }).sort(function (a, b) { return b.n - a.n || a.f[5] - b.f[5]; });
    if (fixes.length) {
      panel.appendChild(el("div", { text: "Single changes that cut the most of these paths on their own:" }));
      var ol = el("ol", { id: "x-top-fixes" });
      fixes.slice(0, 5).forEach(function (x) {
        var what = x.f[3] + " on " + x.f[2];
        ol.appendChild(el("li", {}, [el("a", { href: "#", "data-fix": x.f[0], title: what, text: what.length > 160 ? what.slice(0, 157) + "…" : what, onclick: function (ev) {
          ev.preventDefault(); self.fixPick.value = x.f[0]; self.preview = x.f[0]; self.draw();
        } }), " — cuts " + x.n + " of them (" + x.f[0] + ", cost " + x.f[5] + ")"]));
      });
      panel.appendChild(ol);
    }
    this.picker(panel, null);
  };

  // "Path from A to B": from any node, to a sink class of a cluster or a cloud account (walked in
  // the report's route tables) or to any node (the report's search, run here; in the live view
  // the service's query, with alternatives).
  Explorer.prototype.picker = function (panel, from) {
    var el = this.h.el, self = this, g = this.graph;
    var fromBox = el("input", { id: "x-from", type: "search", placeholder: "from: [cluster] Kind:ns/name", size: 34, "aria-label": "path from" });
    if (from != null && from >= 0) fromBox.value = g.qualified(from);
    // One choice per sink (scan targets that share a cloud account have a table each).
    var seen = {};
    var to = el("select", { id: "x-to", "aria-label": "path to" }, g.tables().map(function (t, k) {
      if (seen[tableName(t)]) return null;
      seen[tableName(t)] = 1;
      return el("option", { value: String(k), text: tableName(t) });
    }));
    var toNode = el("input", { id: "x-to-node", type: "search", placeholder: "or to a node: [cluster] Kind:ns/name", size: 30, "aria-label": "path to a node" });
    var out = el("div", { id: "x-route", class: "evidence" });
    var go = el("button", { id: "x-go", text: "Find path", onclick: function () { self.findPath(fromBox.value, to.value, toNode.value, out); } });
    var show = el("button", { id: "x-show", text: "Show node", onclick: function () {
      var i = self.resolve(fromBox.value);
      if (i < 0) { out.textContent = unresolved(i, fromBox.value); return; }
      self.select(self.place(i, null, 0));
    } });
    panel.appendChild(el("h4", { text: "Path from A to B" }));
    panel.appendChild(el("div", { class: "filters" }, [fromBox, show, to, toNode, go]));
    panel.appendChild(out);
  };

  // Why `resolve` found no node for a typed reference (-1: none, -2: several clusters').
  function unresolved(i, text) {
    return i === -1 ? "No node " + text + " in the graph." : text + " is in several clusters: write it as [cluster] " + text + ".";
  }

  // A typed reference: `[cluster] Kind:ns/name` or a reference of the scope's only cluster.
  Explorer.prototype.resolve = function (text) {
    text = text.trim();
    var m = /^\[([^\]]*)\] (.*)$/.exec(text);
    if (m) return this.graph.find(m[1], m[2]);
    var g = this.graph, found = [];
    var wide = g.find(null, text);
    if (wide >= 0 && !g.cluster(wide)) return wide;
    for (var i = 0; i < g.size && found.length < 2; i++) if (g.ref(i) === text) found.push(i);
    return found.length === 1 ? found[0] : (found.length ? -2 : -1);
  };

  Explorer.prototype.findPath = function (fromText, table, toText, out) {
    var self = this, from = this.resolve(fromText);
    if (from < 0) { out.textContent = unresolved(from, fromText); return; }
    if (toText && this.h.live) {
      // The start as paths write it (`[cluster] reference`, so the service looks it up in its
      // cluster); the target as typed (`[cluster] reference` for another cluster's node).
      this.h.ask("/api/paths?from=" + encodeURIComponent(this.graph.qualified(from)) + "&to=" + encodeURIComponent(toText.trim()) + "&limit=3").then(function (answer) {
        var paths = answer.paths || [];
        out.textContent = paths.length ? paths.map(function (p, k) {
          return (k ? "Alternative " + k : "Best") + " (score " + p.score + "): " + [p.source].concat(p.steps.map(function (s) { return "—" + s.technique + "→ " + s.to; })).join(" ");
        }).join("\n") : "No way from " + fromText + " to " + toText + ".";
        // Drawn when the page's graph has its hops (a newer scan may have moved on).
        if (paths[0] && self.cy) {
          self.cy.elements().removeClass("route");
          var cur = from, at = self.place(from, null, 0);
          self.graph.adjacency();
          paths[0].steps.forEach(function (s) {
            var i = cur < 0 ? -1 : self.graph.findInPath(paths[0].cluster, s.to);
            var hop = i < 0 ? undefined : self.graph.out[cur].filter(function (e) { var x = self.graph.edge(e); return x.to === i && x.technique === s.technique; })[0];
            if (hop === undefined) { cur = -1; return; }
            at = self.place(i, at, 1);
            self.cy.getElementById(self.placeEdge(hop)).addClass("route");
            self.cy.getElementById(at).addClass("route");
            cur = i;
          });
        }
      }).catch(function (e) { out.textContent = String(e.message || e); });
      return;
    }
    if (toText.trim()) {
      // To a node: the report's search, run here (the live view asks the service instead).
      var target = this.resolve(toText);
      if (target < 0) { out.textContent = unresolved(target, toText); return; }
      var found = this.graph.routeTo(from, [target], 12);
      if (!found) { out.textContent = "No way from " + fromText + " to " + toText + " within 12 hops."; return; }
      this.showRoute(from, found, null, out, "the route `kspm query paths` gives first");
      return;
    }
    // The chosen sink's table of each scan target, and the start's twin in it (a fleet-wide
    // start is in every target's graph): the first that has a way, as the service asks.
    var chosen = this.graph.tables()[Number(table)], r = null, t = chosen, tables = this.graph.tables(), twins = this.graph.twins(from);
    for (var k = 0; chosen && !r && k < tables.length; k++) {
      if (tableName(tables[k]) !== tableName(chosen)) continue;
      for (var w = 0; w < twins.length && !r; w++) {
        r = this.graph.route(tables[k], twins[w], false);
        if (r) { t = tables[k]; from = twins[w]; }
      }
    }
    if (!r) { out.textContent = "No way from " + fromText + " to " + (chosen ? tableName(chosen) : "?") + "."; return; }
    if (!r.length) { out.textContent = fromText + " is itself " + tableName(t) + ": no path to it."; return; }
    this.showRoute(from, r, t.sink !== "CloudAdmin" ? t.key : null, out, "the route the report takes");
  };

  // A route drawn and listed as paths print it: nodes of another cluster than the path's
  // qualified (a path to a sink is its cluster's; else the first cluster it enters).
  Explorer.prototype.showRoute = function (from, r, home, out, what) {
    var g = this.graph, self = this;
    if (!home) home = [from].concat(r.map(function (e) { return g.edge(e).to; })).map(function (n) { return g.cluster(n); }).filter(function (c) { return c; })[0];
    if (this.cy) this.cy.elements().removeClass("route");
    var at = this.place(from, null, 0);
    if (this.cy) this.cy.getElementById(at).addClass("route");
    r.forEach(function (e) {
      at = self.place(g.edge(e).to, at, 1);
      var id = self.placeEdge(e, "added");
      if (self.cy) { self.cy.getElementById(id).addClass("route"); self.cy.getElementById(at).addClass("route"); }
    });
    var name = function (n) { return (g.cluster(n) && g.cluster(n) !== home ? "[" + g.cluster(n) + "] " : "") + g.ref(n); };
    out.textContent = r.length + " hop(s), " + what + ":\n" + [name(from)].concat(r.map(function (e) {
      var x = g.edge(e);
      return "—" + x.technique + "→ " + name(x.to) + "\n    " + x.evidence;
    })).join("\n");
  };

  Explorer.prototype.select = function (id) {
    var el = this.h.el, x = this.drawn.get(id), panel = this.h.clear(this.panel), self = this, g = this.graph;
    if (!x) return;
    panel.appendChild(el("h4", { text: x.ref }));
    var facts = [x.i >= 0 ? g.kind(x.i) : "?", x.cluster ? "cluster " + x.cluster : "fleet-wide"];
    panel.appendChild(el("div", { class: "muted", text: facts.join(" · ") }));
    var through = this.paths.filter(function (p) {
      return [p.source].concat(p.steps.map(function (s) { return s[1]; })).some(function (w) { return self.nodeKey(p.cluster, w).key === id; });
    });
    var findings = this.h.findingsOn(x.ref, x.cluster);
    panel.appendChild(el("div", { id: "x-findings", text: findings.length ? findings.length + " finding(s): " + findings.slice(0, 5).map(function (f) { return f[0] + " " + f[4]; }).join("; ") : "No findings on it." }));
    var blast = x.i >= 0 ? g.blast(x.i) : { own: {}, beyond: [] };
    var own = Object.keys(blast.own).sort();
    if (x.cluster) {
      panel.appendChild(el("div", { id: "x-blast", text: own.length ? "Blast radius: " + own.map(function (s) { return s + " in " + blast.own[s] + " hop(s)"; }).join("; ") : "Blast radius: reaches no sink of its cluster or cloud account." }));
    }
    if (blast.beyond.length) {
      panel.appendChild(el("div", { id: "x-beyond", text: (x.cluster ? "Beyond its cluster: " : "Reaches: ") + blast.beyond.map(function (b) { return tableName(b) + " in " + b.hops + " hop(s)"; }).join("; ") }));
    }
    panel.appendChild(el("div", { id: "x-through" }, [through.length + " of the merged paths go through it. ",
      through.length ? el("a", { href: "#", id: "x-only", text: "Show only these", onclick: function (ev) { ev.preventDefault(); self.h.filterNode("=" + (x.cluster ? "[" + x.cluster + "] " : "") + x.ref); } }) : null]));
    var answer = el("div", { id: "x-answer", class: "evidence" });
    var buttons = el("div", { class: "filters" }, [
      el("button", { id: "x-neighbours", text: "Neighbours", onclick: function () {
        var n = self.neighbours(id);
        answer.textContent = n.out + " out, " + n.in + " in" + (n.shown < n.out + n.in ? "; " + n.shown + " drawn, the rest behind \"+N more\" (" + MAX_NEIGHBOURS + " per click and direction)" : "; all drawn") + ".";
      } }),
      el("button", { id: "x-reach", text: "Reach from here", onclick: function () { self.listReach(x, false, answer); } }),
      el("button", { id: "x-reached-by", text: "Who reaches this", onclick: function () { self.listReach(x, true, answer); } })
    ]);
    if (x.i < 0) buttons.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    panel.appendChild(buttons);
    panel.appendChild(answer);
    this.picker(panel, x.i);
  };

  Explorer.prototype.listReach = function (x, backward, answer) {
    var el = this.h.el, self = this, g = this.graph;
    var found = g.reach(x.i, backward, 12);
    this.highlight(found.map(function (r) { return r.node; }));
    var kinds = {};
    found.forEach(function (r) { var k = g.kind(r.node); kinds[k] = (kinds[k] || 0) + 1; });
    this.h.clear(answer);
    answer.appendChild(el("div", { id: "x-reach-count", text: (backward ? "Reached by " : "Reaches ") + found.length + " node(s) within 12 hops: " +
      Object.keys(kinds).sort().map(function (k) { return kinds[k] + " " + k; }).join(", ") }));
    var ul = el("ul", { class: "xlist" });
    found.slice(0, MAX_LISTED).forEach(function (r) {
      ul.appendChild(el("li", {}, [el("a", { href: "#", "data-node": String(r.node), text: g.qualified(r.node), onclick: function (ev) {
        ev.preventDefault();
        var id = self.place(r.node, x.id, backward ? -1 : 1);
        g.adjacency();
        g.out[r.node].concat(g.inn[r.node]).forEach(function (e) { self.placeEdge(e); });
        self.select(id);
      } }), " · " + r.hops + " hop(s)"]));
    });
    answer.appendChild(ul);
    if (found.length > MAX_LISTED) answer.appendChild(el("div", { class: "muted", text: (found.length - MAX_LISTED) + " more not listed." }));
  };

  Explorer.prototype.explainEdge = function (id) {
    var e = this.edgesDrawn.get(id), el = this.h.el;
    if (!e) return;
    var panel = this.h.clear(this.panel);
    var from = this.drawn.get(e.source), to = this.drawn.get(e.target);
    panel.appendChild(el("h4", { text: e.technique }));
    panel.appendChild(el("div", { class: "evidence", id: "x-edge", text: (from ? from.label : "?") + " → " + (to ? to.label : "?") + "\n" +
      (this.h.techniques[e.technique] || "") + "\nEvidence: " + e.evidence + "\n" + e.paths + " merged path(s) take it" +
      (e.cut ? "; the previewed fix removes it." : ".") }));
  };

  window.KspmExplorer = { Graph: Graph, Explorer: Explorer };
})();
