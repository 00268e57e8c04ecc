// Browser tests of the HTML report and the live web view, in Debian's Chromium driven by
// playwright-core (no downloaded browsers). Run by scripts/test:
//   KSPM_BIN=target/debug/kspm node web/tests/browser.mjs [--screenshots]
// --screenshots writes docs/report-*.png from the demo fleet's report.
import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import assert from "node:assert/strict";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const bin = process.env.KSPM_BIN ? path.resolve(process.env.KSPM_BIN) : path.join(root, "target/debug/kspm");
const browserPath = process.env.CHROMIUM || "/usr/bin/chromium";
const screenshots = process.argv.includes("--screenshots");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kspm-browser-"));
let passed = 0;
let failed = 0;

async function test(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed++;
    console.log(`test ${name} ... ok (${Date.now() - started} ms)`);
  } catch (e) {
    failed++;
    console.log(`test ${name} ... FAILED`);
    console.error(e);
    process.exitCode = 1;
  }
}

// Every request must stay on this machine: file:, data:, or the local service.
function guard(page, allowedOrigin) {
  const outside = [];
  page.on("request", (r) => {
    const u = r.url();
    if (u.startsWith("file:") || u.startsWith("data:") || (allowedOrigin && u.startsWith(allowedOrigin))) return;
    outside.push(u);
  });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  return { outside, errors };
}

async function clickFirstHop(page) {
  // A real mouse click on the midpoint of the first graph's first edge.
  const at = await page.evaluate(() => {
    const cy = window.kspm.graphs[0];
    const box = cy.container().getBoundingClientRect();
    const m = cy.edges()[0].renderedMidpoint();
    return { x: box.left + m.x, y: box.top + m.y };
  });
  await page.mouse.click(at.x, at.y);
}

async function checkReport(page, expect) {
  await page.waitForSelector("body[data-ready=true]");
  assert.equal(await page.locator("#clusters tbody tr").count(), expect.clusters);
  // The fix plan on the first screen: its headline, per-cluster counts that add up, the fixes.
  const plan = await page.evaluate(() => window.kspm.data.fixes);
  assert.ok(plan.fixes.length > 0, "the demo fleet has a fix plan");
  assert.equal(await page.locator("#fix-plan h2").innerText(),
    `Fix these ${plan.fixes.length} to remove ${plan.paths_cut} of ${plan.paths} ${plan.severity}-or-worse attack paths`);
  assert.equal(await page.locator("#fix-clusters tbody tr").count(), Object.keys(plan.clusters).length);
  const perCluster = await page.locator("#fix-clusters tbody tr td:nth-child(3)").allInnerTexts();
  assert.equal(perCluster.reduce((a, x) => a + Number(x), 0), plan.paths_cut);
  assert.equal(await page.locator("#fix-list li[data-fix]:not([hidden])").count(), Math.min(10, plan.fixes.length));
  if (plan.fixes.length > 10) {
    await page.click("#fix-plan button");
    assert.equal(await page.locator("#fix-list li[data-fix]:not([hidden])").count(), plan.fixes.length);
  }
  // Attack paths drawn as graphs, hops explained on click.
  await page.click("[data-tab=paths]");
  await page.waitForFunction(() => window.kspm.graphs.length > 0);
  const g = await page.evaluate(() => ({ n: window.kspm.graphs[0].nodes().length, e: window.kspm.graphs[0].edges().length, cards: document.querySelectorAll(".card.path").length }));
  assert.ok(g.n >= 2 && g.e === g.n - 1, `graph has ${g.n} nodes, ${g.e} edges`);
  assert.ok(g.cards >= 1);
  // Each card's fix is the plan's: the fixes that cut it, with the plan's path counts.
  const cards = await page.evaluate(() => Array.from(document.querySelectorAll(".card.path")).map((c) => ({
    id: c.getAttribute("data-path"), fix: (c.querySelector(".fix") || {}).innerText || "" })));
  let planned = 0;
  for (const card of cards) {
    const cutting = plan.fixes.filter((f) => f[6].indexOf(card.id) >= 0);
    if (cutting.length) {
      planned++;
      assert.match(card.fix, /To break this path/);
      for (const f of cutting) assert.ok(card.fix.includes(`${f[0]}, cuts ${f[6].length} path(s)`), card.fix);
    } else if (plan.remaining.some((r) => r[0] === card.id)) {
      assert.match(card.fix, /Not in the fix plan/);
    }
  }
  assert.ok(planned > 0, "some shown path is cut by the plan");
  // The hops the plan removes are marked on the drawn path, as the plan says.
  const marked = await page.evaluate(() => window.kspm.graphs.map((g, i) => ({
    id: document.querySelectorAll(".card.path")[i].getAttribute("data-path"),
    cut: g.edges().filter((e) => e.data("cut") === "yes").map((e) => Number(e.id().slice(1))) })));
  const cutSteps = plan.cut_steps || {};
  for (const m of marked) assert.deepEqual(m.cut, cutSteps[m.id] || [], m.id);
  assert.ok(marked.some((m) => m.cut.length > 0), "some drawn path shows its cut");
  await clickFirstHop(page);
  const ev = await page.locator(".card.path .evidence").first().innerText();
  assert.match(ev, /Evidence: /, `evidence panel shows: ${ev}`);
  assert.match(ev, /→/);
  // Findings: filter, sort, details.
  await page.click("[data-tab=findings]");
  const total = expect.findings;
  assert.equal(await page.locator("#f-count").innerText(), `${total} of ${total} findings`);
  await page.selectOption("#f-severity", "critical");
  const critical = await page.locator("#f-count").innerText();
  assert.equal(critical, `${expect.critical} of ${total} findings`);
  const sevs = await page.locator("#findings-table tbody tr.finding td:first-child").allInnerTexts();
  assert.ok(sevs.length > 0 && sevs.every((s) => s === "critical"), sevs.join(","));
  await page.selectOption("#f-severity", "");
  await page.fill("#f-text", "privileged");
  const filtered = Number((await page.locator("#f-count").innerText()).split(" ")[0]);
  assert.ok(filtered > 0 && filtered < total, `filtered ${filtered}`);
  const texts = await page.locator("#findings-table tbody tr.finding").allInnerTexts();
  assert.ok(texts.every((t) => /privileged/i.test(t)), "every row matches the search");
  await page.fill("#f-text", "");
  await page.check("#f-path");
  const onPath = Number((await page.locator("#f-count").innerText()).split(" ")[0]);
  assert.equal(onPath, expect.onPath);
  await page.uncheck("#f-path");
  await page.click("#findings-table th[data-col='1']");
  const clusters = await page.locator("#findings-table tbody tr.finding td:nth-child(2)").allInnerTexts();
  assert.deepEqual(clusters, [...clusters].sort(), "sorted by cluster");
  // Paging: forward and back again.
  assert.ok(await page.locator("#f-prev").isDisabled());
  const firstRow = await page.locator("#findings-table tbody tr.finding").first().innerText();
  await page.click("#f-next");
  assert.ok(await page.locator("#f-prev").isEnabled());
  assert.notEqual(await page.locator("#findings-table tbody tr.finding").first().innerText(), firstRow);
  await page.click("#f-prev");
  assert.equal(await page.locator("#findings-table tbody tr.finding").first().innerText(), firstRow);
  await page.locator("#findings-table tbody tr.finding").first().click();
  assert.match(await page.locator("#findings-table tr.detail").first().innerText(), /Evidence:[\s\S]*Remediation:/);
  // Compliance tables.
  await page.click("[data-tab=compliance]");
  assert.ok((await page.locator("table.compliance tbody tr").count()) > 10);
}

