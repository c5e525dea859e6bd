"""render_each gives, from one compilation, the texts render gives for each item: byte for byte, since a changed
text would restart an app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.appmount.wsgi.plugins.plugin_utils.render import render, render_each

TEMPLATES = {
    # the shape of the roles' templates: ansible_managed, blocks that trim_blocks trims, a loop, a trailing newline
    "app.j2": "{{ ansible_managed | comment }}\n[uwsgi]\nname = {{ item.name }}\n{% if item.env %}\n"
              "{% for key, value in item.env.items() %}\nenv = {{ key }}={{ value }}\n{% endfor %}\n{% endif %}\n"
              "threads = {{ item.threads | default(role_threads) }}\n",
    "leading.j2": "\n\n{{ item.name }}",  # leading newlines, none at the end
    "bare.j2": "{% if item.name == 'a' %}A{% else %}other{% endif %}",
}
ITEMS: list[dict[str, Any]] = [
    {"name": "a", "env": {"X": "1", "Y": "two words"}},
    {"name": "b", "env": {}, "threads": 2},
    {"name": "c-d", "env": {"Z": "%(x) $(y)"}},
]


class Action:
    """The part of an action plugin that render.py uses."""

    def __init__(self, root: Path) -> None:
        self._loader = DataLoader()
        self._templar = Templar(loader=self._loader)
        self.root = root

    def _find_needle(self, kind: str, name: str) -> str:
        return str(self.root / kind / name)


@pytest.fixture(name="action")
def fixture_action(tmp_path: Path) -> Action:
    (tmp_path / "templates").mkdir()
    for name, text in TEMPLATES.items():
        (tmp_path / "templates" / name).write_text(text)
    return Action(tmp_path)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_each_text_is_the_one_render_gives(action: Action, template: str) -> None:
    task_vars = {"role_threads": 4}
    each = render_each(action, template, task_vars, ITEMS)  # type: ignore[arg-type]
    assert each == [render(action, template, task_vars, item=item) for item in ITEMS]  # type: ignore[arg-type]
    assert len(set(each)) == (2 if template == "bare.j2" else 3)


def test_no_items_no_rendering(action: Action) -> None:
    assert render_each(action, "missing.j2", {}, []) == []  # type: ignore[arg-type]
