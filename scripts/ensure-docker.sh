#!/usr/bin/env bash
# Make sure a Docker engine answers. On Debian as root, install Debian's
# docker.io and start dockerd when none is running (no registry needed).
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-docker: no Docker engine answers and we are not root; start dockerd or run as root." >&2
  exit 1
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-docker: installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi
if [ -d /run/systemd/system ] && systemctl start docker 2>/dev/null; then
  :
else
  echo "ensure-docker: starting dockerd (log: /var/log/appmount-dockerd.log)"
  nohup dockerd >/var/log/appmount-dockerd.log 2>&1 &
fi
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 1
done
echo "ensure-docker: dockerd did not come up; see /var/log/appmount-dockerd.log" >&2
exit 1
