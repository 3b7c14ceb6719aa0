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
# for the network and always exits 0. <id> = <epoch ns>-<pid>-<random>-<Event>: the
# glob order of the markers is the order of the hook calls, and <id> is sent as
# x-cco-event-id, the key the server deduplicates on (a redelivery of this file
# is stored once; two identical events are two files, two ids, two rows).
# The spool holds only the hook payload (stdin); nothing from the environment,
# which carries secrets such as ANTHROPIC_API_KEY, is written anywhere.
# Env overrides: CCO_HOOK_URL, CCO_SPOOL_DIR. CCO_MANAGED_RUN=1 (runs started by the
# orchestrator's runner, which records them itself) drops the event.
# Exit codes of --flush: 0 queue empty, 3 events left (server down or failing).

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
Q=$spool/queue; D=$spool/dead; LF=$spool/worker.lock
# The hook token (`cco hooks install` writes DIR/token, mode 0600, as an
# "authorization: Bearer ..." header line): curl reads it with -H @file, so the
# token is never on a command line (visible to other users in ps). No file, no header.
case $spool in /*) TOK=$spool/token ;; *) TOK=$PWD/$spool/token ;; esac
[ -r "$TOK" ] || TOK=/dev/null
# Tries before a failing event may be set aside (see deliver_all).
MAX_TRIES=3; MAX_HELD=3
# One batch request carries at most this many events and bytes of payload (the
# server takes up to 500 events and BODY_LIMIT_BYTES, 5 MB by default).
BATCH_MAX=100; BATCH_BYTES=1000000
# Set once the server turned a batch down as a whole with 400/404 (a server older
# than POST /api/hooks/batch): this worker then sends one event per request.
nobatch=''

start_worker() {
  # Detached (own session, no inherited pipes) so Claude Code neither waits for it
  # nor kills it when the run ends.
  if command -v setsid >/dev/null 2>&1; then
    setsid sh "$0" --url "$url" --spool "$spool" --deliver </dev/null >/dev/null 2>&1 &
  else
    nohup sh "$0" --url "$url" --spool "$spool" --deliver </dev/null >/dev/null 2>&1 &
  fi
}

# Who a process is: its pid, this boot's id and its start time (clock ticks since
# boot, /proc/PID/stat field 22), all read with shell builtins. A pid alone is
# reused; pid + boot + start time names one process for good.
boot=''
[ -r /proc/sys/kernel/random/boot_id ] && read -r boot </proc/sys/kernel/random/boot_id
start_of() {
  pstart=''; st=''
  [ -r "/proc/$1/stat" ] && read -r st <"/proc/$1/stat" 2>/dev/null
  [ -n "$st" ] || return 1
  set -- ${st##*) }
  [ $# -ge 20 ] || return 1
  shift 19
  pstart=$1
}

# Is "$1 $2 $3" (from the lock: pid, boot id, start time) a live worker? On Linux
# the start time must match, so a pid reused by another process (which USR1 would
# kill) is never taken for the worker; elsewhere only the pid can be checked.
is_worker() {
  [ -n "$1" ] || return 1
  kill -0 "$1" 2>/dev/null || return 1
  [ "$boot" = "$2" ] || return 1
  [ -r "/proc/$1/stat" ] || return 0
  start_of "$1" && [ -n "$3" ] && [ "$pstart" = "$3" ]
}

# The worker lock is a file holding "<pid> <boot> <start>". It is created whole:
# written under a private name, then hard-linked to worker.lock (link(2) fails if
# the name exists), so there is no moment at which the lock exists without its
# owner, whatever point a worker is killed at. A lock whose owner is not a live
# worker is stale: it is renamed away (atomic: one taker wins) and checked to be
# the one judged stale before it is deleted; a fresh lock moved by mistake in a
# race is linked back.
take_lock() {
  start_of $$
  tmp=$LF.$$
  echo "$$ $boot $pstart" >"$tmp" || return 1
  tries=0
  while [ "$tries" -lt 3 ]; do
    tries=$((tries + 1))
    if ln "$tmp" "$LF" 2>/dev/null; then rm -f "$tmp"; return 0; fi
    wpid=''; wboot=''; wstart=''
    read -r wpid wboot wstart <"$LF" 2>/dev/null || [ -e "$LF" ] || continue
    if is_worker "$wpid" "$wboot" "$wstart"; then rm -f "$tmp"; return 1; fi
    mv "$LF" "$LF.stale.$$" 2>/dev/null || continue
    s1=''; s2=''; s3=''
    read -r s1 s2 s3 <"$LF.stale.$$" 2>/dev/null
    if [ "$s1 $s2 $s3" != "$wpid $wboot $wstart" ]; then
      ln "$LF.stale.$$" "$LF" 2>/dev/null; rm -f "$LF.stale.$$" "$tmp"; return 1
    fi
    rm -f "$LF.stale.$$"
    log "took over the lock of a dead worker (pid ${wpid:-none})"
  done
  rm -f "$tmp"; return 1
}
unlock() {
  p=''; read -r p _ <"$LF" 2>/dev/null
  [ "$p" = "$$" ] && rm -f "$LF"
}

# Starts a worker, or wakes the running one so it retries now. A lock whose owner
# is gone is left to the new worker, which takes it over.
kick() {
  wpid=''; wboot=''; wstart=''
  if [ -f "$LF" ] && read -r wpid wboot wstart <"$LF" 2>/dev/null && is_worker "$wpid" "$wboot" "$wstart"; then
    kill -USR1 "$wpid" 2>/dev/null && return 0
  fi
  start_worker
}

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$spool/deliver.log" 2>/dev/null; }

# Moves event $1 to dead/ with its reason beside it: "<answer>, <n> tries" and the
# start of the server's last answer body.
bury() {
  mkdir -p "$D" || return 1
  n=0; what='no answer'
  [ -f "$Q/$1.tries" ] && read -r n what <"$Q/$1.tries"
  t=tries; [ "$n" = 1 ] && t=try
  { echo "$what, $n $t"; [ -f "$Q/$1.last" ] && dd if="$Q/$1.last" bs=2048 count=1 2>/dev/null; echo; } >"$D/$1.reason"
  mv -f "$Q/$1.json" "$D/" 2>/dev/null
  rm -f "$Q/$1.ok" "$Q/$1.tries" "$Q/$1.last"
  log "dead-lettered $1: $what, $n $t"
}

# POSTs queued event $1; sets code (HTTP status, 000 for none) and counts a failed
# try in $1.tries ("<n> <what>"); the answer body is kept in $1.last. Returns 0 on 2xx.
send() {
  code=$(curl -sS -o "$Q/$1.last" -w '%{http_code}' --connect-timeout 2 -m 15 \
    -H 'content-type: application/json' -H "x-cco-event-id: $1" -H "@$TOK" \
    --data-binary "@$Q/$1.json" "$url/api/hooks/${1##*-}" 2>/dev/null)
  rc=$?
  case $code in
    2??) rm -f "$Q/$1.json" "$Q/$1.ok" "$Q/$1.tries" "$Q/$1.last"; return 0 ;;
    ''|000) what="no answer (curl exit $rc)" ;;
    *) what="http $code" ;;
  esac
  n=0; [ -f "$Q/$1.tries" ] && read -r n _ <"$Q/$1.tries"
  n=$((n + 1)); echo "$n $what" >"$Q/$1.tries"
  return 1
}

# Sends the oldest queued events (markers in $@, up to BATCH_MAX events and
# BATCH_BYTES of payload, stopping at an empty payload) in one POST to
# /api/hooks/batch, and acts on the line the server answers per event (asked
# with accept: text/plain: "<id> <status>[ <code> <message>]"): stored,
# duplicate or ignored -> removed; refused -> dead-lettered, as a 400 alone is.
# Status: 0 answered; 1 failed as a whole (no answer, non-2xx, none of our ids
# in the answer: the caller sends one event per request this pass); 2 no batch
# route (400/404); 3 only the oldest event fits (it is over BATCH_BYTES with the
# next, or the next is empty; or it is empty): it goes alone, then batches again.
# A subshell, so the cd into the queue (file names without spaces, whatever the
# spool path) stays here; it forks once per batch.
send_batch() (
  case $spool in /*) ;; *) spool=$PWD/$spool; Q=$spool/queue; D=$spool/dead ;; esac
  B=$spool/batch
  { [ -d "$B" ] || mkdir -p "$B"; } 2>/dev/null && cd "$Q" 2>/dev/null || exit 1
  names=''; k=0
  for m in "$@"; do
    [ "$k" -lt "$BATCH_MAX" ] || break
    id=${m##*/}; id=${id%.ok}
    # Our names are [0-9a-f-] plus the event; anything else ends the batch (order is kept).
    case $id in *[!A-Za-z0-9-]*|'') break ;; esac
    names="$names $id.json"; k=$((k + 1))
  done
  [ "$k" -ge 2 ] || exit 1
  # One wc for all the sizes; a file delivered meanwhile by a flush is left out.
  wc -c $names >"$B/sizes" 2>/dev/null
  set --; bytes=0; k=0; sep='{"events":['
  while read -r sz f; do
    case $f in *.json) ;; *) continue ;; esac
    [ "$sz" -gt 0 ] || break
    [ "$k" -gt 0 ] && [ $((bytes + sz)) -gt "$BATCH_BYTES" ] && break
    id=${f%.json}
    # The wrapper around each payload is written by printf (a builtin) and joined
    # with the payloads by one cat, so building a batch starts two processes.
    printf '%s{"event":"%s","id":"%s","payload":' "$sep" "${id##*-}" "$id" >"$B/h$k" || exit 1
    set -- "$@" "$B/h$k" "$f"
    sep='},'; k=$((k + 1)); bytes=$((bytes + sz))
  done <"$B/sizes"
  [ "$k" -ge 2 ] || exit 3
  printf '}]}' >"$B/tail" && cat "$@" "$B/tail" >"$B/body" 2>/dev/null || exit 1
  code=$(curl -sS -o "$B/answer" -w '%{http_code}' --connect-timeout 2 -m 30 \
    -H 'content-type: application/json' -H 'accept: text/plain' -H "@$TOK" \
    --data-binary "@$B/body" "$url/api/hooks/batch" 2>/dev/null)
  # The payloads stay in their queue files only (emptied by a builtin, no process).
  : >"$B/body"
  case $code in
    200) ;;
    400|404) exit 2 ;;
    *) exit 1 ;;
  esac
  answered=''
  while read -r rid st rcode rmsg; do
    case $rid in *[!A-Za-z0-9-]*|'') continue ;; esac
    [ -e "$rid.json" ] || continue
    case $st in
      stored|duplicate|ignored) rm -f "$rid.json" "$rid.ok" "$rid.tries" "$rid.last"; answered=1 ;;
      refused)
        n=0; [ -f "$rid.tries" ] && read -r n _ <"$rid.tries"
        echo "$((n + 1)) refused in a batch: $rcode" >"$rid.tries"
        printf '%s\n' "$rmsg" >"$rid.last"
        bury "$rid"; answered=1 ;;
    esac
  done <"$B/answer"
  [ -n "$answered" ] || exit 1
  exit 0
)

