"""The app's environment file: every value reaches the app byte for byte (systemd's quoting, no expansion)."""

from __future__ import annotations

import pytest

from ansible_collections.appmount.wsgi.plugins.module_utils import envfile

# what uWSGI's ini parser used to rewrite, and what quoting could break
TRICKY = {
    "HOME_REF": "$(HOME)",
    "FILE_REF": "@(/etc/hostname)",
    "MAGIC": "%(x)",
    "SECRET": "k9$(x!@#%^&*(-_=+)",
    "PERCENT_CARET": "%^",
    "HASH": "# not a comment",
    "SEMI": "; not a comment",
    "DOUBLE": 'say "hi"',
    "SINGLE": "it's",
    "BACKSLASH": "C:\\path\\n",
    "BACKTICK": "`id`",
    "DOLLAR": "$HOME ${HOME}",
    "PADDED": "  padded  ",
    "UNICODE": "ünïcødé ✓ 日本",
    "EMPTY": "",
}


def test_every_value_reads_back_unchanged() -> None:
    assert envfile.parse(envfile.render(TRICKY)) == TRICKY


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_each_value_is_double_quoted_with_only_systemds_four_escapes(name: str) -> None:
    line = envfile.render({name: TRICKY[name]}).rstrip("\n")
    key, _sep, raw = line.partition("=")
    assert key == name
    assert raw.startswith('"') and raw.endswith('"')
    # nothing but ", \, $ and ` is escaped, so no other character is touched
    assert raw[1:-1].replace('\\"', "").replace("\\\\", "").replace("\\$", "").replace("\\`", "") == (
        TRICKY[name].replace('"', "").replace("\\", "").replace("$", "").replace("`", ""))


def test_lines_are_sorted_and_a_header_comes_first() -> None:
    text = envfile.render({"B": "2", "A": "1"}, header="# managed\n")
    assert text == '# managed\nA="1"\nB="2"\n'
    assert envfile.parse(text) == {"A": "1", "B": "2"}


def test_the_oracle_keeps_a_backslash_before_other_characters_like_systemd() -> None:
    assert envfile.parse('X="a\\nb"\n') == {"X": "a\\nb"}
    with pytest.raises(ValueError):
        envfile.parse('X="a"b"\n')
