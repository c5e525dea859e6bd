#!/usr/bin/env bash
# `make setup`: create .venv at the repository root with the pinned tools of requirements.txt.
# `scripts/setup.sh VERSION` (`make compat`): .venv-VERSION from requirements-VERSION.txt, the tools of an
# older ansible-core that meta/runtime.yml still claims (e.g. 2.18).
# Idempotent: VENV/.installed records a checksum of the requirements file and of this script; while both
# match, a second call returns at once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=${1:-}
if [ -n "$version" ] && ! [[ $version =~ ^[0-9]+\.[0-9]+$ ]]; then
  echo "usage: $0 [VERSION]   (an ansible-core minor version, e.g. 2.18)" >&2
  exit 2
fi
requirements=requirements${version:+-$version}.txt
venv=.venv${version:+-$version}
stamp=$venv/.installed
[ -f "$requirements" ] || { echo "setup: $requirements not found" >&2; exit 1; }
want=$(cat "$requirements" "$root/scripts/setup.sh" | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    echo "setup: python3 cannot create virtualenvs; install python3-venv" >&2
    exit 1
  fi
fi
echo "setup: creating $venv from $requirements"
rm -f "$stamp"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q -r "$requirements"
"$venv/bin/ansible" --version | sed -n 1p
echo "$want" >"$stamp"
