# Claude Code Orchestrator: API, dashboard and runner in one image.
#   docker build -t claude-code-orchestrator .
#   docker run -p 3000:3000 -v cco-data:/data --env-file .env claude-code-orchestrator
# Every install step lives in scripts/container/install.sh, which CI runs on a clean folder.

# Stage 1: compile the server and the dashboard, pack the npm tarball.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN sh scripts/container/install.sh build /src /out

# Stage 2: the tarball with production dependencies only (Claude Code ships inside
# @anthropic-ai/claude-agent-sdk), git for workspaces, tini as PID 1 to reap Claude Code's children,
# bubblewrap to isolate sessions (ISOLATION). Docker's default seccomp profile may refuse the
# namespaces bwrap needs; the server then says at start (and `cco doctor` says) that it runs unisolated.
FROM node:24-bookworm-slim
COPY scripts/container/install.sh /usr/local/lib/cco-install.sh
COPY --from=build /out/claude-code-orchestrator.tgz /tmp/claude-code-orchestrator.tgz
RUN sh /usr/local/lib/cco-install.sh system \
 && sh /usr/local/lib/cco-install.sh package /tmp/claude-code-orchestrator.tgz /usr/local \
 && sh /usr/local/lib/cco-install.sh user cco /home/cco \
 && rm /tmp/claude-code-orchestrator.tgz \
 && mkdir -p /data && chown cco:cco /data

# Sessions, the embedded database, workspaces and Claude Code's transcripts (so sessions
# resume after the container is replaced) all live on the /data volume.
ENV HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    WORKSPACES_DIR=/data/workspaces \
    CLAUDE_CONFIG_DIR=/data/claude \
    CCO_HOME=/data/cco-home
USER cco
WORKDIR /home/cco
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["cco", "serve"]
