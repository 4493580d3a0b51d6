"""I/O faults: read-only outputs, corrupt or mislabelled tables, folder outputs as one unit, temporary files,
and the project key.

Commands covered: ``simulate``, ``features``, ``train``, ``score``, ``report``, ``decide loan``,
``decide renewal``, ``portfolio``, ``key init``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from smecredit.cli import main
from smecredit.data import load_raw
from smecredit.exceptions import ConfigError, DataContractError, OutputError
from smecredit.features.folder import write_feature_dir
from smecredit.io import atomic_path, read_table, write_table
from smecredit.privacy import pseudonymise

ROOT = Path(__file__).resolve().parents[1]
GERMAN = ROOT / "data" / "external" / "german_credit.csv"


# --------------------------------------------------------------------------- read-only output folders
_DRIVER = textwrap.dedent("""
    import contextlib, io, json, sys
    from smecredit.cli import main
    results = []
    for argv in json.loads(sys.argv[1]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main(argv)
        results.append({"rc": rc, "err": err.getvalue()})
    print(json.dumps(results))
""")


def _run_read_only(folder: Path, argvs: list[list[str]]) -> list[dict]:
    """Run CLI commands in a subprocess that sees ``folder`` read-only.

    Not root: the folder is made read-only with chmod. Root (chmod does not stop root): the commands run in
    a private mount namespace (``unshare``) where ``folder`` is bind-mounted read-only, a real EROFS.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-c", _DRIVER, json.dumps(argvs)]
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        finally:
            folder.chmod(0o755)
    else:
        unshare = shutil.which("unshare")
        probe = subprocess.run([unshare or "unshare", "-rm", "true"], capture_output=True) if unshare else None
        if probe is None or probe.returncode != 0:
            pytest.skip("running as root without unshare: cannot make a folder read-only")
        script = 'mount --bind -o ro "$1" "$1" && shift && exec "$@"'
        proc = subprocess.run([unshare, "-rm", "sh", "-c", script, "sh", str(folder), *cmd], capture_output=True,
                              text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_writing_command_gives_a_clean_error_on_a_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "keep.txt").write_text("untouched")
    inputs = tmp_path / "in"
    inputs.mkdir()
    dec = inputs / "decisions.csv"
    dec.write_text("decision\n")
    commands = {
        "simulate": ["simulate", "-n", "50", "--months", "13", "--out", str(ro / "raw")],
        "features": ["features", "--raw", str(inputs), "--out", str(ro / "feat"), "--snapshots", "2025-06-30"],
        "train": ["train", "--data", str(GERMAN), "--out", str(ro / "model"), "--no-compare"],
        "score": ["score", "--model", str(inputs / "m"), "--input", str(GERMAN), "--output", str(ro / "s.csv")],
        "report": ["report", "--model", str(inputs / "m"), "--data", str(GERMAN), "--out", str(ro / "r.html")],
        "decide loan": ["decide", "loan", "--model", str(inputs / "m"), "--raw", str(inputs), "--applications",
                        str(dec), "--as-of", "2025-12-31", "--out", str(ro / "d.parquet")],
        "decide renewal": ["decide", "renewal", "--model", str(inputs / "m"), "--raw", str(inputs), "--as-of",
                           "2025-12-31", "--out", str(tmp_path / "ok.parquet"), "--audit", str(ro / "audit")],
        "portfolio": ["portfolio", "--decisions", str(dec), "--out", str(ro / "el.csv")],
    }
    results = _run_read_only(ro, list(commands.values()))
    for name, res in zip(commands, results):
        assert res["rc"] == 6, (name, res)
        assert "read-only file system" in res["err"] or "permission denied" in res["err"], (name, res)
        assert "Traceback" not in res["err"], name
    assert sorted(p.name for p in ro.iterdir()) == ["keep.txt"]
    assert not (tmp_path / "ok.parquet").exists()


def test_outputs_under_a_file_are_a_clean_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="a part of the path is a file"):
        write_table(pd.DataFrame({"a": [1]}), blocker / "out.csv")
    rc = main(["score", "--model", "m", "--input", str(GERMAN), "--output", str(blocker / "s.parquet")])
    assert rc == 6


# --------------------------------------------------------------------------- corrupt / mislabelled tables
def _raw_with(tmp_path: Path, content: bytes, name: str = "enterprises.parquet") -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / name).write_bytes(content)
    return raw


def _parquet_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    pd.DataFrame({"enterprise_id": ["E1"], "name": ["x"]}).to_parquet(buf)
    return buf.getvalue()


