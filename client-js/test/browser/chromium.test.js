// The SDK in real headless Chromium (Debian's, driven by playwright-core) against a real server
// over wss://, the server's self-signed certificate pinned by its public key.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { MssServer } from "../mss-server.js";
import { until } from "../support.js";

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
let server, app, evil, browser;

function staticServer(port = 0) {
  const s = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/mss-client.js") {
      res.setHeader("content-type", "text/javascript");
      res.end(readFileSync(join(here, "../../dist/mss-client.js")));
    } else if (url.pathname === "/token") {
      // the app's backend: while the MSS server is down it cannot mint, and says so
      try {
        const token = url.searchParams.get("bad") ? "forged" : await server.token(url.searchParams.get("device"),
          url.searchParams.get("user") || null);
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ token }));
      } catch (e) {
        res.statusCode = 503;
        res.end(JSON.stringify({ error: String(e) }));
      }
    } else {
      res.setHeader("content-type", "text/html");
      res.end(readFileSync(join(here, "page.html")));
    }
  }).listen(port, "127.0.0.1");
  return new Promise((r) => s.once("listening", () => r(s)));
}

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error("the browser tests need Debian's chromium at " + CHROMIUM);
  app = await staticServer();
  evil = await staticServer();
  server = await MssServer.start({ MSS_WS_ALLOWED_ORIGINS: `http://127.0.0.1:${app.address().port}` });
  await server.bizType("ORDER-STATUS");
  await server.bizType("FEED", { rePushMode: "THRESHOLD", rePushThreshold: 5 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu",
    "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--ignore-certificate-errors-spki-list=" + server.spki] });
});
after(async () => { await browser?.close(); await server?.stop(); app?.close(); evil?.close(); });

const pageUrl = (origin, params) => `http://127.0.0.1:${origin.address().port}/?` + new URLSearchParams({ url: server.url, ...params });
const seenAll = (page) => page.evaluate(() => window.seenAll());
async function wsConnections() {
  const text = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
  return Number(/mss_transport_connections\{transport="ws"\} (\S+)/.exec(text)?.[1] ?? 0);
}
const push = (user, n, biz = "ORDER-STATUS") => server.api("POST", "/api/v1/push/batch", { orders:
  Array.from({ length: n }, (_, i) => ({ bizType: biz, linkToken: user, payload: "p" + i })) });

test("pushes made while the page was closed arrive in order when it opens; a reload in 1,000 pushes loses and repeats nothing", async () => {
  const context = await browser.newContext();
  await push("alice", 30);
  const page = await context.newPage();
  await page.goto(pageUrl(app, { device: "web-1", user: "alice", biz: "ORDER-STATUS" }));
  await until(async () => (await seenAll(page)).length === 30, "the backlog", 30_000);
  assert.deepEqual(await seenAll(page), Array.from({ length: 30 }, (_, i) => "alice:ORDER-STATUS:" + (i + 1)));

  const pushing = push("alice", 1000);
  await until(async () => (await seenAll(page)).length > 100, "some of the 1,000", 30_000);
  await page.reload();
  await pushing;
  await until(async () => (await seenAll(page)).length === 1030, "all 1,030", 60_000);
  const all = await seenAll(page);
  assert.deepEqual(all, Array.from({ length: 1030 }, (_, i) => "alice:ORDER-STATUS:" + (i + 1)), "in order, once each");
  await context.close();
});

test("two tabs hold one connection and both show every message once; the leader closed, the other takes over", async () => {
  const context = await browser.newContext();
  const before = await wsConnections();
  const params = { device: "web-2", user: "bob", biz: "ORDER-STATUS" };
  const a = await context.newPage();
  await a.goto(pageUrl(app, params));
  const b = await context.newPage();
  await b.goto(pageUrl(app, params));
  await until(async () => (await a.evaluate(() => window.mss.isLeader())) !== (await b.evaluate(() => window.mss.isLeader())),
    "one leader");
  await push("bob", 10);
  const shown = (p) => p.evaluate(() => window.seenThisPage);
  await until(async () => (await shown(a)).length === 10 && (await shown(b)).length === 10, "both tabs", 30_000);
  assert.equal(await wsConnections() - before, 1, "one connection for two tabs");
  const expected = Array.from({ length: 10 }, (_, i) => "bob:ORDER-STATUS:" + (i + 1));
  assert.deepEqual(await shown(a), expected);
  assert.deepEqual(await shown(b), expected);

  const [leader, other] = (await a.evaluate(() => window.mss.isLeader())) ? [a, b] : [b, a];
  await leader.close();
  await until(() => other.evaluate(() => window.mss.isLeader() && window.mss.isConnected()), "the takeover", 30_000);
  await push("bob", 5);
  const all = Array.from({ length: 15 }, (_, i) => "bob:ORDER-STATUS:" + (i + 1));
  await until(async () => (await shown(other)).length === 15, "after the takeover", 30_000);
  assert.deepEqual(await shown(other), all, "nothing lost, nothing twice");
  await context.close();
});

