# SPDX-License-Identifier: GPL-3.0-or-later
"""Atomic outputs: files are written under temporary names and renamed only on success.

A run that fails (an exception, Ctrl-C) leaves the files that were there before untouched
and removes its temporary files::

    with atomic_outputs("train.h5") as (tmp,):
        write_everything_to(tmp)
    # train.h5 is replaced now, and only now

The temporary name sits in the final file's folder (``.train.h5.<random>.part``), so the
rename never crosses file systems and is atomic for each file.
"""

import contextlib
import os
import secrets
from pathlib import Path


def temporary_name(path):
    """A fresh, unused hidden name beside ``path``: ``<folder>/.<name>.<random>.part``."""
    path = Path(path)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        if not tmp.exists():
            return tmp


def _check_destination(path):
    if path.is_dir():
        raise IsADirectoryError(f"output {path} is a folder: give a file name")
    if not path.parent.is_dir():
        if path.parent.exists():
            raise NotADirectoryError(f"output {path}: {path.parent} is not a folder")
        path.parent.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def atomic_outputs(*paths):
    """Temporary paths for ``paths``, renamed onto them when the block ends without error.

    Args:
        *paths (str | Path): the final files. Missing parent folders are created.

    Yields:
        tuple[Path, ...]: one temporary path per final path (not yet created).

    On success each temporary file that exists is renamed onto its final path, in the order
    given (put the file that makes a set complete, such as SigMF metadata, last). On any
    exception every temporary file is removed and the exception propagates; the final
    paths keep what they held before.
    """
    finals = [Path(p) for p in paths]
    for p in finals:
        _check_destination(p)
    temps = tuple(temporary_name(p) for p in finals)
    try:
        yield temps
    except BaseException:
        for t in temps:
            t.unlink(missing_ok=True)
        raise
    for t, p in zip(temps, finals, strict=True):
        if t.exists():
            os.replace(t, p)
