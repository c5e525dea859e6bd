#!/usr/bin/env bash
# Build, or reuse, the Debian systemd test images without any registry:
#   debootstrap a minimal rootfs -> docker import (base, cached by package list)
#   -> a layer that trusts the host's locally added CA certificates and lets the
#      test user `deploy` in over SSH with sudo (cached by content).
# Usage: scripts/build-images.sh [12] [13]      (default: both)
# Env:   APPMOUNT_CA_DIR   folder of extra CA certificates (*.crt) to trust
#                          (default: Debian's /usr/local/share/ca-certificates)
#        the SSH key of `deploy` (the fleet scenario reaches its hosts over SSH) is
#        made once in ~/.cache/appmount-test/id_ed25519; only its public half goes
#        into the images
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
ca_dir=${APPMOUNT_CA_DIR:-/usr/local/share/ca-certificates}
packages=systemd,systemd-sysv,dbus,python3,python3-apt,ca-certificates,curl,procps,iproute2,gnupg,openssh-server,sudo
repo=${APPMOUNT_IMAGE_REPO:-appmount-test/debian}

suite_of() {
  case "$1" in
    12) echo bookworm ;;
    13) echo trixie ;;
    *) echo "build-images: unknown Debian version '$1' (12 or 13)" >&2; return 1 ;;
  esac
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

build_base() {
  local version=$1 suite tag tmp
  suite=$(suite_of "$version")
  tag="$repo-base:$version-$(printf '%s %s' "$suite" "$packages" | sha256sum | cut -c1-12)"
  if ! have_image "$tag"; then
    command -v debootstrap >/dev/null 2>&1 || {
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1 ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
    }
    tmp=$(mktemp -d /var/tmp/appmount-rootfs.XXXXXX)
    echo "build-images: debootstrap $suite (a few minutes, once)" >&2
    debootstrap --variant=minbase --include="$packages" "$suite" "$tmp/rootfs" >"$tmp.log" 2>&1 ||
      { tail -n 30 "$tmp.log" >&2; rm -rf "$tmp"; return 1; }
    tar -C "$tmp/rootfs" -c . | docker import - "$tag" >/dev/null
    rm -rf "$tmp" "$tmp.log"
  fi
  echo "$tag"
}

build_final() {
  local version=$1 base ctx hash tag
  base=$(build_base "$version")
  ctx=$(mktemp -d)
  cp "$root/tests/images/Dockerfile" "$ctx/"
  cp "$ssh_key.pub" "$ctx/authorized_keys"
  mkdir -p "$ctx/ca-certificates"
  if [ -d "$ca_dir" ]; then
    cp -r "$ca_dir/." "$ctx/ca-certificates/"
  fi
  hash=$( (echo "$base"; cd "$ctx" && find . -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-12)
  tag="$repo:$version"
  if [ "$(docker image inspect -f '{{ index .Config.Labels "appmount.hash" }}' "$tag" 2>/dev/null)" = "$hash" ]; then
    echo "build-images: $tag is up to date"
  else
    docker build -q --build-arg BASE="$base" --label appmount.hash="$hash" -t "$tag" "$ctx" >/dev/null
    echo "build-images: built $tag"
  fi
  rm -rf "$ctx"
}

"$root/scripts/ensure-docker.sh"
ssh_key=$HOME/.cache/appmount-test/id_ed25519
if [ ! -f "$ssh_key" ]; then
  mkdir -p "$(dirname "$ssh_key")"
  ssh-keygen -q -t ed25519 -N '' -C appmount-test -f "$ssh_key"
fi
for version in "${@:-12 13}"; do
  for v in $version; do
    build_final "$v"
  done
done
