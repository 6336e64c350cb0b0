"""Builds code archives (good and hostile) in memory for the tests."""

import io
import os
import tarfile
import zipfile


def zip_of(files):
    """files: {name: (bytes, mode)}"""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, (data, mode) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            z.writestr(info, data)
    return buf.getvalue()


def tgz_of(entries):
    """entries: list of (name, kind, data_or_target, mode); kind 'file' or 'symlink'."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, kind, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode = mode
            if kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = data
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def bootstrap_of(fixture_dir):
    return read(os.path.join(fixture_dir, "bootstrap"))
