"""mynn.Text and Net.generate: the vocabulary and windows of `mynn train
--text`, a small language model trained from Python, its text generated
the same for the same seed, and the vocabulary saved with the model."""
import numpy as np
import pytest

import mynn

STORY = "the cat sat. a dog ran. " * 40


def test_text_windows_and_vocab():
    t = mynn.Text(text=STORY, seq=8, val=0.25)
    assert t.vocab == sorted(set(STORY)) and t.vocab_size == 13
    total = (len(STORY) - 1) // 8
    assert len(t.x) + len(t.val_x) == total and len(t.val_x) == int(0.25 * total + 0.5)
    assert np.array_equal(t.x[1], t.ids[8:16]) and np.array_equal(t.y[1], t.ids[9:17])
    assert t.decode(t.encode("a dog")) == "a dog"
    with pytest.raises(mynn.Error, match='"x" \\(U\\+0078\\) at byte 0'):
        t.encode("x")
    with pytest.raises(mynn.Error, match="byte 1 .* is not valid UTF-8"):
        mynn.Text(text=b"a\xffb", seq=1)
    assert mynn.Text(text=b"a\xffb", seq=1, as_bytes=True).vocab_size == 3


def test_text_from_files(tmp_path):
    (tmp_path / "b.txt").write_text("world\n")
    (tmp_path / "a.txt").write_text("hello ")
    assert mynn.Text(tmp_path, seq=2).decode(mynn.Text(tmp_path, seq=2).ids) == "hello world\n"
    with pytest.raises(mynn.Error, match="missing.txt"):
        mynn.Text(tmp_path / "missing.txt")
    with pytest.raises(TypeError, match="not both"):
        mynn.Text(tmp_path, text="x")


def test_language_model_generates(tmp_path):
    t = mynn.Text(text=STORY, seq=16)
    v = t.vocab_size
    net = mynn.Net(16, "embedding:%d:8,lstm:32:seq,%d:softmax" % (v, v), seed=2)
    t.attach(net)
    net.fit(t.x, t.y, epochs=15, batch_size=8, optimizer="adam", lr=0.02)
    loss = net.evaluate(t.x, t.y)["loss"]
    assert loss < 0.5, loss
    greedy = net.generate("the ", length=12, temperature=0)
    assert greedy.startswith("the cat sat."), greedy
    a, b = net.generate("a ", length=50, seed=7), net.generate("a ", length=50, seed=7)
    assert a == b and len(a) == 52
    net.save(tmp_path / "lm.safetensors")
    back = mynn.load(tmp_path / "lm.safetensors")
    assert back.generate("a ", length=50, seed=7) == a
    with pytest.raises(ValueError, match="one class id per step"):
        net.fit(t.x, t.y[:, :3], epochs=1)
