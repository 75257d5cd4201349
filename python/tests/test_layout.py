"""The ctypes structures match include/mynn.h: every size and field offset
compared with what the C compiler says."""
import ctypes
import os
import shutil
import subprocess

import pytest

from conftest import ROOT
from mynn import _lib


def test_struct_layouts(tmp_path):
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("cc")
    if not cc:
        pytest.skip("no C compiler")
    lines = ["#include <stddef.h>", "#include <stdio.h>", "#include \"mynn.h\"", "int main(void) {"]
    want = []
    for cname, cls in _lib.STRUCTS.items():
        lines.append('printf("%%zu\\n", sizeof(%s));' % cname)
        want.append(("sizeof", cname, ctypes.sizeof(cls)))
        for field, _ in cls._fields_:
            lines.append('printf("%%zu\\n", offsetof(%s, %s));' % (cname, field))
            want.append((cname, field, getattr(cls, field).offset))
    lines += ["return 0; }"]
    src, exe = tmp_path / "layout.c", tmp_path / "layout"
    src.write_text("\n".join(lines) + "\n")
    subprocess.run([cc, "-I", os.path.join(ROOT, "include"), str(src), "-o", str(exe)], check=True)
    got = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True,
                                          check=True).stdout.split()]
    assert len(got) == len(want)
    bad = [(w[0], w[1], w[2], g) for w, g in zip(want, got) if w[2] != g]
    assert not bad, "ctypes vs C (struct, field, ctypes, C): %s" % bad


def test_library_and_prototypes():
    assert os.path.exists(_lib.lib.path) or _lib.lib.path == "libmynn.so.0"
    for name in _lib.PROTOTYPES:
        assert getattr(_lib.lib, name).argtypes is not None
