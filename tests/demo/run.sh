#!/usr/bin/env bash
# `make demo-test` (part of `make test`): the README's `make demo` as a user runs it, on ports of its own.
#   1. `make demo` into a fresh container: the summary shows the https:// URL with status 200, the app answers
#      over HTTPS to a client that trusts only the site's self-signed certificate (the CA the health gate used),
#      and plain HTTP answers 301 to the published HTTPS port, path and query kept;
#   2. `make demo` again with other ports: the container is made again, says so, and publishes the new ports;
#      the old ones answer nothing.
# It removes the demo container (appmount-demo) before and after: do not run it beside a demo you keep.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
name=appmount-demo
apps=$root/tests/demo/apps.yml
tmp=$(mktemp -d "${TMPDIR:-/tmp}/appmount-demotest.XXXXXX")
start=$SECONDS

log() { echo "demo-test: $*"; }
fail() {
  echo "demo-test: FAILED: $*" >&2
  exit 1
}
cleanup() {
  status=$?
  docker rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$tmp"
  log "finished in $((SECONDS - start))s with status $status"
}
trap cleanup EXIT
docker rm -f "$name" >/dev/null 2>&1 || true

# Run `make demo` with these ports; check its summary, HTTPS against the site's certificate, the redirect.
demo() {
  local port=$1 https_port=$2 out=$tmp/demo-$1.txt
  make -C "$root" --no-print-directory demo DEMO_PORT="$port" DEMO_HTTPS_PORT="$https_port" APPS="$apps" \
    </dev/null >"$out" 2>&1 || { tail -40 "$out"; fail "make demo DEMO_PORT=$port DEMO_HTTPS_PORT=$https_port"; }
  grep -E "^  ping +present +200 +https://localhost:$https_port/tools/ping/ +\(plain HTTP: 301\)$" "$out" \
    || { tail -20 "$out"; fail "the summary does not show ping's https URL with 200"; }
  docker exec "$name" cat /etc/ssl/appmount/appmount/fullchain.pem >"$tmp/site.pem"
  body=$(curl -sS --max-time 10 --cacert "$tmp/site.pem" "https://localhost:$https_port/tools/ping/")
  [ "$body" = pong ] || fail "https://localhost:$https_port/tools/ping/ answered '$body'"
  head=$(curl -sS --max-time 10 -o /dev/null -D - "http://127.0.0.1:$port/tools/ping/x?a=1")
  grep -qi "^location: https://127.0.0.1:$https_port/tools/ping/x?a=1" <<<"$head" \
    || fail "plain HTTP on $port does not redirect to HTTPS on $https_port: $head"
}

log "make demo on 18080 and 18443, in a fresh container"
demo 18080 18443
log "make demo on 18081 and 18444: the container is made again with the new ports"
demo 18081 18444
grep -q "appmount-demo publishes '127.0.0.1:18080 127.0.0.1:18443', not '127.0.0.1:18081 127.0.0.1:18444': making it again" \
  "$tmp/demo-18081.txt" || fail "the second make demo did not say that it made the container again"
if curl -s --max-time 5 -o /dev/null "http://127.0.0.1:18080/"; then fail "the old port 18080 still answers"; fi
log "ok"
