#!/usr/bin/env bash
# `make package-test`: the collection as a user gets it.
#   1. ansible-galaxy collection build into a temporary directory; the tarball must hold roles/,
#      playbooks/site.yml and plugins/, and none of the development files (galaxy.yml build_ignore);
#   2. ansible-galaxy collection install of that tarball into an empty collections path;
#   3. from a working directory outside the checkout (its ansible.cfg and .collections/ unused; only
#      the installed copy on ANSIBLE_COLLECTIONS_PATH, community.docker from the ansible package),
#      `ansible-playbook appmount.wsgi.site` deploys examples/apps.yml into a fresh Debian 12
#      container, appmount-pkgtest, started like the demo container (systemd as PID 1, no port);
#   4. every example app answers 200 through nginx inside the container.
# The container and the temporary directory are removed at the end, whatever happens.
# Env: PKGTEST_NAME   container name (default appmount-pkgtest)
#      PKGTEST_KEEP=1 keep the container and the temporary directory for a look afterwards
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
venv=$root/.venv/bin
name=${PKGTEST_NAME:-appmount-pkgtest}
image=appmount-test/debian:12
label=appmount.pkgtest
paths=(/blog/ /notes/ /tools/ping/)
start=$SECONDS
created=false

log() { echo "package-test: $*"; }
fail() {
  echo "package-test: FAILED: $*" >&2
  exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/appmount-pkgtest.XXXXXX")
cleanup() {
  status=$?
  if [ "${PKGTEST_KEEP:-}" = 1 ]; then
    log "kept container $name and $tmp"
  else
    if [ "$created" = true ]; then docker rm -f "$name" >/dev/null 2>&1 || true; fi
    rm -rf "$tmp"
  fi
  log "finished in $((SECONDS - start))s with status $status"
}
trap cleanup EXIT

# Nothing of the checkout's configuration may leak into the run (make exports ANSIBLE_CONFIG):
# every ansible command runs in a working directory outside the checkout, with an empty
# ansible.cfg there (so no other configuration file is read) and only the new collections path.
unset ANSIBLE_COLLECTIONS_PATHS ANSIBLE_ROLES_PATH ANSIBLE_INVENTORY
collections=$tmp/collections
mkdir -p "$collections" "$tmp/work"
cd "$tmp/work"
printf '[defaults]\n' >ansible.cfg
export ANSIBLE_CONFIG=$tmp/work/ansible.cfg ANSIBLE_COLLECTIONS_PATH=$collections

# 1. Build.
log "ansible-galaxy collection build"
"$venv/ansible-galaxy" collection build "$root" --output-path "$tmp/build" </dev/null >/dev/null
tarballs=("$tmp"/build/appmount-wsgi-*.tar.gz)
[ "${#tarballs[@]}" -eq 1 ] && [ -f "${tarballs[0]}" ] || fail "expected one tarball in $tmp/build"
tarball=${tarballs[0]}
tar -tzf "$tarball" | sed 's|^\./||; s|/$||' | sort >"$tmp/contents.txt"
for unwanted in tests molecule .ci scripts .collections .venv bench tools .git; do
  if grep -Eq "^${unwanted//./\\.}(/|$)" "$tmp/contents.txt"; then
    fail "$(basename "$tarball") contains $unwanted/ (add it to build_ignore in galaxy.yml)"
  fi
done
hidden=$(grep -E '^\.' "$tmp/contents.txt" | cut -d/ -f1 | sort -u | tr '\n' ' ' || true)
[ -z "$hidden" ] || fail "$(basename "$tarball") contains hidden files: $hidden(add them to build_ignore in galaxy.yml)"
for wanted in roles/apps/tasks/main.yml roles/nginx/tasks/main.yml roles/uwsgi/tasks/main.yml \
  playbooks/site.yml plugins/filter/apps.py meta/runtime.yml MANIFEST.json FILES.json; do
  grep -Fxq "$wanted" "$tmp/contents.txt" || fail "$(basename "$tarball") lacks $wanted"
done
log "$(basename "$tarball"): $(wc -l <"$tmp/contents.txt") entries, no development files"

# 2. Install into an empty collections path.
log "ansible-galaxy collection install -p $collections"
"$venv/ansible-galaxy" collection install "$tarball" -p "$collections" </dev/null >/dev/null
found=$("$venv/ansible-galaxy" collection list appmount.wsgi --format json </dev/null)
expected="{\"$collections/ansible_collections\": {\"appmount.wsgi\": {\"version\": \"$(sed -n 's/^version: *//p' "$root/galaxy.yml")\"}}}"
[ "$(echo "$found" | "$venv/python" -c 'import json, sys; print(json.dumps(json.load(sys.stdin)))')" = "$expected" ] ||
  fail "appmount.wsgi must be found only in $collections, found: $found"

# 3. A fresh container, reached with the docker connection.
if docker container inspect "$name" >/dev/null 2>&1; then
  if [ "$(docker container inspect -f "{{ index .Config.Labels \"$label\" }}" "$name")" = 1 ]; then
    log "removing $name left over from an earlier run"
    docker rm -f "$name" >/dev/null
  else
    fail "a container named $name exists and was not started by this test; remove it or set PKGTEST_NAME"
  fi
fi
log "starting container $name from $image"
docker run -d --name "$name" --hostname "$name" --label "$label=1" \
  --cap-add SYS_ADMIN --cap-add SYS_PTRACE \
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
  --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
  --tmpfs /run --tmpfs /run/lock \
  "$image" >/dev/null
created=true
for _ in $(seq 1 60); do
  state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
  case "$state" in running | degraded) break ;; esac
  sleep 1
done
case "$state" in running | degraded) ;; *) fail "systemd in $name did not come up (state: ${state:-none})" ;; esac

cat >inv.yml <<EOF
---
appmount:
  hosts:
    $name:
      ansible_connection: community.docker.docker
      ansible_become: false
      ansible_python_interpreter: /usr/bin/python3
EOF
log "ansible-playbook appmount.wsgi.site (from $tmp/work)"
"$venv/ansible-playbook" appmount.wsgi.site -i inv.yml \
  -e "@$root/examples/apps.yml" -e "apps_source_dir=$root/examples" </dev/null ||
  fail "ansible-playbook appmount.wsgi.site failed"

# 4. Every app answers through nginx inside the container.
failed=0
for path in "${paths[@]}"; do
  code=000
  for _ in 1 2 3 4 5; do
    code=$(docker exec "$name" curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1$path" || true)
    [ "$code" = 200 ] && break
    sleep 1
  done
  log "GET $path -> $code"
  [ "$code" = 200 ] || failed=1
done
[ "$failed" = 0 ] || fail "not every app answered 200"
log "OK: built, installed and deployed from the tarball; ${paths[*]} answer 200"
