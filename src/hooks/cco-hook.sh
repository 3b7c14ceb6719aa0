#!/bin/sh
# cco-hook: the command Claude Code's hooks run (installed by `cco hooks install`).
#
#   cco-hook.sh --url URL --spool DIR EVENT      hook mode: stdin JSON -> spool, start delivery, exit 0
#   cco-hook.sh --url URL --spool DIR --deliver  background worker (started by hook mode)
#   cco-hook.sh --url URL --spool DIR --flush    deliver in the foreground once (`cco hooks flush`)
#
# Why a POSIX sh script: it must add only a few ms to every tool call, and a Node
# start costs 40+ ms. Hook mode only writes the payload to DIR/queue/<id>.json,
# then an empty <id>.ok marker (a shell redirection, no extra process) that tells
# the worker the payload is whole, and starts or wakes the worker; it never waits
# for the network and always exits 0. <id> = <epoch ns>-<pid>-<Event>: the glob
# order of the markers is the order of the hook calls.
# The spool holds only the hook payload (stdin); nothing from the environment,
# which carries secrets such as ANTHROPIC_API_KEY, is written anywhere.
# Env overrides: CCO_HOOK_URL, CCO_SPOOL_DIR. CCO_MANAGED_RUN=1 (runs started by the
# orchestrator's runner, which records them itself) drops the event.
# Exit codes of --flush: 0 queue empty, 3 events left (server down or answering 5xx).

# Payloads hold tool inputs and outputs: the spool is readable by its owner only.
umask 077
url=''; spool=''; mode=hook; event=''
while [ $# -gt 0 ]; do
  case $1 in
    --url) url=$2; shift 2 ;;
    --spool) spool=$2; shift 2 ;;
    --deliver) mode=deliver; shift ;;
    --flush) mode=flush; shift ;;
    *) event=$1; shift ;;
  esac
done
[ -n "${CCO_HOOK_URL:-}" ] && url=$CCO_HOOK_URL
[ -n "${CCO_SPOOL_DIR:-}" ] && spool=$CCO_SPOOL_DIR
[ -n "$spool" ] || spool="${HOME:-/tmp}/.claude-code-orchestrator/spool"
url=${url%/}
Q=$spool/queue; L=$spool/lock

start_worker() {
  # Detached (own session, no inherited pipes) so Claude Code neither waits for it
  # nor kills it when the run ends.
  if command -v setsid >/dev/null 2>&1; then
    setsid sh "$0" --url "$url" --spool "$spool" --deliver </dev/null >/dev/null 2>&1 &
  else
    nohup sh "$0" --url "$url" --spool "$spool" --deliver </dev/null >/dev/null 2>&1 &
  fi
}

boot=''
[ -r /proc/sys/kernel/random/boot_id ] && read -r boot </proc/sys/kernel/random/boot_id

# Is $1 (from lock/pid, written with the boot id $2) still our worker? A lock can
# outlive its worker (SIGKILL, reboot) and the pid be reused by another process,
# which USR1 would kill: check the boot and that the process is a shell (Linux).
is_worker() {
  kill -0 "$1" 2>/dev/null || return 1
  [ "$boot" = "$2" ] || return 1
  [ -r "/proc/$1/stat" ] || return 0
  read -r st <"/proc/$1/stat" || return 1
  case $st in *'(sh)'*|*'(dash)'*|*'(bash)'*) return 0 ;; esac
  return 1
}

# Starts a worker, or wakes the running one so it retries now; a lock left by a
# dead worker is moved aside (rename is atomic: one caller wins).
kick() {
  if [ -d "$L" ]; then
    wpid=''; wboot=''
    [ -f "$L/pid" ] && read -r wpid wboot <"$L/pid" 2>/dev/null
    [ -n "$wpid" ] || return 0   # a worker is starting right now; it lists the queue after locking
    is_worker "$wpid" "$wboot" && kill -USR1 "$wpid" 2>/dev/null && return 0
    mv "$L" "$L.stale.$$" 2>/dev/null && rm -rf "$L.stale.$$"
  fi
  start_worker
}

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$spool/deliver.log" 2>/dev/null; }

