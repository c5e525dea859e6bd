#!/usr/bin/env bash
# `make compat`: create .venv-VERSION at the repository root from requirements-VERSION.txt,
# the pinned tools of an older ansible-core the collection still claims (meta/runtime.yml).
# Idempotent: .venv-VERSION/.installed records a checksum of the requirements file and of this
# script; while both match, a second call returns at once.
# Usage: scripts/setup-compat.sh VERSION   (e.g. 2.18)
set -euo pipefail
if [ $# -ne 1 ] || ! [[ $1 =~ ^[0-9]+\.[0-9]+$ ]]; then
  echo "usage: $0 VERSION (an ansible-core minor version, e.g. 2.18)" >&2
  exit 2
fi
version=$1
root=$(cd "$(dirname "$0")/.." && pwd)
self=$root/scripts/$(basename "$0")
cd "$root"
requirements=requirements-$version.txt
venv=.venv-$version
stamp=$venv/.installed
if [ ! -f "$requirements" ]; then
  echo "setup-compat: $requirements not found" >&2
  exit 1
fi
want=$(cat "$requirements" "$self" | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup-compat: installing Debian's python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    echo "setup-compat: python3 cannot create virtualenvs; install python3-venv" >&2
    exit 1
  fi
fi
echo "setup-compat: creating $venv from $requirements"
rm -f "$stamp"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q -r "$requirements"
"$venv/bin/ansible" --version | head -1
echo "$want" >"$stamp"
