# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the controller-side checks name what they refuse: ``VARIABLE[INDEX] (NAME): field ...``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable


def item_label(variable: str, index: int, item: Any) -> str:
    """``appmount_apps[2] (blog)``, or ``appmount_apps[2]`` when the item has no usable name."""
    name = item.get("name") if isinstance(item, Mapping) else None
    return f"{variable}[{index}] ({name})" if isinstance(name, str) and name else f"{variable}[{index}]"


def collector(errors: list[str], label: str) -> Callable[[str], None]:
    """A function that adds a message to ``errors``, prefixed with ``label``."""
    return lambda msg: errors.append(f"{label}: {msg}")