# Sends queued events oldest first; returns 0 when the queue is empty, 1 to back off.
# - several queued: up to BATCH_MAX in one request (send_batch); if that request
#   fails as a whole, this pass falls back to one event per request, below.
# - 2xx: delivered.
# - 400/413/415/422: the server will never take this payload: dead-lettered at once.
# - server unreachable (no connection): back off; nothing is held (see below).
# - anything else (other 4xx, 408, 429, 5xx, no answer): retried in place, so nothing
#   overtakes it, for MAX_TRIES tries. Past that the event is held and the next one
#   is tried. If the server accepts a later event, each held one gets one more try
#   and, failing again, is dead-lettered: it fails for its own sake. If no later
#   event is accepted, the server is failing for everyone: back off with nothing set
#   aside (an outage never empties the queue into dead/).
deliver_all() {
  while :; do
    set -- "$Q"/*.ok
    [ -e "$1" ] || return 0
    alone=''
    if [ $# -gt 1 ] && [ -z "$nobatch" ]; then
      send_batch "$@"
      case $? in
        0) continue ;;
        2) nobatch=1; log "$url has no batch route (POST /api/hooks/batch): one event per request" ;;
        3) alone=1 ;;
      esac
    fi
    held=''; nheld=0
    for m in "$@"; do
      id=${m##*/}; id=${id%.ok}
      # Delivered by a concurrent flush or worker meanwhile: drop the marker.
      [ -e "$Q/$id.json" ] || { rm -f "$m" "$Q/$id.tries" "$Q/$id.last"; continue; }
      if send "$id"; then
        for h in $held; do [ -e "$Q/$h.json" ] && { send "$h" || bury "$h"; }; done
        held=''; nheld=0
        # The oldest went alone because it was too big for a batch: batch the rest.
        [ -z "$alone" ] || continue 2
        continue
      fi
      [ -e "$Q/$id.json" ] || { rm -f "$m" "$Q/$id.tries" "$Q/$id.last"; continue; }
      case $code in 400|413|415|422) bury "$id"; [ -z "$alone" ] || continue 2; continue ;; esac
      # Not even connected (curl 6: no such host, 7: refused): nothing was sent, so the
      # event cannot be at fault. Holding it would let a later event overtake it the
      # moment the server came back within this pass.
      case $rc in 6|7) return 1 ;; esac
      [ "$n" -ge "$MAX_TRIES" ] && [ "$nheld" -lt "$MAX_HELD" ] || return 1
      held="$held $id"; nheld=$((nheld + 1))
    done
    [ -z "$held" ] || return 1
  done
}