@pytest.mark.parametrize("content,name", [(b"PAR1 this is not parquet", "enterprises.parquet"),
                                          (b"enterprise_id,name\nE1,x\n", "enterprises.parquet"),
                                          (None, "enterprises.csv")],
                         ids=["corrupt", "csv_named_parquet", "parquet_named_csv"])
def test_load_raw_reports_a_corrupt_or_mislabelled_table_cleanly(tmp_path, content, name, capsys):
    raw = _raw_with(tmp_path, _parquet_bytes() if content is None else content, name)
    kind = "Parquet" if name.endswith(".parquet") else "CSV"
    with pytest.raises(DataContractError, match=rf"{name.replace('.', '[.]')}: not a valid {kind} file"):
        load_raw(raw)
    out = tmp_path / "feat"
    assert main(["features", "--raw", str(raw), "--out", str(out), "--snapshots", "2025-06-30"]) == 3
    assert not out.exists()
    dec = tmp_path / "d.parquet"
    assert main(["decide", "renewal", "--model", "m", "--raw", str(raw), "--as-of", "2025-12-31",
                 "--out", str(dec)]) == 3
    assert not dec.exists()
    err = capsys.readouterr().err
    assert "Traceback" not in err and name in err


def test_corrupt_input_tables_of_score_and_portfolio_are_clean_errors(tmp_path, capsys):
    bad = tmp_path / "in.parquet"
    bad.write_bytes(b"\x00\x01 garbage")
    out = tmp_path / "s.csv"
    assert main(["score", "--model", "m", "--input", str(bad), "--output", str(out)]) == 3
    assert main(["portfolio", "--decisions", str(bad)]) == 3
    badcsv = tmp_path / "in.csv"
    badcsv.write_bytes(b"\xff\xfe\x00bad\x00")
    with pytest.raises(DataContractError, match=r"in\.csv"):
        read_table(badcsv)
    assert not out.exists()
    assert "not a valid Parquet file" in capsys.readouterr().err


# --------------------------------------------------------------------------- folder outputs as one unit
def _features_frame(n=3, bad=False):
    df = pd.DataFrame({"enterprise_id": [f"E{i}" for i in range(n)], "snapshot_date": pd.Timestamp("2025-06-30"),
                       "bad": 0.0, "observable": True, "x": range(n)})
    if bad:  # a column pyarrow cannot write: the write fails half-way
        df["x"] = pd.Series([1, "a", {"k": 1}][:n], dtype=object)
    return df


def test_features_folder_is_replaced_as_one_unit_or_not_at_all(tmp_path):
    out = tmp_path / "feat"
    write_feature_dir(_features_frame(), out, manifest={"rows": 3, "run": 1})
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(Exception):  # noqa: B017 - any failure while writing the table
        write_feature_dir(_features_frame(bad=True), out, manifest={"rows": 3, "run": 2})
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # old table, old manifest: still a unit
    assert [p.name for p in tmp_path.iterdir()] == ["feat"]  # no staging folder left behind
    write_feature_dir(_features_frame(5), out, manifest={"rows": 5, "run": 3})
    assert json.loads((out / "manifest.json").read_text())["run"] == 3
    assert len(pd.read_parquet(out / "features.parquet")) == 5


