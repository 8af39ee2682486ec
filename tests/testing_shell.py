"""A real IPython shell for tests, whose ``run_cell`` raises the cell's error (as jupysql's).

``new_shell(tmp_path)`` makes the process's ``InteractiveShell`` instance (so ``get_ipython()``
and ``display()`` find it) with a real SQLite history file in ``tmp_path`` that also logs
outputs; ``close_shell(shell)`` ends it.
"""

from __future__ import annotations

import atexit
import sqlite3
from pathlib import Path
from typing import Any

from IPython.core.interactiveshell import ExecutionResult, InteractiveShell
from traitlets.config import Config


class TestingShell(InteractiveShell):
    """``run_cell`` stores history like a frontend would and raises the error of the cell."""

    __test__ = False  # not a test class, despite the name

    def run_cell(self, raw_cell: str, store_history: bool = True, **kwargs: Any) -> ExecutionResult:  # type: ignore[override]
        result = super().run_cell(raw_cell, store_history=store_history, **kwargs)
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            raise error
        return result

    def history_text(self) -> str:
        """Everything the history database holds (inputs and logged outputs), as one string."""
        assert self.history_manager is not None
        self.history_manager.writeout_cache()
        with sqlite3.connect(self.history_manager.hist_file) as db:
            rows = [
                *db.execute("SELECT source, source_raw FROM history"),
                *db.execute("SELECT output FROM output_history"),
            ]
        return "\n".join(str(value) for row in rows for value in row)


def _clear_instances() -> None:
    TestingShell.clear_instance()  # clears TestingShell and, walking up, InteractiveShell
    InteractiveShell.clear_instance()


def new_shell(tmp_path: Path) -> TestingShell:
    _clear_instances()
    config = Config()
    config.HistoryManager.hist_file = str(tmp_path / "history.sqlite")
    config.HistoryManager.db_log_output = True
    config.InteractiveShell.ipython_dir = str(tmp_path / "ipython")
    config.InteractiveShell.colors = "nocolor"
    return TestingShell.instance(config=config)


def close_shell(shell: TestingShell) -> None:
    atexit.unregister(shell.atexit_operations)
    # What IPython does at exit, minus reset(), whose gc.collect() costs a second per test.
    history = shell.history_manager
    if history is not None:
        history.end_session()
        history.close()
        shell.history_manager = None
    shell._atexit_once_called = True
    _clear_instances()
