# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Templates rendered on the controller by the collection's action plugins, as ``ansible.builtin.template`` renders
them: found in the role's ``templates/``, vault-decrypted, with the task's variables and ``ansible_managed``."""

from __future__ import annotations

from typing import Any, cast

from ansible import constants as C
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

try:  # ansible-core >= 2.19 only templates strings marked as trusted
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - older ansible-core

    def trust_as_template(value: str) -> str:  # type: ignore[misc,unused-ignore]
        return value


def read_text(action: ActionBase, path: str) -> str:
    """A template's text (decrypted when vaulted)."""
    loader = action._loader
    if hasattr(loader, "get_text_file_contents"):  # ansible-core >= 2.19
        return cast(str, loader.get_text_file_contents(path))
    real = loader.get_real_file(path)  # older: what the template action of 2.18 does
    try:
        with open(real, "rb") as handle:
            return cast(str, to_text(handle.read(), errors="surrogate_or_strict"))
    finally:
        loader.cleanup_tmp_file(real)


def render(action: ActionBase, template: str, task_vars: dict[str, Any], **extra: Any) -> str:
    """``template`` (a path under the role's ``templates/``) with ``task_vars`` and ``extra``."""
    path = action._find_needle("templates", template)
    source = trust_as_template(read_text(action, path))
    variables = dict(task_vars, **extra)
    variables.setdefault("ansible_managed", C.config.get_config_value("DEFAULT_MANAGED_STR"))
    templar = action._templar.copy_with_new_env(available_variables=variables)
    return templar.template(source, escape_backslashes=False) or ""