def test_features_out_onto_a_file_or_a_foreign_folder_is_a_clean_error(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    f = tmp_path / "features.parquet"
    f.write_bytes(b"old")
    assert main(["features", "--raw", str(raw), "--out", str(f), "--snapshots", "2025-06-30"]) == 6
    assert f.read_bytes() == b"old"
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.docx").write_text("precious")
    assert main(["features", "--raw", str(raw), "--out", str(home), "--snapshots", "2025-06-30"]) == 6
    assert (home / "thesis.docx").read_text() == "precious"
    err = capsys.readouterr().err
    assert "exists and is a file" in err and "holds other files (thesis.docx)" in err


def test_train_out_onto_a_folder_that_is_not_a_model_is_refused(tmp_path, capsys):
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("keep")
    assert main(["train", "--data", str(GERMAN), "--out", str(home), "--no-compare"]) == 6
    assert (home / "notes.txt").read_text() == "keep"
    assert "not a model folder" in capsys.readouterr().err


# --------------------------------------------------------------------------- temporary files
def test_failed_write_removes_its_temporary_file(tmp_path):
    with pytest.raises(Exception):  # noqa: B017 - pyarrow refuses the mixed column
        write_table(_features_frame(bad=True), tmp_path / "t.parquet")
    assert list(tmp_path.iterdir()) == []


def test_temporary_file_of_a_killed_run_is_removed_by_the_next_run(tmp_path):
    out = tmp_path / "scores.csv"
    code = textwrap.dedent(f"""
        import os, signal
        from smecredit.io import atomic_path
        with atomic_path({str(out)!r}) as tmp:
            tmp.write_text("half")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)
    assert proc.returncode == -9
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".scores.csv.") and left[0].endswith(".tmp")
    # a temporary file of a live process (here: this one) writing the same output is left alone
    live = tmp_path / f".scores.csv.{os.getpid()}.live.tmp"
    live.write_text("in progress")
    write_table(pd.DataFrame({"a": [1]}), out)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "scores.csv"])


def test_atomic_folder_output_failure_leaves_the_old_folder(tmp_path):
    out = tmp_path / "dir"
    with atomic_path(out, is_dir=True) as tmp:
        (tmp / "a.txt").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_path(out, is_dir=True) as tmp:
            (tmp / "a.txt").write_text("2")
            raise RuntimeError("boom")
    assert (out / "a.txt").read_text() == "1" and [p.name for p in tmp_path.iterdir()] == ["dir"]


# --------------------------------------------------------------------------- the project key
def test_no_key_is_created_silently_and_key_init_gives_one_key_for_every_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SMECREDIT_PSEUDONYM_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    monkeypatch.chdir(a)
    with pytest.raises(ConfigError, match="smecredit key init"):
        pseudonymise("91350100M000100Y43")
    assert list(a.iterdir()) == []
    assert main(["key", "init"]) == 0
    key_file = tmp_path / "cfg" / "smecredit" / "pseudonym.key"
    assert key_file.is_file() and (key_file.stat().st_mode & 0o077) == 0
    p_a = pseudonymise("91350100M000100Y43")
    monkeypatch.chdir(b)
    assert pseudonymise("91350100M000100Y43") == p_a  # same firm, same pseudonym, whatever the folder
    assert main(["key", "init"]) == 2  # never replaced by accident
    assert "already exists" in capsys.readouterr().err
    assert list(a.iterdir()) == [] and list(b.iterdir()) == []


def test_key_init_from_an_old_per_folder_key_keeps_its_pseudonyms(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SMECREDIT_PSEUDONYM_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.chdir(tmp_path)
    legacy = tmp_path / ".smecredit" / "pseudonym.key"
    legacy.parent.mkdir()
    legacy.write_text("0123456789abcdef0123456789abcdef")
    with pytest.raises(ConfigError, match="key init --from"):
        pseudonymise("x")
    assert main(["key", "init", "--from", str(legacy)]) == 0
    assert pseudonymise("x") == pseudonymise("x", b"0123456789abcdef0123456789abcdef")


def test_simulate_out_onto_a_foreign_folder_is_refused(tmp_path, capsys):
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("keep")
    assert main(["simulate", "-n", "50", "--months", "13", "--out", str(home)]) == 6
    assert (home / "notes.txt").read_text() == "keep"
    assert "holds other files (notes.txt)" in capsys.readouterr().err


def test_work_folder_of_a_killed_run_is_removed_by_the_next_run(tmp_path, monkeypatch):
    import tempfile

    from smecredit.io import work_dir

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the system temp folder of this test
    code = textwrap.dedent("""
        import os, signal
        from smecredit.io import work_dir
        with work_dir("smecredit-chunks-") as tmp:
            (tmp / "part.parquet").write_bytes(b"x" * 1000)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TMPDIR": str(tmp_path)}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == -9
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith("smecredit-chunks-")
    with work_dir("smecredit-chunks-") as mine:
        assert [p.name for p in tmp_path.iterdir()] == [mine.name]
    assert list(tmp_path.iterdir()) == []


def test_folder_swap_interrupted_between_its_two_renames_restores_the_previous_folder(tmp_path):
    """A run killed after moving the old folder aside but before moving the new one in: the next run
    writing the same output brings the old folder back before anything else."""
    out = tmp_path / "feat"
    write_feature_dir(_features_frame(), out, manifest={"run": 1})
    out.rename(tmp_path / ".feat.old")  # the state such a kill leaves
    with pytest.raises(Exception):  # noqa: B017 - the next run fails too
        write_feature_dir(_features_frame(bad=True), out, manifest={"run": 2})
    assert json.loads((out / "manifest.json").read_text())["run"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feat"]


def test_chunked_features_report_a_corrupt_table_cleanly(tmp_path, capsys):
    raw = _raw_with(tmp_path, b"PAR1 not parquet at all")
    for name in ("loans", "loan_monthly"):
        (raw / f"{name}.parquet").write_bytes(_parquet_bytes())
    out = tmp_path / "feat"
    assert main(["features", "--raw", str(raw), "--out", str(out), "--snapshots", "2025-06-30",
                 "--chunk-size", "10"]) == 3
    assert not out.exists()
    err = capsys.readouterr().err
    assert "enterprises.parquet: not a valid Parquet file" in err and "Traceback" not in err
