// Browser test of the web UI: Debian's Chromium (/usr/bin/chromium) driven by playwright-core.
//
// Starts `regiocal serve` with the demo region (config/regiocal.toml rewritten into a temp
// folder: port 0, store in the temp folder, clock pinned to 2026-11-24, in the embed's host
// page too; map tiles from a stub on 127.0.0.1), or uses REGIOCAL_URL if set. Then: loads the
// list, applies a filter with the form, uses the keyboard and the language toggle, opens an
// event (map, JSON-LD), checks the subscribe link and fetches it, draws the map, renders the
// embed (script and iframe) inside a host page served from another loopback origin, runs
// axe-core on every page (failing on serious or critical violations), and fails on script
// errors, CSP violations and any request that is not to 127.0.0.1. Screenshots and axe
// reports go to target/browser-artifacts/ (BROWSER_ARTIFACTS).
//
//   cd tests/browser && npm ci && node run.mjs
//
// Environment: REGIOCAL_BIN (default: $CARGO_TARGET_DIR or ../../target, then debug/regiocal),
// CHROMIUM (default /usr/bin/chromium), REGIOCAL_URL (test a running server instead).

import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const artifacts = process.env.BROWSER_ARTIFACTS || path.join(root, "target/browser-artifacts");
const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, "target");
const bin = process.env.REGIOCAL_BIN || path.join(targetDir, "debug/regiocal");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const NOW = "2026-11-24T09:00:00Z";

const failures = [];
const log = (...a) => console.log("[browser]", ...a);

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** Runs one named step; a failure is recorded and the next step still runs. */
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures.push(`${name}: ${e.message}`);
    log(`FAIL ${name}: ${e.stack || e}`);
  }
}

const isLoopback = (u) => {
  try {
    const { hostname, protocol } = new URL(u);
    if (protocol === "data:" || protocol === "about:" || protocol === "blob:") return true;
    return hostname === "127.0.0.1" || hostname === "[::1]" || hostname === "localhost";
  } catch {
    return false;
  }
};

