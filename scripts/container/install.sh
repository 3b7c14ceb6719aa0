#!/bin/sh
# Every install step of the container image, in one place: the Dockerfile runs these steps,
# and CI runs the same ones on a clean folder (test/package/), so the image's recipe is tested
# on machines without a Docker engine.
#
#   install.sh system                 OS packages the server needs at run time (Debian: git for
#                                     workspaces, tini as PID 1 to reap Claude Code's children,
#                                     util-linux for setpriv, ca-certificates for HTTPS clones,
#                                     bubblewrap to isolate each session's turns: ISOLATION)
#   install.sh build SRC OUT          in a copy of the repository: install every dependency from
#                                     the lock file, compile, and pack OUT/claude-code-orchestrator.tgz
#   install.sh package TGZ PREFIX     install the packed tarball with production dependencies only
#                                     into PREFIX (cco lands in PREFIX/bin)
#   install.sh user NAME HOME         create the unprivileged user the server runs as
set -eu

step=${1:-}
case "$step" in
  system)
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends git tini util-linux ca-certificates bubblewrap >/dev/null
    rm -rf /var/lib/apt/lists/*
    ;;
  build)
    src=$2 out=$3
    cd "$src"
    npm ci --no-fund --no-audit
    npm run build
    mkdir -p "$out"
    tgz=$(npm pack --silent --pack-destination "$out" | tail -1)
    mv "$out/$tgz" "$out/claude-code-orchestrator.tgz"
    ;;
  package)
    tgz=$2 prefix=$3
    npm install --global --prefix "$prefix" --omit=dev --no-fund --no-audit "$tgz"
    "$prefix/bin/cco" --version >/dev/null
    # npm does not run install scripts on global installs: complete the embedded PostgreSQL's
    # library symlinks now, while the install folder is writable (the server runs as another user).
    node --input-type=module -e "const m = await import('$prefix/lib/node_modules/claude-code-orchestrator/dist/db/embedded-postgres.js'); console.log('embedded PostgreSQL:', await m.prepareEmbeddedBinaries());"
    ;;
  user)
    name=$2 home=$3
    id "$name" >/dev/null 2>&1 || useradd --create-home --home-dir "$home" --shell /bin/sh "$name"
    ;;
  *)
    echo "usage: install.sh system | build SRC OUT | package TGZ PREFIX | user NAME HOME" >&2
    exit 2
    ;;
esac
