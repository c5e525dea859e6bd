#!/usr/bin/env bash
# `make demo`: start (or reuse) the Debian 12 container appmount-demo with
# port 80 published on 127.0.0.1:$DEMO_PORT and 443 on 127.0.0.1:$DEMO_HTTPS_PORT,
# deploy the apps of $APPS into it with playbooks/site.yml (a self-signed site
# for `localhost`, inventory/demo), then print each app's URLs and HTTP status.
# A container that publishes other ports is made again: docker cannot change
# the ports of a container.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
name=appmount-demo  # the host of inventory/demo/hosts.yml
port=${DEMO_PORT:-8080}
https_port=${DEMO_HTTPS_PORT:-8443}
export DEMO_HTTPS_PORT=$https_port  # the redirects' port (inventory/demo)
apps=$(realpath "${APPS:-$root/examples/apps.yml}")
image=appmount-test/debian:12
venv=$root/.venv/bin

"$root/scripts/build-images.sh" 12

wanted="127.0.0.1:$port 127.0.0.1:$https_port"
if docker container inspect "$name" >/dev/null 2>&1; then
  have="$(docker port "$name" 80/tcp 2>/dev/null | head -n 1) $(docker port "$name" 443/tcp 2>/dev/null | head -n 1)"
  if [ "$have" != "$wanted" ]; then
    echo "appmount demo: $name publishes '$have', not '$wanted': making it again (its apps are deployed anew)"
    docker rm -f "$name" >/dev/null
  fi
fi
if ! docker container inspect "$name" >/dev/null 2>&1; then
  docker run -d --name "$name" --hostname "$name" \
    --cap-add SYS_ADMIN --cap-add SYS_PTRACE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
    --tmpfs /run --tmpfs /run/lock \
    -p "127.0.0.1:$port:80" -p "127.0.0.1:$https_port:443" "$image" >/dev/null
elif [ "$(docker container inspect -f '{{ .State.Running }}' "$name")" != true ]; then
  docker start "$name" >/dev/null
fi
for _ in $(seq 1 60); do
  state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
  case "$state" in running | degraded) break ;; esac
  sleep 1
done

cd "$root"
"$venv/ansible-playbook" -i inventory/demo playbooks/site.yml \
  -e "@$apps" -e "apps_source_dir=$(dirname "$apps")" -e "apps_public_url=https://localhost:$https_port"
cert=$(mktemp)
trap 'rm -f "$cert"' EXIT
docker exec "$name" cat /etc/ssl/appmount/appmount/fullchain.pem > "$cert"
echo
echo "appmount demo: container $name, nginx on http://127.0.0.1:$port and https://localhost:$https_port"
echo "  (a self-signed certificate for localhost: curl --cacert <(docker exec $name cat /etc/ssl/appmount/appmount/fullchain.pem))"
"$venv/python" - "$apps" "$port" "$https_port" "$cert" <<'PY'
import ssl
import sys
import urllib.error
import urllib.request

import yaml

apps_file, port, https_port, cert = sys.argv[1:5]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# the site's own certificate is the only trust anchor; its name is localhost
opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(
    context=ssl.create_default_context(cafile=cert)))


def status(url):
    try:
        return opener.open(url, timeout=10).status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError as err:
        return f"error: {err}"


apps = (yaml.safe_load(open(apps_file)) or {}).get("appmount_apps") or []
width = max([len(app["name"]) for app in apps] + [4])
for app in apps:
    state = app.get("state", "present")
    path = app["mount"].rstrip("/") + "/"
    secure, plain = f"https://localhost:{https_port}{path}", f"http://127.0.0.1:{port}{path}"
    print(f"  {app['name']:<{width}}  {state:<8}  {status(secure)}  {secure}   (plain HTTP: {status(plain)})")
PY
