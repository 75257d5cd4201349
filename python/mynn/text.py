"""Text for character-level language models, as `mynn train --text` reads it.

    text = mynn.Text("corpus.txt", seq=64, val=0.1)          # a file or a folder; text="..." for a str
    net = mynn.Net(64, "embedding:%d:64,lstm:256:seq,%d:softmax" % (text.vocab_size, text.vocab_size))
    text.attach(net)                      # the vocabulary travels with the model
    net.fit(text.x, text.y, validation_data=(text.val_x, text.val_y), optimizer="adam", lr=0.002)
    print(net.generate("The ", length=400, temperature=0.8))
"""
import ctypes
import os

import numpy as np

from . import _lib
from ._lib import call, lib


class Text:
    """A text's vocabulary (its characters sorted by code point: UTF-8, or
    as_bytes=True for bytes, as --text bytes) and its windows of seq characters (x: ids [n,
    seq]; y: the next character of each step), the last val fraction held
    out (val_x, val_y): the same ids and windows as `mynn train --text`."""

    def __init__(self, path=None, seq=64, val=0.0, as_bytes=False, text=None):
        if (path is None) == (text is None):
            raise TypeError("Text: give a path (a file or a folder) or text= (a str or bytes), not both")
        if text is not None:
            data = text.encode() if isinstance(text, str) else bytes(text)
        else:
            data = _read(os.fspath(path))
        self.bytes = bool(as_bytes)
        self._vocab = ctypes.c_void_p()
        call(lib.mynn_vocab_build, data, len(data), int(self.bytes), ctypes.byref(self._vocab))
        n = ctypes.c_size_t()
        ids = np.empty(len(data), dtype=np.float32)
        call(lib.mynn_vocab_encode, self._vocab, data, len(data),
             ids.ctypes.data_as(_lib.c_float_p), ctypes.byref(n))
        self.ids = ids[:n.value]
        seq, total = int(seq), (n.value - 1) // max(int(seq), 1)
        if seq < 1 or total < 1:
            raise ValueError("seq=%d: the text of %d characters gives no window of seq and its next character"
                             % (seq, n.value))
        n_val = int(val * total + 0.5) if val else 0
        if val and not 0 < n_val < total:
            raise ValueError("val=%g: %d windows cannot be split so" % (val, total))
        w = np.arange(total)[:, None] * seq + np.arange(seq)[None, :]
        x, y = self.ids[w], self.ids[w + 1]
        self.x, self.y = x[:total - n_val], y[:total - n_val]
        self.val_x, self.val_y = x[total - n_val:], y[total - n_val:]
        self.seq = seq

    def __del__(self):
        if getattr(self, "_vocab", None):
            lib.mynn_vocab_free(self._vocab)
            self._vocab = None

    @property
    def vocab_size(self):
        return lib.mynn_vocab_size(self._vocab)

    @property
    def vocab(self):
        """The symbols in id order (str; bytes objects for a bytes text)."""
        out, buf = [], ctypes.create_string_buffer(5)
        for i in range(self.vocab_size):
            k = lib.mynn_vocab_decode(self._vocab, i, buf)
            out.append(buf.raw[:k] if self.bytes else buf.raw[:k].decode())
        return out

    def encode(self, s):
        """ids (float32) of s; a character outside the vocabulary raises mynn.Error naming it."""
        data = s.encode() if isinstance(s, str) else bytes(s)
        ids, n = np.empty(max(len(data), 1), dtype=np.float32), ctypes.c_size_t()
        call(lib.mynn_vocab_encode, self._vocab, data, len(data), ids.ctypes.data_as(_lib.c_float_p),
             ctypes.byref(n))
        return ids[:n.value]

    def decode(self, ids):
        v = self.vocab
        parts = [v[int(i)] for i in np.asarray(ids).ravel()]
        return b"".join(parts).decode("utf-8", errors="replace") if self.bytes else "".join(parts)

    def attach(self, net):
        """Store the vocabulary in net (saved with it; Net.generate reads it)."""
        call(lib.mynn_set_vocab, net._handle, self._vocab)
        return net


_libc_free = ctypes.CDLL(None).free
_libc_free.argtypes = [ctypes.c_void_p]


def _read(path):
    """A file, or every file of a folder in name order: mynn_read_text's bytes."""
    text, n = ctypes.c_void_p(), ctypes.c_size_t()
    call(lib.mynn_read_text, os.fsencode(path), ctypes.byref(text), ctypes.byref(n))
    try:
        return ctypes.string_at(text, n.value)
    finally:
        _libc_free(text)