const expected = JSON.parse(execFileSync(bin, ["scan", path.join(root, "examples/demo-fleet"), "--format", "json"], { maxBuffer: 1 << 28 }).toString());
const expect = {
  clusters: expected.clusters.length,
  findings: expected.findings.length,
  critical: expected.findings.filter((f) => f.severity === "critical").length,
  onPath: expected.findings.filter((f) => f.on_attack_path).length,
};

const browser = await chromium.launch({ executablePath: browserPath, args: ["--no-sandbox"] });

await test("html report of the demo fleet renders offline and works", async () => {
  const file = path.join(tmp, "report.html");
  execFileSync(bin, ["scan", path.join(root, "examples/demo-fleet"), "--format", "html", "--output", file]);
  const size = fs.statSync(file).size;
  assert.ok(size < 3 * 1024 * 1024, `report is ${size} bytes`);
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const { outside, errors } = guard(page, null);
  await page.goto("file://" + file);
  await checkReport(page, expect);
  // Path filters combine, and the URL keeps them so a view can be shared.
  await page.click("[data-tab=paths]");
  const cluster = (await page.locator("#p-cluster option").allInnerTexts())[1];
  await page.selectOption("#p-cluster", cluster);
  const technique = await page.evaluate((c) => {
    const ps = window.kspm.data.paths.filter((p) => p.cluster === c);
    return ps[0].steps.find((s) => s[2] !== "INCLUDES" && s[2] !== "MEMBER_OF")[2];
  }, cluster);
  await page.selectOption("#p-technique", technique);
  const shownPaths = await page.evaluate(() => Array.from(document.querySelectorAll(".card.path")).map((c) => c.getAttribute("data-path")));
  const wanted = await page.evaluate(([c, t]) => window.kspm.data.paths
    .filter((p) => p.cluster === c && p.steps.some((s) => s[2] === t)).map((p) => p.id), [cluster, technique]);
  assert.ok(shownPaths.length > 0, "the filters leave some path");
  assert.deepEqual(shownPaths, wanted.slice(0, 20));
  assert.match(await page.locator("#p-count").innerText(), new RegExp(`^${wanted.length} of \\d+ attack path`));
  const shared = page.url();
  assert.ok(shared.includes("#paths?cluster=" + encodeURIComponent(cluster)) && shared.includes("technique=" + technique), shared);
  const again = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await again.goto(shared);
  await again.waitForSelector("body[data-ready=true]");
  assert.equal(await again.locator("#p-cluster").inputValue(), cluster);
  assert.equal(await again.locator("#p-technique").inputValue(), technique);
  assert.equal(await again.locator(".card.path").count(), Math.min(20, wanted.length));
  assert.ok(await again.locator("#paths").isVisible(), "the shared view opens on the paths tab");
  await again.close();
  await page.selectOption("#p-cluster", "");
  await page.selectOption("#p-technique", "");
  if (screenshots) {
    for (const [tab, name] of [["overview", "overview"], ["paths", "paths"], ["findings", "findings"]]) {
      await page.click(`[data-tab=${tab}]`);
      if (tab === "findings") await page.selectOption("#f-severity", "high");
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(root, `docs/report-${name}.png`) });
    }
  }
  assert.deepEqual(outside, [], "requests left the machine");
  assert.deepEqual(errors, []);
  await page.close();
});

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function waitFor(fn, what, ms = 30000) {
  const until = Date.now() + ms;
  for (;;) {
    try { if (await fn()) return; } catch { /* not yet */ }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

await test("live view: token, same views, updates on change, drift", async () => {
  const fleet = path.join(tmp, "fleet");
  fs.cpSync(path.join(root, "examples/demo-fleet"), fleet, { recursive: true });
  const [grpc, web] = [await freePort(), await freePort()];
  const token = "browser-test-token";
  const hash = (await import("node:crypto")).createHash("sha256").update(token).digest("hex");
  const config = path.join(tmp, "kspm.toml");
  fs.writeFileSync(config, `[service]\nlisten = "127.0.0.1:${grpc}"\nweb_listen = "127.0.0.1:${web}"\ndatabase_url = "sqlite://${path.join(tmp, "kspm.db")}"\n` +
    `[[tenant]]\nname = "t"\ntoken_sha256 = ["${hash}"]\n[[tenant.target]]\nname = "demo"\npaths = ["${fleet}"]\ninterval = "2s"\n`);
  const server = spawn(bin, ["serve", "--config", config], { stdio: ["ignore", "ignore", "inherit"] });
  try {
    const origin = `http://127.0.0.1:${web}`;
    await waitFor(async () => (await fetch(origin + "/")).ok, "the web view");
    // The API needs the token.
    assert.equal((await fetch(origin + "/api/model")).status, 401);
    assert.equal((await fetch(origin + "/api/model", { headers: { Authorization: "Bearer wrong" } })).status, 401);
    await waitFor(async () => (await (await fetch(origin + "/api/scans", { headers: { Authorization: `Bearer ${token}` } })).json()).length > 0, "a first scan");
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const { outside, errors } = guard(page, origin);
    await page.goto(origin + "/");
    await page.fill("#token", token);
    await page.click("#login button");
    await checkReport(page, expect);
    assert.equal(await page.locator("#login").isVisible(), false, "the token form goes once logged in");
    // A change in the fleet reaches the page through the event stream.
    fs.writeFileSync(path.join(fleet, "eks-prod-us-east-1", "intruder.yaml"),
      "apiVersion: v1\nkind: Pod\nmetadata: {name: intruder, namespace: default}\nspec:\n  containers: [{name: c, image: ghcr.io/x/y:1, securityContext: {privileged: true}}]\n");
    await page.click("[data-tab=findings]");
    await page.waitForFunction((n) => window.kspm.data && window.kspm.data.findings.length > n, expect.findings, { timeout: 30000 });
    await page.click("[data-tab=findings]");
    await page.fill("#f-text", "intruder");
    assert.ok(Number((await page.locator("#f-count").innerText()).split(" ")[0]) > 0);
    // Drift between the first scan and the newest: the intruder's findings were added.
    await page.click("[data-tab=drift]");
    await page.waitForSelector("#d-from");
    const scans = await page.locator("#d-from option").count();
    await page.selectOption("#d-from", { index: scans - 1 });
    await page.selectOption("#d-to", { index: 0 });
    await page.click("#d-go");
    await page.waitForSelector("#drift-result li");
    const drift = await page.locator("#drift-result").innerText();
    assert.match(drift, /Findings added \([1-9]/);
    assert.match(drift, /Pod:default\/intruder/);
    assert.deepEqual(outside, [], "requests left localhost");
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    server.kill("SIGTERM");
  }
});

await browser.close();
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`browser: ${passed} passed, ${failed} failed`);
