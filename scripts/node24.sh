# Source this file (`. scripts/node24.sh`) to put Node.js 24 first on PATH when the machine's
# Node.js is older than 22.12. Node 24 comes from the npm registry (the node-linux-<arch>
# package, about 50 MB, a few seconds) and is cached in ~/.cache/cco-node between runs.
# npm itself is the machine's; it runs on whichever node is first on PATH.
cco_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}
if ! cco_node_ok; then
  cco_arch=$(uname -m)
  case "$cco_arch" in x86_64) cco_arch=x64 ;; aarch64) cco_arch=arm64 ;; esac
  cco_cache="${CCO_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cco-node}"
  cco_node_dir="$cco_cache/node-24-linux-$cco_arch"
  if [ ! -x "$cco_node_dir/bin/node" ]; then
    cco_tmp=$(mktemp -d)
    echo "node24.sh: fetching Node.js 24 (npm package node-linux-$cco_arch@24) into $cco_node_dir" >&2
    if (cd "$cco_tmp" && npm pack --silent "node-linux-$cco_arch@24" >/dev/null && tar xzf node-linux-*.tgz) \
      && mkdir -p "$cco_cache" && rm -rf "$cco_node_dir" && mv "$cco_tmp/package" "$cco_node_dir"; then
      :
    else
      echo "node24.sh: could not fetch Node.js 24 from the npm registry" >&2
    fi
    rm -rf "$cco_tmp"
  fi
  if [ -x "$cco_node_dir/bin/node" ]; then
    PATH="$cco_node_dir/bin:$PATH"
    export PATH
    hash -r 2>/dev/null || true
  fi
  unset cco_arch cco_cache cco_node_dir cco_tmp
fi
unset -f cco_node_ok
