// A real MSS server for the Node and browser tests: the CLI's `server` command in a child JVM
// on ephemeral loopback ports, real TLS with its generated certificate, killed with SIGKILL
// when a test wants a crash. Maven passes the classpath (MSS_SERVER_CLASSPATH).
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { mkdtempSync, readFileSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash, X509Certificate } from "node:crypto";
import { until } from "./support.js";

export const API_KEY = "client-js-test-api-key-0123456789";
const TOKEN_SECRET = "client-js-test-token-secret-0123456789-0123456789";

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

export class MssServer {
  static async start(env = {}) {
    const server = new MssServer();
    server.dataDir = mkdtempSync(join(tmpdir(), "mss-js-server-"));
    [server.syncPort, server.httpPort, server.wsPort] = [await freePort(), await freePort(), await freePort()];
    server.env = env;
    await server.boot();
    return server;
  }

  async boot() {
    const classpath = process.env.MSS_SERVER_CLASSPATH;
    if (!classpath) throw new Error("MSS_SERVER_CLASSPATH is not set: run these tests through ./mvnw verify (client-js module)");
    const log = openSync(join(this.dataDir, "server-" + (this.starts = (this.starts ?? 0) + 1) + ".log"), "w");
    this.process = spawn(process.env.MSS_JAVA ?? "java", ["-Xmx512m", "-cp", classpath, "io.mss.cli.Main", "server",
      "--data-dir", join(this.dataDir, "data"), "--bind", "127.0.0.1", "--sync-port", String(this.syncPort),
      "--http-port", String(this.httpPort), "--ws-port", String(this.wsPort)],
      { env: { ...process.env, MSS_API_KEY: API_KEY, MSS_TOKEN_SECRET: TOKEN_SECRET, ...this.env }, stdio: ["ignore", log, log] });
    this.exited = new Promise((resolve) => this.process.once("exit", resolve));
    await until(async () => {
      try { return (await fetch(`http://127.0.0.1:${this.httpPort}/health/live`)).ok; } catch { return false; }
    }, "the server to start (log: " + join(this.dataDir, "server-" + this.starts + ".log") + ")", 90_000);
    this.cert = readFileSync(join(this.dataDir, "data/tls/server.crt"));
  }

  get url() { return `wss://localhost:${this.wsPort}/sync`; }

  /** base64 SHA-256 of the certificate's public key: what Chromium's --ignore-certificate-errors-spki-list pins. */
  get spki() {
    const der = new X509Certificate(this.cert).publicKey.export({ type: "spki", format: "der" });
    return createHash("sha256").update(der).digest("base64");
  }

  async api(method, path, body) {
    const answer = await fetch(`http://127.0.0.1:${this.httpPort}${path}`, { method,
      headers: { authorization: "Bearer " + API_KEY, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: answer.status, body: await answer.json() };
  }

  async bizType(id, fields) {
    const a = await this.api("POST", "/api/v1/biz-types", { id, range: "APPOINTED", target: "USER", ...fields });
    if (a.status !== 201) throw new Error("cannot create " + id + ": " + JSON.stringify(a.body));
  }

  async push(bizType, linkToken, payload) {
    const a = await this.api("POST", linkToken === null ? "/api/v1/push/global" : "/api/v1/push",
      linkToken === null ? { bizType, payload } : { bizType, linkToken, payload });
    if (a.status !== 200) throw new Error("push refused: " + JSON.stringify(a.body));
    return a.body.oplogId;
  }

  async token(deviceId, userId) {
    const a = await this.api("POST", "/api/v1/tokens", { deviceId, userId: userId ?? undefined, ttlSeconds: 600 });
    if (a.status !== 200) throw new Error("no token: " + JSON.stringify(a.body));
    return a.body.token;
  }

  async kill() {
    this.process.kill("SIGKILL");
    await this.exited;
  }

  async restart() {
    await this.boot();
  }

  async stop() {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill("SIGTERM");
      await this.exited;
    }
  }
}
