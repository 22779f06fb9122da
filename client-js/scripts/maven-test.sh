#!/usr/bin/env bash
# What ./mvnw verify runs for client-js: npm ci, the build, and every test (unit, Node against a
# real server, headless Chromium against a real server). Fails in one line when a tool is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v node >/dev/null && command -v npm >/dev/null \
  || { echo "client-js: Node.js 20+ and npm are required (apt-get install -y nodejs npm)" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || { echo "client-js: Node.js 20 or newer is required, found $(node --version)" >&2; exit 1; }
[ -x /usr/bin/chromium ] \
  || { echo "client-js: the browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
npm test