case $mode in
  hook)
    [ "${CCO_MANAGED_RUN:-}" = 1 ] && exit 0
    case $event in *[!A-Za-z]*|'') event=Unknown ;; esac
    # bash has the clock built in (EPOCHREALTIME, microseconds); dash needs date(1).
    now=${EPOCHREALTIME:-}
    case $now in *.*) now=${now%.*}${now#*.}000 ;; *) now=$(date +%s%N) ;; esac
    # The random part keeps ids of different machines apart: the kernel's fresh
    # UUID (a builtin read) where there is one, else bash's $SRANDOM/$RANDOM.
    rnd=''
    [ -r /proc/sys/kernel/random/uuid ] && read -r rnd </proc/sys/kernel/random/uuid
    rnd=${rnd##*-}
    [ -n "$rnd" ] || rnd=${SRANDOM:-${RANDOM:-0}}
    name="$now-$$-$rnd-$event"
    if { [ -d "$Q" ] || mkdir -p "$Q" 2>/dev/null; } && cat >"$Q/$name.json" && : >"$Q/$name.ok"; then
      kick
    else
      # No spool (read-only home?): one direct attempt is better than nothing.
      rm -f "$Q/$name.json" 2>/dev/null
      curl -s -o /dev/null -m 2 -H 'content-type: application/json' -H "x-cco-event-id: $name" -H "@$TOK" \
        --data-binary @- "$url/api/hooks/$event" >/dev/null 2>&1
    fi
    exit 0 ;;
  flush)
    mkdir -p "$Q" || exit 2
    # Take the worker lock when it is free so hooks do not start a second sender
    # meanwhile; if a worker holds it, deliver anyway (the server drops redeliveries
    # by event id).
    trap ':' USR1
    if take_lock; then
      trap 'unlock; exit 3' TERM INT HUP
      deliver_all; rc=$?
      unlock
      # A hook that found our lock only poked us: hand what is left to a worker.
      set -- "$Q"/*.ok
      [ -e "$1" ] && start_worker
    else
      deliver_all; rc=$?
    fi
    [ "$rc" = 0 ] && exit 0
    exit 3 ;;
  deliver)
    # Traps first: a hook may send USR1 as soon as the lock names us.
    delay=1; failing_since=''; sleeper=''
    trap 'poked=1; [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null' USR1
    take_lock || exit 0       # another worker is delivering
    trap 'unlock; [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null; exit 0' TERM INT HUP
    while :; do
      poked=0
      if deliver_all; then
        unlock
        # An event queued after the last listing but before the unlock would wait
        # for the next hook call: look again, and take the lock back if needed.
        set -- "$Q"/*.ok
        [ -e "$1" ] || exit 0
        take_lock || exit 0
        delay=1; failing_since=''
        continue
      fi
      now=$(date +%s)
      [ -n "$failing_since" ] || { failing_since=$now; log "delivery to $url failing; events stay queued"; }
      # Give up after 10 minutes; the next hook call or `cco hooks flush` starts again.
      if [ $((now - failing_since)) -ge 600 ]; then unlock; exit 0; fi
      sleep "$delay" & sleeper=$!
      wait "$sleeper" 2>/dev/null; sleeper=''
      [ "$poked" = 1 ] && delay=1 || { delay=$((delay * 2)); [ "$delay" -gt 4 ] && delay=4; }
    done ;;
esac
exit 0
