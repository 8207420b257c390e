/* hstsproxy console: the script of every page (body data-page says which).
 * Hand-written, no library; talks only to the proxy's own /api/. Text
 * from the API is only ever set with textContent, never parsed as HTML. */
"use strict";

const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;
const CHART_POINTS = 60;
let csrf = "";

/* ---- helpers ---- */

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "title") e.title = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) {
    if (k !== null && k !== undefined)
      e.append(k instanceof Node ? k : String(k));
  }
  return e;
}

function fmt(n) {
  return typeof n === "number" ? n.toLocaleString("en-US") : "–";
}

function rate(n) {
  if (n >= 100) return Math.round(n).toLocaleString("en-US");
  return n.toFixed(1);
}

function duration(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24;
  const m = Math.floor(s / 60) % 60;
  if (d > 0) return d + " d " + h + " h";
  if (h > 0) return h + " h " + m + " min";
  if (m > 0) return m + " min " + (s % 60) + " s";
  return s + " s";
}

/* "2027-12-06T08:46:12Z" as "2027-12-06 08:46 UTC" */
function when(iso) {
  return iso ? iso.replace("T", " ").replace(/:\d\dZ$/, " UTC") : null;
}

/* max-age with its size in words */
function age(s) {
  if (s === null || s === undefined) return null;
  const d = s / 86400;
  return s.toLocaleString("en-US") + " s" + (d >= 1 ? " (" + +d.toFixed(1) + " days)" : "");
}

function clock(iso) {
  const t = new Date(iso);
  return isNaN(t) ? iso : t.toLocaleTimeString("en-GB", { hour12: false });
}

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  const doc = await r.json();
  if (!r.ok) throw new Error(doc.error || r.status + " " + r.statusText);
  return doc;
}

