// gdask dashboard: draws a run's recording (live from /events, or the
// data a report embeds) as SVG. No library, no network beyond the server.
"use strict";
(function () {
  const SVGNS = "http://www.w3.org/2000/svg";
  const LANE = 18; // px per task-stream lane
  // Bars: [start ms, dur ms, lane, job, op, morsel, rows in, rows out, bytes].
  const B = { start: 0, dur: 1, lane: 2, job: 3, op: 4, morsel: 5, rin: 6, rout: 7, bytes: 8 };
  // Samples: [at ms, lent, rss, spill written, spill read, temp free,
  // scan done, scan total, merge done, merge total].
  const S = { at: 0, lent: 1, rss: 2, sw: 3, sr: 4, free: 5, done: 6, total: 7, mdone: 8, mtotal: 9 };
  const COLORS = {
    Scan: "#4e79a7", Filter: "#59a14f", Project: "#76b7b2", Aggregate: "#f28e2b", Sort: "#b07aa1",
    Limit: "#9c755f", Count: "#edc948", Distinct: "#ff9da7", Normalize: "#bab0ac", Attach: "#86bcb6",
    output: "#8cd17d", spill: "#e15759", merge: "#7b4ea3",
  };

  const state = { head: null, jobs: [], bars: [], samples: [], drawn: 0, lanes: 0 };
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, text) {
    const e = tag === "svg" || tag === "rect" || tag === "line" || tag === "polyline"
      ? document.createElementNS(SVGNS, tag) : document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function bytes(n) {
    if (n < 0) return "unknown";
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)) + " " + u[i];
  }
  const count = (n) => Math.round(n).toLocaleString("en-US");
  function dur(ms) {
    if (ms < 1) return (ms * 1000).toFixed(0) + " µs";
    if (ms < 1000) return ms.toFixed(ms < 10 ? 2 : 0) + " ms";
    const s = ms / 1000;
    if (s < 120) return s.toFixed(s < 10 ? 2 : 1) + " s";
    return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
  }

  // The operator an op number names in a job, and its kind (colour).
  function opOf(job, op) {
    const j = state.jobs[job];
    return j && j.ops.find((o) => o.id === op);
  }
  function kindOf(b) {
    const lane = b[B.lane], w = state.head.workers;
    if (lane === w) return "spill";
    if (lane === w + 1) return "merge";
    const o = opOf(b[B.job], b[B.op]);
    return o ? o.label.split(/[ (]/)[0] : "output";
  }

  // merge takes one frame: the header, the jobs, and the bars and samples
  // the page lacks (from the start when it lacks them all again).
  function merge(f) {
    state.head = f.head;
    state.jobs = f.jobs;
    if (f.barsFrom === 0 && state.bars.length > 0) { state.bars = []; state.drawn = 0; $("tasks").replaceChildren(); }
    if (f.barsFrom === state.bars.length) state.bars.push(...f.bars);
    if (f.samplesFrom === 0) state.samples = f.samples;
    else if (f.samplesFrom === state.samples.length) state.samples.push(...f.samples);
  }

  function elapsed() { return Math.max(state.head.elapsed, 1); }

  function drawHeader() {
    const h = state.head;
    $("title").textContent = h.title;
    const st = $("status");
    st.textContent = h.status + (h.message ? ": " + h.message : "");
    st.className = "status " + h.status;
    let facts = dur(h.elapsed) + " · " + h.workers + " workers · memory limit " + bytes(h.limit);
    if (h.dropped > 0) facts += " · " + count(h.dropped) + " frames dropped (slow page)";
    $("facts").textContent = facts;
    let foot = "";
    if (h.barsDropped > 0) foot = count(h.barsDropped) + " task bars beyond the first " + count(state.bars.length) + " were counted, not kept. ";
    $("footer").textContent = foot + "Counts, sizes, times and the plan only: no data value leaves gdask.";
  }

  // rate is the change of sample field k per second over the last ~2 s.
  function rate(k) {
    const s = state.samples, n = s.length;
    if (n < 2) return 0;
    const last = s[n - 1];
    let i = n - 2;
    while (i > 0 && last[S.at] - s[i][S.at] < 2000) i--;
    const dt = (last[S.at] - s[i][S.at]) / 1000;
    return dt > 0 ? (last[k] - s[i][k]) / dt : 0;
  }

  function drawProgress() {
    const box = $("stages");
    box.replaceChildren();
    const last = state.samples[state.samples.length - 1];
    if (!last) return;
    const done = state.head.status !== "running";
    const stage = (name, d, t, fmt, k) => {
      const row = el("div", { class: "stage", "data-stage": name });
      row.append(el("b", {}, name));
      const meter = el("div", { class: "meter" });
      const fill = el("div");
      const frac = t > 0 ? Math.min(d / t, 1) : (done ? 1 : 0);
      fill.style.width = (frac * 100).toFixed(1) + "%";
      meter.append(fill);
      row.append(meter);
      let text = fmt(d) + (t > 0 ? " of " + fmt(t) : "");
      const r = rate(k);
      if (!done && r > 0) {
        text += " · " + fmt(r) + "/s";
        if (t > d) text += " · ETA " + dur(((t - d) / r) * 1000);
      }
      row.append(el("span", {}, text));
      box.append(row);
    };
    stage("read", last[S.done], last[S.total], bytes, S.done);
    if (last[S.mtotal] > 0) stage("merge", last[S.mdone], last[S.mtotal], count, S.mdone);
  }

  function drawLanes() {
    const w = state.head.workers, lanes = w + 2;
    if (state.lanes === lanes) return;
    state.lanes = lanes;
    const labels = $("lane-labels");
    labels.replaceChildren();
    for (let i = 0; i < w; i++) labels.append(el("div", { class: "lane worker" }, "worker " + i));
    labels.append(el("div", { class: "lane spill" }, "spill"));
    labels.append(el("div", { class: "lane merge" }, "merge"));
    $("tasks").style.height = lanes * LANE + "px";
  }

  // drawTasks appends the bars not drawn yet; the time axis is the view
  // box, so the run's growing length only rescales it.
  function drawTasks() {
    const svg = $("tasks");
    const frag = document.createDocumentFragment();
    for (let i = state.drawn; i < state.bars.length; i++) {
      const b = state.bars[i], kind = kindOf(b), c = COLORS[kind] || "#999";
      frag.append(el("rect", {
        class: "bar", "data-i": i, "data-lane": b[B.lane], "data-job": b[B.job], "data-op": b[B.op], "data-kind": kind,
        x: b[B.start], y: b[B.lane] * LANE + 2, width: b[B.dur], height: LANE - 4, fill: c, stroke: c,
      }));
    }
    svg.append(frag);
    state.drawn = state.bars.length;
    const t = elapsed();
    svg.setAttribute("viewBox", "0 0 " + t + " " + state.lanes * LANE);
    axis($("tasks-axis"), t);
    const kinds = new Set(state.bars.map(kindOf));
    const legend = $("legend");
    legend.replaceChildren();
    for (const k of kinds) {
      const item = el("span");
      const sw = el("i");
      sw.style.background = COLORS[k] || "#999";
      item.append(sw, k);
      legend.append(item);
    }
  }

  function axis(box, t) {
    box.replaceChildren();
    for (let i = 0; i <= 4; i++) box.append(el("span", {}, dur((t * i) / 4)));
  }

  function tip(ev) {
    const t = $("tip");
    const i = ev.target.getAttribute && ev.target.getAttribute("data-i");
    if (i === null || i === undefined) { t.hidden = true; return; }
    const b = state.bars[+i], kind = kindOf(b), o = opOf(b[B.job], b[B.op]);
    const lines = [];
    if (kind === "spill") lines.push("spill write", bytes(b[B.bytes]) + " · " + count(b[B.rin]) + " rows");
    else if (kind === "merge") lines.push("merge of spilled runs", count(b[B.rin]) + " rows");
    else {
      lines.push((o ? o.label : "output") + "  (#" + b[B.op] + ")", "partition " + b[B.morsel] + " · worker " + b[B.lane]);
      lines.push("rows in " + count(b[B.rin]) + " · out " + count(b[B.rout]));
      if (b[B.bytes] > 0) lines.push("read " + bytes(b[B.bytes]));
    }
    lines.push(dur(b[B.dur]) + " from " + dur(b[B.start]));
    t.textContent = lines.join("\n");
    t.style.left = ev.clientX + 12 + "px";
    t.style.top = ev.clientY + 12 + "px";
    t.hidden = false;
  }

  // line draws series k of the samples into svg (1000 × 200 units) up to
  // top, as a polyline of class cls.
  function line(svg, k, top, cls, color, t) {
    const pts = state.samples.map((s) =>
      ((s[S.at] / t) * 1000).toFixed(1) + "," + (200 - (Math.max(s[k], 0) / top) * 200).toFixed(2));
    svg.append(el("polyline", { class: cls, points: pts.join(" "), stroke: color }));
  }

  function legend(box, items) {
    box.replaceChildren();
    for (const [color, text] of items) {
      const item = el("span");
      const sw = el("i");
      sw.style.background = color;
      item.append(sw, text);
      box.append(item);
    }
  }

  function drawMemory() {
    const svg = $("memory"), t = elapsed(), limit = state.head.limit;
    svg.replaceChildren();
    let peak = 1;
    for (const s of state.samples) peak = Math.max(peak, s[S.lent], s[S.rss]);
    // The limit is drawn when it is on the scale of what the run used.
    const showLimit = limit > 0 && limit <= peak * 4;
    const top = (showLimit ? Math.max(limit, peak) : peak) * 1.1;
    if (showLimit) {
      const y = (200 - (limit / top) * 200).toFixed(2);
      svg.append(el("line", { class: "limit", x1: 0, x2: 1000, y1: y, y2: y, stroke: "#cf222e", "stroke-dasharray": "6 4" }));
    }
    line(svg, S.rss, top, "rss", "#4e79a7", t);
    line(svg, S.lent, top, "lent", "#f28e2b", t);
    axis($("memory-axis"), t);
    const last = state.samples[state.samples.length - 1] || [];
    legend($("memory-legend"), [
      ["#4e79a7", "process RSS " + bytes(last[S.rss] || 0)],
      ["#f28e2b", "lent by the broker " + bytes(last[S.lent] || 0)],
      ["#cf222e", "--memory-limit " + bytes(limit) + (showLimit ? "" : " (off the scale)")],
      ["transparent", "scale " + bytes(top)],
    ]);
  }

  function drawSpill() {
    const svg = $("spill"), t = elapsed();
    svg.replaceChildren();
    let top = 1 << 20;
    for (const s of state.samples) top = Math.max(top, s[S.sw] * 1.1, s[S.sr] * 1.1);
    line(svg, S.sw, top, "written", "#e15759", t);
    line(svg, S.sr, top, "read", "#59a14f", t);
    axis($("spill-axis"), t);
    const last = state.samples[state.samples.length - 1] || [];
    const dir = state.head.tempDir || "the system temp dir";
    legend($("spill-legend"), [
      ["#e15759", "written " + bytes(last[S.sw] || 0)],
      ["#59a14f", "read back " + bytes(last[S.sr] || 0)],
      ["transparent", "free in " + dir + ": " + bytes(last[S.free] === undefined ? -1 : last[S.free])],
    ]);
  }

  function drawPlan() {
    const box = $("plan");
    box.replaceChildren();
    state.jobs.forEach((j, n) => {
      if (state.jobs.length > 1) box.append(el("h3", {}, (n + 1) + ". " + j.title));
      const table = el("table", { class: "job" });
      const head = el("tr");
      for (const h of ["operator", "rows in", "rows out", "read", "partitions", "time", "spilled"]) head.append(el("th", {}, h));
      table.append(head);
      for (const o of j.ops) {
        const tr = el("tr", { "data-op": o.id });
        const cells = ["  ".repeat(o.depth) + (o.depth ? "└ " : "") + o.label, count(o.in), count(o.out),
          o.bytes ? bytes(o.bytes) : "", count(o.morsels), dur(o.time),
          o.spilled ? bytes(o.spilled) + " · " + o.runs + " runs" : ""];
        for (const c of cells) tr.append(el("td", {}, c));
        table.append(tr);
      }
      box.append(table);
    });
  }

  function draw() {
    drawHeader();
    drawLanes();
    drawProgress();
    drawTasks();
    drawMemory();
    drawSpill();
    drawPlan();
    document.body.setAttribute("data-status", state.head.status);
    document.body.setAttribute("data-frames", (+(document.body.getAttribute("data-frames") || 0) + 1).toString());
  }

  let pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  }

  // focus shows only the view the address names (report.html#memory-view):
  // one view to look at, or to screenshot.
  function focus() {
    const view = location.hash && document.getElementById(location.hash.slice(1));
    if (!view || view.tagName !== "SECTION") return;
    for (const s of document.querySelectorAll("main section")) s.hidden = s !== view;
    document.body.classList.add("focus");
  }

  function start() {
    focus();
    $("tasks").addEventListener("mousemove", tip);
    $("tasks").addEventListener("mouseleave", () => { $("tip").hidden = true; });
    const embedded = $("gdask-data");
    if (embedded) { // a report: everything is here
      merge(JSON.parse(embedded.textContent));
      draw();
      return;
    }
    const es = new EventSource("events");
    es.onmessage = (m) => {
      merge(JSON.parse(m.data));
      if (state.head.status !== "running") es.close(); // the last frame
      schedule();
    };
    es.onerror = () => {
      if (state.head && state.head.status !== "running") es.close();
      else $("status").textContent = "reconnecting";
    };
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
