# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Templates rendered on the controller by the collection's action plugins, as ``ansible.builtin.template`` renders
them: found in the role's ``templates/``, vault-decrypted, with the task's variables and ``ansible_managed``."""

from __future__ import annotations

from typing import Any, cast

from ansible import constants as C
from ansible.errors import AnsibleActionFail
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


# between the texts of render_each's items: a control character no template of the collection writes
SPLIT = "\x1eappmount-render-split\x1e"
ITEMS = "__appmount_render_items"


def _template(action: ActionBase, source: str, variables: dict[str, Any]) -> str:
    variables.setdefault("ansible_managed", C.config.get_config_value("DEFAULT_MANAGED_STR"))
    templar = action._templar.copy_with_new_env(available_variables=variables)
    return templar.template(trust_as_template(source), escape_backslashes=False) or ""


def render(action: ActionBase, template: str, task_vars: dict[str, Any], **extra: Any) -> str:
    """``template`` (a path under the role's ``templates/``) with ``task_vars`` and ``extra``."""
    return _template(action, read_text(action, action._find_needle("templates", template)), dict(task_vars, **extra))


def render_each(action: ActionBase, template: str, task_vars: dict[str, Any], items: list[Any]) -> list[str]:
    """``template`` for each of ``items`` (as ``item``): the texts ``render`` gives, from one Jinja compilation of
    the template instead of one per item (compiling, not rendering, is what a template costs; an app has three)."""
    if not items:
        return []
    body = read_text(action, action._find_needle("templates", template))
    # `+%}`: trim_blocks keeps the template's own first newline, as render() does
    source = "{% for item in " + ITEMS + " +%}" + body + SPLIT + "{% endfor %}"
    parts = _template(action, source, dict(task_vars, **{ITEMS: items})).split(SPLIT)
    if len(parts) != len(items) + 1 or parts[-1]:
        raise AnsibleActionFail(f"{template}: rendering each of {len(items)} items gave {len(parts) - 1} texts")
    return parts[:-1]
