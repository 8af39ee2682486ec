"""Rewriting one input where IPython keeps it on disk: its history database and a ``%logstart`` log.

Used when ``%cognito_login`` refuses a line that holds a password: the line must not stay in
either. What the line becomes, and the in-memory history, are :mod:`.magic_line`'s business.
"""

from __future__ import annotations

from typing import Any

__all__ = ["rewrite_database_row", "rewrite_log"]


def rewrite_database_row(
    history: Any, number: int, raw: str, parsed: str, new_raw: str, new_parsed: str
) -> None:
    """Redact line ``number`` in the write cache (so any later flush writes the redacted text),
    flush, then fix the row if the saving thread had already written it.

    Both the saving thread's flush and this run under ``db_input_cache_lock``; a row the
    thread wrote is committed before it lets the lock go.
    """
    lock = history.db_input_cache_lock
    with lock:
        cache = history.db_input_cache
        for index, (line_number, source, source_raw) in enumerate(cache):
            if line_number == number:
                cache[index] = (
                    line_number,
                    new_parsed if source == parsed else source,
                    new_raw if source_raw == raw else source_raw,
                )
    if not getattr(history, "enabled", False):
        return
    history.writeout_cache()
    with lock, history.db:
        history.db.execute(
            "UPDATE history SET source=?, source_raw=? WHERE session=? AND line=? "
            "AND (source=? OR source_raw=?)",
            (new_parsed, new_raw, history.session_number, number, parsed, raw),
        )


def rewrite_log(logger: Any, raw: str, parsed: str, new_raw: str, new_parsed: str) -> bool:
    """Redact the cell in a ``%logstart`` log, which IPython wrote (and flushed) before the
    magic ran: it is the last input there. True if it was found and rewritten.

    The logger keeps its file open (append or write mode): the file is rewritten through
    another handle, then the logger's handle is moved to the new end, so that its next write
    does not leave a hole.
    """
    logfile = getattr(logger, "logfile", None)
    if not getattr(logger, "log_active", False) or logfile is None:
        return False
    old, new = (raw, new_raw) if getattr(logger, "log_raw_input", False) else (parsed, new_parsed)
    if old == new:
        return False
    logfile.flush()
    with open(logger.logfname, "r+", encoding="utf-8") as file:
        text = file.read()
        at = text.rfind(old)
        if at < 0:
            return False
        file.seek(0)
        file.write(text[:at] + new + text[at + len(old) :])
        file.truncate()
    logfile.seek(0, 2)
    return True
