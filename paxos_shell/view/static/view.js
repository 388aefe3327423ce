// The live view's page: it displays the snapshots the shell sends, and decides nothing.
// Every string from the shell is written with textContent (never innerHTML); the diagram is an
// SVG document drawn and escaped by the shell (view/svg.py), parsed as XML and imported.
"use strict";

(function () {
  const STEP_MS = 130;
  const MAX_SCALE = 1.4;
  const FIELDS = [["promisedId", "promised"], ["acceptedId", "accepted id"], ["acceptedValue", "value"]];
  const root = document.documentElement;
  const $ = (id) => document.getElementById(id);

  function node(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function shown(v) {
    return v === null || v === undefined ? "\u2013" : String(v);
  }

  function setList(list, items, cls) {
    list.replaceChildren(...(items || []).map((t) => node("li", cls, t)));
  }

  // -- how the page looks: local only, never sent anywhere ------------------------------------

  function remember(key, value) {
    try { window.localStorage.setItem("paxos-view-" + key, value); } catch (e) { /* private mode */ }
  }

  function recalled(key) {
    try { return window.localStorage.getItem("paxos-view-" + key); } catch (e) { return null; }
  }

  function setDisplay(layout, theme) {
    root.dataset.layout = layout;
    root.dataset.theme = theme;
    $("layout").textContent = layout === "projector" ? "Compact" : "Projector";
    $("theme").textContent = theme === "light" ? "Dark" : "Light";
  }

  function initialDisplay() {
    const words = window.location.hash.slice(1).split(",");
    const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    const layout = words.includes("compact") ? "compact" : words.includes("projector") ? "projector"
      : recalled("layout") || "projector";
    const theme = words.includes("dark") ? "dark" : words.includes("light") ? "light"
      : recalled("theme") || (dark ? "dark" : "light");
    setDisplay(layout, theme);
    $("layout").addEventListener("click", () => {
      const next = root.dataset.layout === "projector" ? "compact" : "projector";
      remember("layout", next);
      setDisplay(next, root.dataset.theme);
    });
    $("theme").addEventListener("click", () => {
      const next = root.dataset.theme === "light" ? "dark" : "light";
      remember("theme", next);
      setDisplay(root.dataset.layout, next);
    });
  }

  // -- the snapshot ---------------------------------------------------------------------------

  function card(c) {
    const li = node("li", "card" + (c.changed.length ? " changed" : ""));
    li.dataset.id = String(c.id);
    li.dataset.status = c.status;
    const head = node("div", "card-head");
    head.append(node("span", "card-name", "Acceptor " + c.id), node("span", "badge status status-" + c.status, c.status));
    const fields = node("dl", "fields");
    for (const [key, label] of FIELDS) {
      const dd = node("dd", c.changed.includes(key) ? "changed" : "", shown(c[key]));
      dd.dataset.field = key;
      fields.append(node("dt", "", label), dd);
    }
    li.append(head, fields);
    if (c.volatile) li.append(node("span", "badge volatile", "volatile: state in memory only"));
    if (c.faults) li.append(node("span", "badge faults", c.faults));
    return li;
  }

  function diagram(d) {
    const box = $("diagram");
    const doc = new DOMParser().parseFromString(d.svg, "image/svg+xml");
    const svg = doc.documentElement;
    if (svg.localName !== "svg" || doc.getElementsByTagName("parsererror").length) {
      box.replaceChildren(node("p", "muted", "The diagram could not be read."));
      return;
    }
    const drawn = document.importNode(svg, true);
    for (const g of drawn.querySelectorAll(".round.new [data-step]")) {
      g.style.animationDelay = Number(g.dataset.step) * STEP_MS + "ms";
    }
    const strip = heads(drawn);
    for (const svg of [...strip, drawn]) {  // large on a big screen, but the newest round kept in sight
      svg.style.maxWidth = Number(drawn.getAttribute("width")) * MAX_SCALE + "px";
    }
    box.replaceChildren(...strip, drawn);
    box.scrollTop = box.scrollHeight;
  }

  function heads(drawn) {
    // The participants' names again, in a strip that stays on top while the rounds scroll:
    // a copy of the shell's own drawing, at the same width and so at the same scale.
    const names = drawn.querySelector(".participants");
    const view = (drawn.getAttribute("viewBox") || "").split(" ");
    if (!names || view.length !== 4) return [];
    const strip = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    const height = names.dataset.height;
    strip.setAttribute("viewBox", "0 0 " + view[2] + " " + height);
    strip.setAttribute("width", view[2]);
    strip.setAttribute("height", height);
    strip.setAttribute("class", "paxos-diagram heads");
    strip.setAttribute("aria-hidden", "true");
    strip.append(names.cloneNode(true));
    return [strip];
  }

  function verdict(v) {
    $("verdict-box").dataset.verdict = v.verdict;
    $("verdict").textContent = v.headline;
    setList($("verdict-detail"), v.detail);
    $("futures").textContent = v.futures.text;
    $("futures").dataset.kind = v.futures.kind;
  }

  function lesson(l) {
    $("lesson").hidden = !l;
    if (!l) return;
    $("lesson-step").textContent = "step " + l.number + " of " + l.total;
    $("lesson-title").textContent = l.title;
    $("lesson-command").textContent = l.command;
    setList($("lesson-notes"), l.notes);
  }

  function proposers(p) {
    // Every proposer heard lately, each in its colour (the diagram's): with a class of 30 on one
    // pool, the colour finds a student's rounds in the diagram. Shown once there is more than one.
    const list = (p && p.list) || [];
    $("proposers").hidden = list.length < 2;
    $("proposers-more").textContent = p && p.more ? "and " + p.more + " more" : "";
    $("proposer-list").replaceChildren(...list.map((x) => {
      const li = node("li", "chip" + (x.violations ? " broke" : ""));
      const dot = node("span", "dot");
      dot.style.background = "hsl(" + Number(x.hue) + ", 75%, 45%)";
      li.append(dot, node("span", "chip-name", x.name), node("span", "muted", " " + x.last));
      if (x.violations) li.append(node("span", "badge rule", x.violations + " rule" + (x.violations > 1 ? "s" : "") + " broken"));
      li.title = x.exchanges + " exchanges lately";
      return li;
    }));
  }

  function apply(s) {
    $("line").textContent = s.line || "(the view started)";
    $("pool").textContent = s.pool.description;
    const p = s.proposer;
    $("proposer").textContent = "proposer " + p.name + (p.id === null ? "" : ", id " + p.id)
      + (p.count > 1 ? " (" + p.count + " proposers)" : "");
    $("shared").hidden = !s.shared;
    verdict(s.verdict);
    $("cards").replaceChildren(...s.acceptors.map(card));
    $("rounds").textContent = s.diagram.rounds ? "last rounds, up to round " + s.diagram.rounds : "";
    diagram(s.diagram);
    $("about").textContent = s.explanation.about ? "after: " + s.explanation.about : "";
    setList($("explanation"), s.explanation.sentences);
    lesson(s.lesson);
    proposers(s.proposers);
    document.body.dataset.seq = String(s.seq);
    window.requestAnimationFrame(() => { document.body.dataset.shownAt = String(Date.now()); });
  }

  function link(state, text) {
    $("link").dataset.state = state;
    $("link").textContent = text;
  }

  function listen() {
    const source = new EventSource("events");
    source.onopen = () => link("live", "live");
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) link("closed", "disconnected: the view is off");
      else link("connecting", "reconnecting\u2026");
    };
    source.onmessage = (event) => {
      // Two lines: the snapshot as JSON, then the diagram's SVG (kept out of the JSON).
      const cut = event.data.indexOf("\n");
      let snapshot;
      try { snapshot = JSON.parse(cut < 0 ? event.data : event.data.slice(0, cut)); } catch (e) { return; }
      snapshot.diagram.svg = cut < 0 ? "" : event.data.slice(cut + 1);
      apply(snapshot);
    };
  }

  function followNewest() {
    // The newest round stays in sight when the page is resized or its layout changes.
    const box = $("diagram");
    if (window.ResizeObserver) new ResizeObserver(() => { box.scrollTop = box.scrollHeight; }).observe(box);
  }

  initialDisplay();
  followNewest();
  listen();
})();
