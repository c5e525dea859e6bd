#!/usr/bin/env bash
# `make demo`: start (or reuse) the Debian 12 container appmount-demo with
# port 80 published on 127.0.0.1:$DEMO_PORT, deploy the apps of $APPS into it
# with playbooks/site.yml, then print each app's URL and HTTP status.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
name=appmount-demo  # the host of inventory/demo/hosts.yml
port=${DEMO_PORT:-8080}
apps=$(realpath "${APPS:-$root/examples/apps.yml}")
image=appmount-test/debian:12
venv=$root/.venv/bin

"$root/scripts/build-images.sh" 12

if ! docker container inspect "$name" >/dev/null 2>&1; then
  docker run -d --name "$name" --hostname "$name" \
    --cap-add SYS_ADMIN --cap-add SYS_PTRACE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
    --tmpfs /run --tmpfs /run/lock \
    -p "127.0.0.1:$port:80" "$image" >/dev/null
elif [ "$(docker container inspect -f '{{ .State.Running }}' "$name")" != true ]; then
  docker start "$name" >/dev/null
fi
for _ in $(seq 1 60); do
  state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
  case "$state" in running | degraded) break ;; esac
  sleep 1
done

published=$(docker port "$name" 80/tcp | head -n 1)
cd "$root"
"$venv/ansible-playbook" -i inventory/demo playbooks/site.yml \
  -e "@$apps" -e "apps_source_dir=$(dirname "$apps")" -e "apps_public_url=http://$published"
echo
echo "appmount demo: container $name, nginx on http://$published"
"$venv/python" - "$apps" "$published" <<'PY'
import sys
import urllib.error
import urllib.request

import yaml

apps_file, published = sys.argv[1], sys.argv[2]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(NoRedirect)
apps = (yaml.safe_load(open(apps_file)) or {}).get("appmount_apps") or []
width = max([len(app["name"]) for app in apps] + [4])
for app in apps:
    state = app.get("state", "present")
    mount = app["mount"]
    url = f"http://{published}{mount.rstrip('/')}/"
    try:
        status = opener.open(url, timeout=10).status
    except urllib.error.HTTPError as err:
        status = err.code
    except OSError as err:
        status = f"error: {err}"
    print(f"  {app['name']:<{width}}  {state:<8}  {status}  {url}")
PY