// ---- the stub: map tiles and a host page for the embed, on another loopback port ----------
const TILE = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGN48eY9AAWDAsRbmw5iAAAAAElFTkSuQmCC",
  "base64",
);
let tileRequests = 0;
let regiocalBase = "";
const stub = http.createServer((req, res) => {
  if (req.url.startsWith("/tiles/")) {
    tileRequests++;
    res.writeHead(200, { "content-type": "image/png", "cache-control": "no-store" });
    return res.end(TILE);
  }
  if (req.url === "/host.html") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    return res.end(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Stadtportal Musterstadt</title>
<style>body{font-family:sans-serif;max-width:40rem;margin:1rem auto}
regiocal-events{--regiocal-accent:rgb(160, 0, 80);--regiocal-font:Georgia, serif}</style></head>
<body><main><h1>Stadtportal Musterstadt</h1>
<h2>Familie (script)</h2>
<script src="${regiocalBase}/embed.js" data-category="family" data-limit="3"></script>
<h2>Familie (iframe)</h2>
<iframe src="${regiocalBase}/embed?category=family&amp;limit=3" title="Veranstaltungen" width="100%" height="380"></iframe>
</main></body></html>`);
  }
  res.writeHead(404).end();
});
await new Promise((r) => stub.listen(0, "127.0.0.1", r));
const stubBase = `http://127.0.0.1:${stub.address().port}`;

// ---- the server ------------------------------------------------------------------------------
let server;
let tmp;
async function startServer() {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "regiocal-browser-"));
  const cfgDir = path.join(root, "config");
  let text = fs.readFileSync(path.join(cfgDir, "regiocal.toml"), "utf8");
  const replace = (from, to) => {
    assert(text.includes(from), `demo config lacks ${from}`);
    text = text.split(from).join(to);
  };
  replace('path = "../data/regiocal.sqlite"', `path = ${JSON.stringify(path.join(tmp, "store.sqlite"))}`);
  replace('bind = "127.0.0.1:8080"', 'bind = "127.0.0.1:0"');
  replace('"../fixtures/', `"${path.join(root, "fixtures")}/`);
  for (const f of ["venues.csv", "districts.geojson", "region.geojson", "overrides.toml"]) {
    replace(`= "${f}"`, `= ${JSON.stringify(path.join(cfgDir, f))}`);
  }
  replace('tile_url = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"', `tile_url = "${stubBase}/tiles/{z}/{x}/{y}.png"`);
  const config = path.join(tmp, "regiocal.toml");
  fs.writeFileSync(config, text);
  assert(fs.existsSync(bin), `no binary at ${bin} (cargo build first, or set REGIOCAL_BIN)`);
  const env = { ...process.env, REGIOCAL_NOW: NOW, RUST_LOG: "regiocal=info" };
  delete env.REGIOCAL_BIND;
  server = spawn(bin, ["serve", "--config", config], { env, stdio: ["ignore", "ignore", "pipe"] });
  const lines = readline.createInterface({ input: server.stderr });
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start in 30 s")), 30000);
    server.on("exit", (code) => reject(new Error(`server exited with ${code}`)));
    lines.on("line", (line) => {
      fs.appendFileSync(path.join(artifacts, "server.log"), line + "\n");
      const m = line.match(/Serving (http:\/\/[^/\s]+)\/calendar\.ics/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  // Wait until every source is fetched into the snapshot.
  const deadline = Date.now() + 30000;
  for (;;) {
    const doc = await (await fetch(`${base}/api/v1/sources`)).json();
    if (doc.sources.every((s) => s.health === "ok")) break;
    assert(Date.now() < deadline, "sources not fetched in 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  return base;
}

// ---- helpers on pages ------------------------------------------------------------------------
const axeReports = {};
async function axe(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ["violations"], runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } }),
  );
  axeReports[name] = result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ")),
  }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert(
    bad.length === 0,
    `axe on ${name}: ${bad.map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`).join("; ")}`,
  );
}

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage });
}

// ---- the run ---------------------------------------------------------------------------------
fs.mkdirSync(artifacts, { recursive: true });
fs.rmSync(path.join(artifacts, "server.log"), { force: true });
let context;
const externalRequests = [];
const pageProblems = [];
try {
  regiocalBase = process.env.REGIOCAL_URL || (await startServer());
  log(`server ${regiocalBase}, stub ${stubBase}`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "regiocal-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-default-apps",
      "--disable-extensions",
    ],
    viewport: { width: 1280, height: 900 },
    locale: "de-DE",
    timezoneId: "Europe/Berlin",
  });
  context.setDefaultTimeout(15000);
  // Nothing may leave the machine: every request not to loopback is refused and reported.
  await context.route("**/*", (route) => {
    const u = route.request().url();
    if (isLoopback(u)) return route.continue();
    externalRequests.push(u);
    return route.abort();
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => pageProblems.push(`script error on ${page.url()}: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) {
      pageProblems.push(`CSP on ${page.url()}: ${m.text()}`);
    }
  });
  const api = async (p) => (await page.request.get(`${regiocalBase}${p}`)).json();

  await step("list page in German, accessible", async () => {
    await page.goto(`${regiocalBase}/`);
    assert((await page.getAttribute("html", "lang")) === "de", "lang is not de");
    assert((await page.textContent("h1")) === "Veranstaltungen", "h1");
    const cards = await page.locator("article.event").count();
    assert(cards === 50, `expected 50 cards, got ${cards}`);
    assert((await page.textContent("main h2 time")).startsWith("Heute, Dienstag, 24. November 2026"), "first day heading");
    await axe(page, "list");
    await shot(page, "01-list");
  });

  await step("keyboard: skip link first, focus visible", async () => {
    await page.goto(`${regiocalBase}/`);
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => [document.activeElement.className, document.activeElement.textContent]);
    assert(focused[0] === "skip-link" && focused[1] === "Zum Inhalt springen", `first tab stop: ${focused}`);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert(outline !== "none", "no visible focus outline");
    await page.keyboard.press("Enter");
    assert((await page.evaluate(() => location.hash)) === "#main", "skip link does not jump");
  });

  let filteredTitles = [];
  await step("apply a filter with the form", async () => {
    await page.goto(`${regiocalBase}/`);
    await page.selectOption("#f-category", "family");
    await page.check("#f-transit");
    await Promise.all([page.waitForURL(/category=family/), page.click(".filters button[type=submit]")]);
    const url = new URL(page.url());
    assert(url.searchParams.get("category") === "family" && url.searchParams.get("transit") === "1", page.url());
    filteredTitles = await page.locator("article.event h3").allTextContents();
    const want = await api("/api/v1/events?category=family&transit=1&from=2026-11-24&limit=1000");
    assert(filteredTitles.length === want.events.length && filteredTitles.length > 0, `${filteredTitles.length} cards vs ${want.events.length} from the API`);
    assert(filteredTitles.join("|") === want.events.map((e) => e.title).join("|"), "titles differ from the API");
    assert((await page.inputValue("#f-category")) === "family", "form keeps the category");
    await shot(page, "02-list-filtered");
  });

  await step("language toggle keeps the filter", async () => {
    await Promise.all([page.waitForURL(/lang=en/), page.click(".lang-toggle")]);
    assert((await page.getAttribute("html", "lang")) === "en", "lang is not en");
    assert(page.url().includes("category=family"), page.url());
    assert((await page.textContent("h1")) === "Events", "English h1");
    await axe(page, "list-en");
    await shot(page, "03-list-en");
  });

  await step("subscribe link for the current filter", async () => {
    await page.goto(`${regiocalBase}/?category=family&district=Altstadt`);
    const webcal = await page.getAttribute("#subscribe-webcal", "href");
    const host = new URL(regiocalBase).host;
    assert(webcal === `webcal://${host}/calendar.ics?category=family&district=Altstadt`, webcal);
    const https = await page.inputValue("#sub-url");
    assert(https === `${regiocalBase}/calendar.ics?category=family&district=Altstadt`, https);
    const r = await page.request.get(https);
    assert(r.status() === 200 && r.headers()["content-type"].startsWith("text/calendar"), `${r.status()}`);
    const body = await r.text();
    assert(body.startsWith("BEGIN:VCALENDAR") && body.includes("BEGIN:VEVENT"), "not a calendar");
    await page.click(".subscribe-box a[href^='/subscribe']");
    await page.waitForURL(/\/subscribe\?/);
    assert((await page.getAttribute("#feed-atom", "href")).endsWith("/feed.atom?category=family&district=Altstadt"), "atom link");
    const copy = page.locator("button.copy");
    assert(await copy.isVisible(), "copy button not shown with JavaScript");
    await axe(page, "subscribe");
    await shot(page, "04-subscribe");
  });

  await step("open an event: details, Anreise, JSON-LD, map", async () => {
    await page.goto(`${regiocalBase}/?q=Zauberfl%C3%B6te`);
    const title = (await page.locator("article.event h3 a").first().textContent()).trim();
    await Promise.all([page.waitForURL(/\/events\//), page.locator("article.event h3 a").first().click()]);
    assert((await page.textContent("h1")).trim() === title, "h1 is not the clicked title");
    assert(await page.locator("#anreise-h").isVisible(), "no Anreise section");
    assert((await page.locator(".stops li").count()) > 0, "no stops");
    const ld = JSON.parse(await page.textContent('script[type="application/ld+json"]'));
    assert(ld["@type"] === "Event" && ld.name === title, "JSON-LD");
    await page.waitForSelector(".leaflet-marker-icon", { state: "visible" });
    await page.waitForFunction(() => document.querySelectorAll(".leaflet-tile-loaded").length > 0);
    const ics = await page.request.get(new URL(await page.getAttribute("#add-to-calendar", "href"), page.url()).href);
    assert(ics.status() === 200 && (await ics.text()).includes(`SUMMARY:${title}`), "add to calendar");
    await axe(page, "event");
    await shot(page, "05-event");
  });

  await step("map of the filtered venues", async () => {
    await page.goto(`${regiocalBase}/map?category=family`);
    await page.waitForSelector(".leaflet-marker-icon", { state: "visible" });
    const markers = await page.locator(".leaflet-marker-icon").count();
    const places = await page.locator("ul.places li").count();
    assert(markers === places && markers > 0, `${markers} markers, ${places} places listed`);
    await page.locator(".leaflet-marker-icon").first().click();
    await page.waitForSelector(".leaflet-popup-content a");
    await page.waitForFunction(() => document.querySelectorAll(".leaflet-tile-loaded").length > 0);
    assert(tileRequests > 0, "no tile requested from the configured tile URL");
    await axe(page, "map");
    await shot(page, "06-map");
  });

  await step("sources page", async () => {
    await page.goto(`${regiocalBase}/sources`);
    const rows = await page.locator("tbody tr").count();
    const doc = await api("/api/v1/sources");
    assert(rows === doc.sources.length, `${rows} rows for ${doc.sources.length} sources`);
    assert((await page.locator(".health-ok").count()) === rows, "not every source is healthy");
    await axe(page, "sources");
    await shot(page, "07-sources");
  });

  await step("404 page", async () => {
    const r = await page.goto(`${regiocalBase}/events/0000000000000000`);
    assert(r.status() === 404, `status ${r.status()}`);
    await axe(page, "not-found");
  });

  await step("small screen", async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    try {
      for (const p of ["/?category=family", "/map?category=family", "/sources", "/subscribe"]) {
        await page.goto(`${regiocalBase}${p}`);
        const overflow = await page.evaluate(() => document.body.scrollWidth - window.innerWidth);
        assert(overflow <= 0, `${p} is ${overflow}px wider than the screen`);
      }
      await page.goto(`${regiocalBase}/?category=family`);
      await shot(page, "08-list-mobile");
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });

  await step("embed inside a host page (script and iframe)", async () => {
    // The embed asks for events from the browser's today: the page's clock is set to the
    // server's pinned day, which the API query below names. (Only here: a fixed clock keeps
    // the map's animations from finishing.)
    await page.clock.setFixedTime(new Date(NOW));
    await page.goto(`${stubBase}/host.html`);
    await page.waitForSelector("regiocal-events[data-state=ready]");
    const items = page.locator("regiocal-events li");
    const n = await items.count();
    const want = await api("/api/v1/events?category=family&from=2026-11-24&limit=3");
    assert(n === want.events.length && n > 0, `${n} items, API has ${want.events.length}`);
    const first = await page.locator("regiocal-events a.title").first();
    assert((await first.textContent()) === want.events[0].title, "first title");
    const href = await first.getAttribute("href");
    assert(href === `${regiocalBase}/events/${want.events[0].id}?lang=en`, href);
    const color = await first.evaluate((a) => getComputedStyle(a).color);
    assert(color === "rgb(160, 0, 80)", `theme variable not applied: ${color}`);
    const frame = page.frameLocator("iframe");
    await frame.locator("article.event").first().waitFor();
    const inFrame = await frame.locator("article.event h3").allTextContents();
    assert(inFrame.length === 3, `${inFrame.length} events in the iframe`);
    await axe(page, "embed-host");
    await shot(page, "09-embed-host");
  });

  await step("no script errors, no CSP violations, nothing but loopback", async () => {
    assert(pageProblems.length === 0, pageProblems.join("; "));
    assert(externalRequests.length === 0, `requests off the machine: ${externalRequests.join(", ")}`);
  });
} catch (e) {
  failures.push(`setup: ${e.stack || e}`);
} finally {
  fs.writeFileSync(path.join(artifacts, "axe.json"), JSON.stringify(axeReports, null, 2));
  if (context) await context.close();
  if (server) server.kill("SIGTERM");
  stub.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}

log(`artifacts in ${artifacts}`);
if (failures.length) {
  console.error(`[browser] ${failures.length} failed:\n- ${failures.join("\n- ")}`);
  process.exit(1);
}
log("all browser checks passed");
