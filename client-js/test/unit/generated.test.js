// src/gen is committed; this fails when it no longer matches mss.proto (run `npm run generate`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

test("the generated protobuf code is current with protocol/src/main/proto/mss.proto", () => {
  const out = mkdtempSync(join(tmpdir(), "mss-gen-"));
  execFileSync(join(root, "node_modules/.bin/buf"), ["generate", "../protocol/src/main/proto", "--path",
    "../protocol/src/main/proto/mss.proto", "--template",
    "buf.gen.yaml", "--output", out], { cwd: root, env: { ...process.env, PATH: join(root, "node_modules/.bin") + ":"
    + process.env.PATH } });
  assert.equal(readFileSync(join(root, "src/gen/mss_pb.ts"), "utf8"), readFileSync(join(out, "src/gen/mss_pb.ts"), "utf8"),
    "src/gen/mss_pb.ts is stale: run `npm run generate` in client-js");
});

test("the console's copy of the bundle is the one this build made, and it stays within 25 KB gzipped", () => {
  const built = readFileSync(join(root, "dist/mss-client.js"));
  const console = readFileSync(join(root, "../server/src/main/resources/console/sdk/mss-client.js"));
  assert.ok(built.equals(console), "server/src/main/resources/console/sdk/mss-client.js is stale: run `npm run build`");
  const size = JSON.parse(readFileSync(join(root, "dist/size.json"), "utf8"));
  assert.ok(size.gzipped <= 25 * 1024, `bundle is ${size.gzipped} bytes gzipped, over 25 KB`);
});
