"""Each example runs a few steps end to end, as one process and as two MPI ranks."""
from __future__ import annotations

import importlib.util
import re

import pytest
from example_helpers import ok, run

SCRIPTS = ["mlp_digits.py", "cnn_digits.py", "char_transformer.py"]
HAS_MPL = importlib.util.find_spec("matplotlib") is not None


@pytest.mark.parametrize("ranks", [0, 2], ids=["single-process", "2-ranks"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_runs_a_few_steps(script, ranks, tmp_path):
    ck = tmp_path / "ck"
    out = ok(run(script, "--max-steps", 4, "--log-every", 2, "--checkpoint-dir", ck,
                 "--checkpoint-every", 2, "--save-final", tmp_path / "final.dt", ranks=ranks))
    line = next(ln for ln in out.splitlines() if ln.startswith("final: "))
    assert "step 4 " in line and f"ranks {max(ranks, 1)} " in line
    assert re.search(r"val_(accuracy|loss) \d", line)
    assert (tmp_path / "final.dt").is_file()
    assert sorted(p.name for p in ck.glob("ckpt-*.dt")) == ["ckpt-00000002.dt", "ckpt-00000004.dt"]
    assert (ck / "loss.png").is_file() == HAS_MPL
    if script == "char_transformer.py":
        assert "sample:\n" in out
    # only rank 0 reports: one final line
    assert out.count("final: ") == 1


def test_transformer_reads_a_text_file(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 200, encoding="utf-8")
    out = ok(run("char_transformer.py", "--text", text, "--max-steps", 3, "--plot", tmp_path / "p.png",
                 ranks=2))
    assert "vocabulary 28," in out  # 26 letters, space and full stop
    sample = out.split("sample:\n", 1)[1].split("\nfinal:")[0]
    assert set(sample.strip()) <= set("the quick brown fox jumps over the lazy dog.")
    assert (tmp_path / "p.png").is_file() == HAS_MPL


def test_resume_requires_nothing_to_exist(tmp_path):
    """--resume with an empty checkpoint directory starts from scratch."""
    out = ok(run("mlp_digits.py", "--max-steps", 3, "--checkpoint-dir", tmp_path / "none", "--resume",
                 ranks=0))
    assert "resumed" not in out


def test_same_seed_same_weights_different_seed_different(tmp_path):
    import disttorch

    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        ok(run("mlp_digits.py", "--max-steps", 10, "--seed", seed, "--save-final", tmp_path / f"{name}.dt"))
    a, b, c = (disttorch.load(tmp_path / f"{n}.dt") for n in "abc")
    assert all(disttorch.equal(a[k], b[k]) for k in a)
    assert not all(disttorch.equal(a[k], c[k]) for k in a)


def test_cnn_reaches_the_stated_accuracy():
    """examples/README.md: the CNN's default run reaches >= 0.98 validation accuracy (>= 0.95 here)."""
    out = ok(run("cnn_digits.py", "--channels", 32, timeout=120))
    acc = float(re.search(r"val_accuracy (\d\.\d+)", out).group(1))
    assert acc >= 0.95, out


def test_resume_without_checkpoint_dir_is_an_error():
    proc = run("mlp_digits.py", "--resume", ranks=0)
    assert proc.returncode == 2 and "--resume needs --checkpoint-dir" in proc.stderr