/* A state-changing call: JSON body, the CSRF token. */
async function change(method, path, body) {
  if (!csrf) await status();
  const r = await fetch(path, {
    method, cache: "no-store",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const doc = await r.json();
  if (!r.ok) throw new Error(doc.error || r.status + " " + r.statusText);
  return doc;
}

/* The status, and the bar's "version, uptime" on every page. */
async function status() {
  const meta = $("meta");
  try {
    const s = await getJSON("/api/status");
    csrf = s.csrf_token;
    meta.replaceChildren(el("span", { class: "dot" }),
      "v" + s.version + " · up " + duration(s.uptime_s) + " · " +
      s.workers + (s.workers === 1 ? " worker" : " workers"));
    return s;
  } catch (e) {
    meta.replaceChildren(el("span", { class: "dot off" }), "proxy unreachable");
    return null;
  }
}

/* ---- overview ---- */

function drawChart(canvas, ups, fws) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== w * dpr) { canvas.width = w * dpr; canvas.height = h * dpr; }
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const css = getComputedStyle(document.documentElement);
  const left = 44, right = 8, top = 8, bottom = 22;
  const pw = w - left - right, ph = h - top - bottom;
  let max = Math.max(1, ...ups, ...fws);
  const step = Math.pow(10, Math.floor(Math.log10(max)));
  max = Math.ceil(max / step) * step;
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = "#5b6675";
  g.strokeStyle = "#e7eaee";
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = top + ph - (ph * i) / 4;
    g.beginPath(); g.moveTo(left, Math.round(y) + 0.5); g.lineTo(left + pw, Math.round(y) + 0.5); g.stroke();
    g.textAlign = "right"; g.textBaseline = "middle";
    g.fillText(rate((max * i) / 4), left - 6, y);
  }
  g.textAlign = "center"; g.textBaseline = "top";
  for (const s of [60, 45, 30, 15, 0]) {
    const x = left + pw - (pw * s) / (CHART_POINTS - 1);
    g.fillText(s === 0 ? "now" : "-" + s + " s", Math.min(Math.max(x, left + 12), left + pw - 12), top + ph + 6);
  }
  const line = (vals, color) => {
    if (vals.length < 2) return;
    g.strokeStyle = color; g.lineWidth = 2; g.lineJoin = "round";
    g.beginPath();
    vals.forEach((v, i) => {
      const x = left + pw - (pw * (vals.length - 1 - i)) / (CHART_POINTS - 1);
      const y = top + ph - (ph * v) / max;
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  };
  line(fws, css.getPropertyValue("--fw").trim() || "#2563eb");
  line(ups, css.getPropertyValue("--up").trim() || "#15803d");
}

function listAge(name) {
  const m = /(\d{4})-(\d{2})-(\d{2})$/.exec(name || "");
  if (!m) return null;
  const t = Date.UTC(+m[1], +m[2] - 1, +m[3]);
  return { date: m[0], days: Math.floor((Date.now() - t) / 86400000) };
}

function overview() {
  const ups = [], fws = [];
  let last = null;
  const set = (id, v) => { $(id).textContent = v; };
  async function tick() {
    const s = await status();
    if (s) {
      const c = s.counters;
      const fw = c.requests - c.upgrades - c.local; /* forwarded and tunneled */
      if (last) {
        const dt = Math.max(0.001, (s.time_ms - last.t) / 1000 || POLL_MS / 1000);
        ups.push(Math.max(0, (c.upgrades - last.up) / dt));
        fws.push(Math.max(0, (fw - last.fw) / dt));
        if (ups.length > CHART_POINTS) { ups.shift(); fws.shift(); }
        set("t-ups", rate(ups[ups.length - 1]));
        set("t-fws", rate(fws[fws.length - 1]));
      }
      last = { t: s.time_ms, up: c.upgrades, fw };
      set("t-upgrades", fmt(c.upgrades));
      set("t-requests", fmt(c.requests));
      set("t-open", fmt(c.connections_open));
      set("t-errors", fmt(c.errors));
      set("p-name", s.preload.name);
      set("p-hosts", fmt(s.preload.hosts));
      const age = listAge(s.preload.name);
      set("p-age", age ? age.date + " (" + age.days + " days ago)" : "–");
      const stale = $("p-stale");
      stale.hidden = !(s.preload.stale_days > 0);
      stale.replaceChildren("Stale: older than 70 days. Run ",
        el("code", {}, "hstsproxy preload update"), ".");
      set("pol-learned", fmt(s.policies.learned));
      set("pol-manual", fmt(s.policies.manual));
      const w = s.writer, ws = $("w-state");
      set("w-written", fmt(w.written));
      set("w-pending", fmt(w.pending));
      set("w-dropped", fmt(w.dropped));
      set("w-failed", fmt(w.failed));
      ws.textContent = w.failing ? "failing" : "healthy";
      ws.className = "badge " + (w.failing || w.failed > 0 ? "bad" : "ok");
    }
    drawChart($("chart"), ups, fws);
    setTimeout(tick, POLL_MS);
  }
  window.addEventListener("resize", () => drawChart($("chart"), ups, fws));
  tick();
}

/* ---- hops ---- */

const HOPS_MAX = 500;

function hopRow(h, fresh, inChain) {
  const kind = h.kind === "hsts-upgrade"
    ? el("span", { class: "pill up" }, "hsts-upgrade")
    : el("span", { class: "pill redir" }, h.kind);
  const policy = h.policy_source
    ? h.policy_source + (h.policy_host ? " " + h.policy_host : "") +
      (h.include_subdomains ? " +sub" : "")
    : (h.sts_header ? "STS: " + h.sts_header : "");
  const cls = (fresh ? "fresh " : "") + (inChain ? "inchain" : "");
  return el("tr", cls ? { class: cls.trim() } : {},
    el("td", { class: "num", title: h.time }, clock(h.time)),
    el("td", {}, h.client || ""),
    el("td", {}, kind),
    el("td", { class: "num" }, String(h.status || "")),
    el("td", { class: "url", title: h.method + " " + h.url }, h.method + " " + h.url),
    el("td", { class: "url", title: h.location || "" }, h.location || ""),
    el("td", { class: "pol", title: policy }, policy));
}

function hostMatches(url, host) {
  try {
    const h = new URL(url).hostname.toLowerCase();
    return h === host || h.endsWith("." + host);
  } catch (e) { return false; }
}

function hops() {
  const f = { host: $("f-host"), kind: $("f-kind"), client: $("f-client"), chains: $("f-chains") };
  const params = new URLSearchParams(location.search);
  for (const k of ["host", "kind", "client"]) if (params.get(k)) f[k].value = params.get(k);
  let rows = [];     /* newest last */
  let paused = false, pending = [];
  const live = $("live");

  const want = (h) => {
    const host = f.host.value.trim().toLowerCase().replace(/\.$/, "");
    return (!host || hostMatches(h.url, host)) &&
      (!f.kind.value || h.kind === f.kind.value) &&
      (!f.client.value.trim() || h.client === f.client.value.trim());
  };

  function render(freshIds) {
    const body = $("hops").tBodies[0];
    const shown = rows.filter(want);
    const out = [];
    if (f.chains.checked) {
      const chains = new Map();
      for (const h of shown) {
        if (!chains.has(h.chain_id)) chains.set(h.chain_id, []);
        chains.get(h.chain_id).push(h);
      }
      const order = [...chains.values()].sort((a, b) =>
        b[b.length - 1].time.localeCompare(a[a.length - 1].time));
      for (const c of order) {
        const first = c[0], lastHop = c[c.length - 1];
        out.push(el("tr", { class: "chain" }, el("td", { colspan: "7" },
          "chain " + first.chain_id + " · " + c.length + (c.length === 1 ? " hop · " : " hops · ") +
          first.url + " → " + (lastHop.location || "?"))));
        for (const h of c) out.push(hopRow(h, freshIds.has(h.request_id), true));
      }
    } else {
      for (let i = shown.length - 1; i >= 0; i--)
        out.push(hopRow(shown[i], freshIds.has(shown[i].request_id), false));
    }
    body.replaceChildren(...out);
    $("empty").hidden = out.length > 0;
    $("empty").textContent = rows.length > 0
      ? "No hop matches these filters."
      : "No hops yet. A request to an HSTS host through the proxy (or a redirect from an origin) shows up here as it happens.";
  }

  async function load() {
    const q = new URLSearchParams({ limit: "200" });
    if (f.host.value.trim()) q.set("host", f.host.value.trim());
    if (f.kind.value) q.set("kind", f.kind.value);
    if (f.client.value.trim()) q.set("client", f.client.value.trim());
    try {
      rows = await getJSON("/api/hops?" + q);
      render(new Set());
    } catch (e) {
      $("empty").hidden = false;
      $("empty").textContent = "Cannot read the hop log: " + e.message;
    }
  }

  function add(list) {
    rows.push(...list);
    if (rows.length > HOPS_MAX) rows.splice(0, rows.length - HOPS_MAX);
    render(new Set(list.map((h) => h.request_id)));
  }

  function connect() {
    const es = new EventSource("/api/hops/stream");
    es.onopen = () => { live.textContent = "live"; live.className = "live on"; };
    es.addEventListener("hop", (ev) => {
      const h = JSON.parse(ev.data);
      if (paused) { pending.push(h); live.textContent = "paused · " + pending.length + " new"; return; }
      add([h]);
    });
    es.addEventListener("dropped", (ev) => {
      const n = JSON.parse(ev.data).dropped;
      live.textContent = "live · " + n + " hops skipped (this page fell behind)";
    });
    es.onerror = () => { live.textContent = "reconnecting…"; live.className = "live"; };
  }

  let timer = null;
  const refilter = () => { clearTimeout(timer); timer = setTimeout(load, 250); };
  f.host.addEventListener("input", refilter);
  f.client.addEventListener("input", refilter);
  f.kind.addEventListener("change", load);
  f.chains.addEventListener("change", () => render(new Set()));
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  $("pause").addEventListener("click", () => {
    paused = !paused;
    $("pause").textContent = paused ? "Resume" : "Pause";
    if (!paused) { add(pending); pending = []; live.textContent = "live"; }
  });
  status();
  load().then(connect);
}

/* ---- hsts ---- */

function kvList(pairs) {
  const dl = el("dl", { class: "kv" });
  for (const [k, v] of pairs) dl.append(el("dt", {}, k), el("dd", {}, v === null || v === undefined ? "–" : String(v)));
  return dl;
}

function showAnswer(a) {
  const yes = a.hsts;
  const st = a.static, dy = a.dynamic;
  const out = el("div", { class: "answer" },
    el("div", { class: "verdict" },
      el("span", { class: "badge " + (yes ? "ok" : "bad") }, yes ? "HSTS" : "not HSTS"),
      a.normalized + (a.unicode ? " (" + a.unicode + ")" : "")),
    kvList([["Source", a.source], ["Matched host", a.matched_host],
      ["includeSubDomains", a.include_subdomains === null ? null : (a.include_subdomains ? "yes" : "no")],
      ["max-age", age(a.max_age)], ["Observed", when(a.observed)], ["Expires", when(a.expires)]]),
    el("p", { class: "why" }, a.why),
    el("div", { class: "sides" },
      el("div", { class: "side" }, el("h3", {}, "Static (preload list)"),
        st ? kvList([["Host", st.host], ["Mode", st.mode || "pins only"],
          ["includeSubDomains", st.include_subdomains ? "yes" : "no"],
          ["List", st.list + (st.list_date ? " (" + st.list_date + ")" : "")]])
          : el("p", { class: "hint" }, "No entry.")),
      el("div", { class: "side" }, el("h3", {}, "Dynamic (learned or manual)"),
        dy ? kvList([["Host", dy.host], ["Source", dy.source + (dy.how ? " (" + dy.how + ")" : "")],
          ["max-age", age(dy.max_age)], ["includeSubDomains", dy.include_subdomains ? "yes" : "no"],
          ["Expires", when(dy.expires)], ["Header", dy.raw_header]])
          : el("p", { class: "hint" }, "No entry."))));
  $("q-out").replaceChildren(out);
}

function hsts() {
  const msg = (id, ok, text) => { const m = $(id); m.className = "msg " + (ok ? "ok" : "bad"); m.textContent = text; };
  async function query(host) {
    $("q-host").value = host;
    try { showAnswer(await getJSON("/api/policy?host=" + encodeURIComponent(host))); }
    catch (e) { $("q-out").replaceChildren(el("p", { class: "msg bad" }, e.message)); }
  }
  $("q-form").addEventListener("submit", (e) => { e.preventDefault(); query($("q-host").value.trim()); });
  $("a-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const host = $("a-host").value.trim();
    try {
      const a = await change("POST", "/api/policy", {
        host, max_age: Number($("a-age").value), include_subdomains: $("a-sub").checked });
      msg("a-msg", true, "Added: " + a.normalized + " is HSTS now, in every worker.");
      showAnswer(a);
      $("q-host").value = a.normalized;
    } catch (err) { msg("a-msg", false, err.message); }
  });
  $("d-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const host = $("d-host").value.trim();
    try {
      const a = await change("DELETE", "/api/policy?host=" + encodeURIComponent(host));
      msg("d-msg", true, "Deleted the policy of " + a.normalized + ".");
      showAnswer(a);
    } catch (err) { msg("d-msg", false, err.message); }
  });
  status();
  const h = new URLSearchParams(location.search).get("host");
  if (h) query(h);
}

/* ---- audit ---- */

function audit() {
  const show = () => { $("au-frame").src = "/api/audit?days=" + encodeURIComponent($("au-days").value); };
  $("au-form").addEventListener("submit", (e) => { e.preventDefault(); show(); });
  $("au-days").addEventListener("change", show);
  status();
}

const pages = { overview, hops, hsts, audit };
(pages[document.body.dataset.page] || status)();
