/* regiocal embed: <script src="https://HOST/embed.js" data-category="music" data-limit="5"></script>
   renders the next events into the host page as <regiocal-events>; no framework. Filters as in
   the API (category, district, venue, source, q, free, transit, from, to), data-lang="de|en",
   data-target="#id" to render into an element. Theme with CSS variables on regiocal-events:
   --regiocal-accent, --regiocal-text, --regiocal-muted, --regiocal-background, --regiocal-font. */
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = script ? new URL(script.src, location.href).origin : location.origin;
  var FILTERS = ["category", "district", "venue", "source", "q", "free", "transit", "from", "to"];
  var TEXT = {
    de: { none: "Keine Termine.", all: "Alle Termine", error: "Termine konnten nicht geladen werden.", day: "ganztägig" },
    en: { none: "No events.", all: "All events", error: "Events could not be loaded.", day: "all day" }
  };
  var CSS = ":host{display:block;font-family:var(--regiocal-font,inherit);color:var(--regiocal-text,inherit);" +
    "background:var(--regiocal-background,transparent)}ul{list-style:none;margin:0;padding:0}" +
    "li{padding:.4em 0;border-bottom:1px solid var(--regiocal-line,#c8ced6)}a{color:var(--regiocal-accent,#005a9c)}" +
    ".when,.where,p{color:var(--regiocal-muted,#4d4d4d);font-size:.9em}.title{font-weight:600}" +
    ".cancelled .title{text-decoration:line-through}p{margin:.5em 0 0}";

  function today() {
    var d = new Date();
    return d.getFullYear() + "-" + ("0" + (d.getMonth() + 1)).slice(-2) + "-" + ("0" + d.getDate()).slice(-2);
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  function when(ev, lang) {
    var locale = lang === "en" ? "en-GB" : "de-DE";
    if (ev.all_day) {
      return new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short" })
        .format(new Date(ev.start + "T12:00:00")) + ", " + TEXT[lang].day;
    }
    return new Intl.DateTimeFormat(locale, {
      weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone: ev.timezone
    }).format(new Date(ev.start));
  }

  class RegiocalEvents extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      var root = this.attachShadow({ mode: "open" });
      var style = document.createElement("style");
      style.textContent = CSS;
      root.appendChild(style);
      var lang = (this.getAttribute("lang") || document.documentElement.lang || "de").slice(0, 2) === "en" ? "en" : "de";
      var base = this.getAttribute("base") || origin;
      var params = new URLSearchParams();
      var self = this;
      FILTERS.forEach(function (f) {
        var v = self.getAttribute(f);
        if (v) params.set(f, v);
      });
      if (!params.has("from")) params.set("from", today());
      var limit = parseInt(this.getAttribute("limit") || "5", 10);
      params.set("limit", String(Math.min(Math.max(limit || 5, 1), 50)));
      var list = el("ul");
      root.appendChild(list);
      var page = new URLSearchParams(params);
      page.delete("limit");
      page.delete("from");
      if (lang === "en") page.set("lang", "en");
      var all = el("p");
      var link = el("a", null, TEXT[lang].all);
      link.href = base + "/" + (page.toString() ? "?" + page : "");
      link.target = "_blank";
      link.rel = "noopener";
      all.appendChild(link);
      fetch(base + "/api/v1/events?" + params, { credentials: "omit" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (doc) {
          if (!doc.events.length) list.appendChild(el("li", "empty", TEXT[lang].none));
          doc.events.forEach(function (ev) {
            var li = el("li", ev.status === "cancelled" ? "cancelled" : "");
            var a = el("a", "title", ev.title);
            a.href = base + "/events/" + encodeURIComponent(ev.id) + (lang === "en" ? "?lang=en" : "");
            a.target = "_blank";
            a.rel = "noopener";
            li.appendChild(a);
            li.appendChild(el("div", "when", when(ev, lang)));
            var where = (ev.venue && ev.venue.name) || ev.location;
            if (where) li.appendChild(el("div", "where", where));
            list.appendChild(li);
          });
          root.appendChild(all);
          self.setAttribute("data-state", "ready");
        })
        .catch(function () {
          list.appendChild(el("li", "error", TEXT[lang].error));
          self.setAttribute("data-state", "error");
        });
    }
  }

  if (!customElements.get("regiocal-events")) customElements.define("regiocal-events", RegiocalEvents);

  // Script-tag mode: the script's data-* attributes become a <regiocal-events> element.
  if (script && !script.hasAttribute("data-no-auto")) {
    var node = document.createElement("regiocal-events");
    var data = script.dataset;
    Object.keys(data).forEach(function (k) {
      if (k !== "target") node.setAttribute(k, data[k]);
    });
    node.setAttribute("base", origin);
    var target = data.target && document.querySelector(data.target);
    if (target) target.appendChild(node);
    else script.parentNode.insertBefore(node, script.nextSibling);
  }
})();
