"""The run context: commands, failures and the per-app report."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run


def test_run_captures_text_and_takes_subprocess_options(new_run: Callable[..., Run]) -> None:
    proc = new_run().run(["sh", "-c", 'echo "$X" in "$PWD"; echo oops >&2; exit 3'], env={"X": "x"}, cwd="/")
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "x in /\n", "oops\n")


def test_command_passes_arguments_as_they_are(module_args: Any) -> None:
    """Through the real AnsibleModule.run_command: no ``~`` or ``$VAR`` expansion (a git URL may hold either)."""
    with module_args({}):
        module = AnsibleModule(argument_spec={})
    proc = Run(module).command(["echo", "$HOME", "~/x"])
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "$HOME ~/x\n", "")
    assert proc.args == ["echo", "$HOME", "~/x"]


def test_checked_fails_the_run_with_the_commands_output(new_run: Callable[..., Run]) -> None:
    run = new_run()
    assert run.checked(["true"]).returncode == 0
    run.note("blog", "built", "r1")
    with pytest.raises(SystemExit):
        run.checked(["sh", "-c", "echo out; echo err >&2; exit 1"])
    assert run.module.failed == {"msg": "sh -c echo out; echo err >&2; exit 1 failed: err", "changed": True}


def test_fail_command_falls_back_to_stdout(new_run: Callable[..., Run]) -> None:
    run = new_run()
    with pytest.raises(SystemExit):
        run.checked(["sh", "-c", "echo only-out; exit 2"])
    assert run.module.failed == {"msg": "sh -c echo only-out; exit 2 failed: only-out", "changed": False}


def test_note_reports_per_app_and_counts_as_a_change(new_run: Callable[..., Run]) -> None:
    run = new_run(check=True)
    assert run.check and not run.changed
    run.note("blog", "built", "r1")
    run.note("blog", "switched", "r1")
    run.note("wiki", "user_created")
    assert run.changed
    assert run.report == {"blog": {"built": "r1", "switched": "r1"}, "wiki": {"user_created": True}}


def test_fail_exits_through_fail_json(capsys: pytest.CaptureFixture[str], module_args: Any) -> None:
    with module_args({}), pytest.raises(SystemExit):  # fail_json writes with the patched profile
        Run(AnsibleModule(argument_spec={})).fail("no previous release", changed=False)
    result = json.loads(capsys.readouterr().out)
    assert (result["failed"], result["msg"], result["changed"]) == (True, "no previous release", False)
