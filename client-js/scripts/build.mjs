// Builds the package: type declarations (tsc), the ESM bundle for browsers and bundlers
// (dist/mss-client.js, protobuf runtime included, minified), the Node entry with FileStorage
// (dist/node.js), and copies the bundle to the console, whose device simulator loads it.
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.json")],
  { stdio: "inherit" });
const common = { bundle: true, format: "esm", target: "es2020", minify: true, legalComments: "none", logLevel: "warning" };
await esbuild.build({ ...common, entryPoints: [join(root, "src/index.ts")], outfile: join(root, "dist/mss-client.js") });
await esbuild.build({ ...common, platform: "node", entryPoints: [join(root, "src/node.ts")],
  outfile: join(root, "dist/node.js") });
// the generated messages on their own, for tests that play the server's side
await esbuild.build({ ...common, minify: false, platform: "node", entryPoints: [join(root, "src/gen/mss_pb.ts")],
  outfile: join(root, "dist/proto.js") });
const bundle = readFileSync(join(root, "dist/mss-client.js"));
const size = { minified: bundle.length, gzipped: gzipSync(bundle, { level: 9 }).length };
writeFileSync(join(root, "dist/size.json"), JSON.stringify(size) + "\n");
console.log(`dist/mss-client.js: ${size.minified} bytes minified, ${size.gzipped} bytes gzipped`);
copyFileSync(join(root, "dist/mss-client.js"), join(root, "../server/src/main/resources/console/sdk/mss-client.js"));