test("user switch; FULL_UPDATE after threshold trimming", async () => {
  const context = await browser.newContext();
  await push("carol", 2);
  await push("dave", 1);
  await push("dave", 9, "FEED");
  const page = await context.newPage();
  await page.goto(pageUrl(app, { device: "web-3", user: "carol", biz: "ORDER-STATUS,FEED" }));
  await until(async () => (await seenAll(page)).length === 2, "carol's", 30_000);
  await page.evaluate(() => window.mss.updateUserInfo("dave"));
  await until(async () => (await seenAll(page)).length === 8, "dave's", 30_000);
  const seen = await seenAll(page);
  assert.deepEqual(seen.slice(0, 2), ["carol:ORDER-STATUS:1", "carol:ORDER-STATUS:2"]);
  assert.deepEqual(seen.slice(2).filter((s) => s.includes("ORDER")), ["dave:ORDER-STATUS:1"]);
  assert.deepEqual(seen.slice(2).filter((s) => s.includes("FEED")), [5, 6, 7, 8, 9].map((i) => "dave:FEED:" + i));
  assert.ok((await page.evaluate(() => window.events)).includes("fullUpdate:FEED"));
  await context.close();
});

test("the server SIGKILLed and restarted: the page reconnects and loses nothing", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(pageUrl(app, { device: "web-4", user: "erin", biz: "ORDER-STATUS" }));
  await push("erin", 3);
  await until(async () => (await seenAll(page)).length === 3, "before the crash", 30_000);
  await server.kill();
  await server.restart();
  await push("erin", 3);
  await until(async () => (await seenAll(page)).length === 6, "after the restart", 60_000)
    .catch(async (e) => { throw new Error(e.message + " " + JSON.stringify(await page.evaluate(() => window.events))); });
  assert.deepEqual(await seenAll(page), Array.from({ length: 6 }, (_, i) => "erin:ORDER-STATUS:" + (i + 1)));
  await context.close();
});

test("a wrong origin and a bad token are refused", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(pageUrl(evil, { device: "web-5", biz: "ORDER-STATUS" }));
  await until(async () => (await page.evaluate(() => window.events)).some((e) => e.includes("not allowed (ws-allowed-origins)")),
    "the origin refusal", 30_000);
  const bad = await context.newPage();
  await bad.goto(pageUrl(app, { device: "web-6", biz: "ORDER-STATUS", badToken: "1" }));
  await until(async () => (await bad.evaluate(() => window.events)).includes("error:INVALID_TOKEN"), "INVALID_TOKEN", 30_000);
  await context.close();
});

test("the console's device simulator connects with a token from POST /api/v1/tokens and shows messages", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`http://localhost:${server.httpPort}/console/`);
  await page.evaluate((key) => sessionStorage.setItem("mss.apiKey", key), (await import("../mss-server.js")).API_KEY);
  await page.goto(`http://localhost:${server.httpPort}/console/simulator.html`);
  await page.fill("input[name=deviceId]", "sim-1");
  await page.fill("input[name=userId]", "frank");
  await page.fill("input[name=bizTypes]", "ORDER-STATUS");
  await page.click("#connect");
  await page.waitForFunction(() => document.querySelector("#status").textContent.startsWith("Connected"), null, { timeout: 30_000 })
    .catch(async (e) => { throw new Error(e.message + " " + await page.textContent("#status")); });
  await push("frank", 2);
  await page.waitForFunction(() => document.querySelectorAll("#messages tr.message").length === 2, null, { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector("#sync-points tbody").textContent.includes("2"), null, { timeout: 30_000 });
  await context.close();
});