# Sends queued events oldest first. Returns 0 when the queue is empty, 1 when the
# server is unreachable or answers 5xx/404/408/429 (the event stays queued, order kept).
deliver_all() {
  while :; do
    set -- "$Q"/*.ok
    [ -e "$1" ] || return 0
    for m in "$@"; do
      id=${m##*/}; id=${id%.ok}; f=$Q/$id.json; ev=${id##*-}
      # Delivered by a concurrent flush or worker meanwhile: drop the marker.
      [ -e "$f" ] || { rm -f "$m"; continue; }
      code=$(curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 2 -m 15 \
        -H 'content-type: application/json' -H "x-cco-event-id: $id" \
        --data-binary "@$f" "$url/api/hooks/$ev" 2>/dev/null)
      case $code in
        2??) rm -f "$f" "$m" ;;
        400|413|415|422)
          # The server will never accept this one: keep it for inspection, unblock the rest.
          mkdir -p "$spool/rejected" && mv -f "$f" "$spool/rejected/" 2>/dev/null; rm -f "$m"
          log "rejected $id.json http $code" ;;
        *) [ -e "$f" ] || { rm -f "$m"; continue; }; return 1 ;;
      esac
    done
  done
}

case $mode in
  hook)
    [ "${CCO_MANAGED_RUN:-}" = 1 ] && exit 0
    case $event in *[!A-Za-z]*|'') event=Unknown ;; esac
    # bash has the clock built in (EPOCHREALTIME, microseconds); dash needs date(1).
    now=${EPOCHREALTIME:-}
    case $now in *.*) now=${now%.*}${now#*.}000 ;; *) now=$(date +%s%N) ;; esac
    name="$now-$$-$event"
    if { [ -d "$Q" ] || mkdir -p "$Q" 2>/dev/null; } && cat >"$Q/$name.json" && : >"$Q/$name.ok"; then
      kick
    else
      # No spool (read-only home?): one direct attempt is better than nothing.
      rm -f "$Q/$name.json" 2>/dev/null
      curl -s -o /dev/null -m 2 -H 'content-type: application/json' -H "x-cco-event-id: $name" \
        --data-binary @- "$url/api/hooks/$event" >/dev/null 2>&1
    fi
    exit 0 ;;
  flush)
    mkdir -p "$Q" || exit 2
    # Take the worker lock when it is free so hooks do not start a second sender
    # meanwhile; if a worker holds it, deliver anyway (the server drops duplicates).
    trap ':' USR1
    if mkdir "$L" 2>/dev/null; then
      trap 'rm -rf "$L"; exit 3' TERM INT HUP
      echo "$$ $boot" >"$L/pid"
      deliver_all; rc=$?
      rm -rf "$L"
      # A hook that found our lock only poked us: hand what is left to a worker.
      set -- "$Q"/*.ok
      [ -e "$1" ] && start_worker
    else
      deliver_all; rc=$?
    fi
    [ "$rc" = 0 ] && exit 0
    exit 3 ;;
  deliver)
    # Traps first: a hook may send USR1 as soon as the pid file exists.
    delay=1; failing_since=''; sleeper=''
    trap 'poked=1; [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null' USR1
    mkdir "$L" 2>/dev/null || exit 0       # another worker is delivering
    trap 'rm -rf "$L"; [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null; exit 0' TERM INT HUP
    echo "$$ $boot" >"$L/pid"
    while :; do
      poked=0
      if deliver_all; then
        rm -rf "$L"
        # An event queued after the last listing but before the unlock would wait
        # for the next hook call: look again, and take the lock back if needed.
        set -- "$Q"/*.ok
        [ -e "$1" ] || exit 0
        mkdir "$L" 2>/dev/null || exit 0
        echo "$$ $boot" >"$L/pid"
        delay=1; failing_since=''
        continue
      fi
      now=$(date +%s)
      [ -n "$failing_since" ] || { failing_since=$now; log "server unreachable at $url; events stay queued"; }
      # Give up after 10 minutes; the next hook call or `cco hooks flush` starts again.
      if [ $((now - failing_since)) -ge 600 ]; then rm -rf "$L"; exit 0; fi
      sleep "$delay" & sleeper=$!
      wait "$sleeper" 2>/dev/null; sleeper=''
      [ "$poked" = 1 ] && delay=1 || { delay=$((delay * 2)); [ "$delay" -gt 4 ] && delay=4; }
    done ;;
esac
exit 0
