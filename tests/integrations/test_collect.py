"""`grader collect` turns repositories, folders and zips into one folder per student.

`grader collect`: student repositories, folders and zips become one folder per student
holding the exercise files only; links, bad zips and name clashes are reported, not followed."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

from grader.integrations.ci.collect import MAX_FILE_BYTES, collect

ROOT = Path(__file__).resolve().parents[2]
IDS = ["softmax_ce", "linreg_gd"]


def _git_repo(folder: Path, date: str) -> None:
    (folder / "exercises").mkdir(parents=True)
    (folder / "exercises" / "softmax_ce.py").write_text("x = 1\n")
    (folder / "README.md").write_text("not collected")
    env = {**os.environ, "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date,
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for command in (["init", "-q"], ["add", "-A"],
                    ["-c", "user.name=a", "-c", "user.email=a@example.org", "commit", "-qm", "x"]):
        subprocess.run(["git", *command], cwd=folder, env=env, check=True, capture_output=True)


def test_collects_repositories_folders_and_zips(tmp_path):
    source = tmp_path / "submissions"
    _git_repo(source / "ana", "2026-12-03T10:00:00+01:00")
    (source / "ben").mkdir()
    (source / "ben" / "linreg_gd.ipynb").write_text("{}")
    (source / "ben" / "linreg_gd.py").write_text("y = 2\n")  # .py wins, as in grading
    with zipfile.ZipFile(source / "cai.zip", "w") as archive:
        archive.writestr("cai-main/exercises/softmax_ce.py", "z = 3\n")
        archive.writestr("../../evil/softmax_ce.py", "escape attempt\n")
        archive.writestr("cai-main/solutions/linreg_gd.py", "not where exercises are\n")
    (source / "dee").mkdir()  # nothing submitted
    (source / "notes.txt").write_text("not a student")
    out = tmp_path / "collected"
    assert collect([source], out, IDS) == 0

    assert sorted(p.name for p in out.iterdir()) == ["ana", "ben", "cai", "collected.json",
                                                      "dee"]
    assert sorted(p.name for p in (out / "ana").iterdir()) == ["softmax_ce.py", "timestamp.txt"]
    assert (out / "ana" / "timestamp.txt").read_text() == "2026-12-03T10:00:00+01:00\n"
    assert sorted(p.name for p in (out / "ben").iterdir()) == ["linreg_gd.py"]
    assert (out / "cai" / "softmax_ce.py").read_text() == "z = 3\n"
    assert sorted(p.name for p in (out / "cai").iterdir()) == ["softmax_ce.py"]
    assert list((out / "dee").iterdir()) == []
    assert not (tmp_path / "evil").exists()
    manifest = json.loads((out / "collected.json").read_text())
    assert manifest["ana"]["kind"] == "git" and manifest["cai"]["kind"] == "zip"
    assert manifest["cai"]["files"] == {"softmax_ce": "cai-main/exercises/softmax_ce.py"}
    assert manifest["ben"]["files"] == {"linreg_gd": "linreg_gd.py"}


def test_links_bad_zips_and_clashes_are_reported_not_followed(tmp_path, capsys):
    source, second = tmp_path / "submissions", tmp_path / "late"
    (source / "eve").mkdir(parents=True)
    (source / "eve" / "softmax_ce.py").symlink_to(ROOT / "solutions" / "softmax_ce.py")
    (source / "eve" / "exercises").symlink_to(ROOT / "solutions")
    (source / "mallory").symlink_to(ROOT / "solutions", target_is_directory=True)
    (source / "bad.zip").write_bytes(b"PK\x03\x04 not really a zip")
    (second / "eve").mkdir(parents=True)
    (second / "eve" / "softmax_ce.py").write_text("late = True\n")
    big = tmp_path / "big"
    (big / "gus").mkdir(parents=True)
    with open(big / "gus" / "linreg_gd.py", "wb") as f:
        f.truncate(MAX_FILE_BYTES + 10)  # sparse: no disk used
    out = tmp_path / "collected"
    assert collect([source, second, big], out, IDS) == 0
    err = capsys.readouterr()
    assert "mallory is a symbolic link; skipped" in err.err
    assert not (out / "mallory").exists()
    assert list((out / "eve").iterdir()) == []  # not the reference, not the late copy
    manifest = json.loads((out / "collected.json").read_text())
    assert "softmax_ce.py is a symbolic link: not collected" in manifest["eve"]["problems"]
    assert "exercises is a symbolic link: not collected" in manifest["eve"]["problems"]
    assert any("another submission with this name" in p for p in manifest["eve"]["problems"])
    assert "could not be read as a zip file" in manifest["bad"]["problems"][0]
    assert (out / "gus" / "linreg_gd.py").stat().st_size == MAX_FILE_BYTES + 1


def test_collect_never_overwrites_a_folder_it_did_not_write(tmp_path, capsys):
    source = tmp_path / "submissions"
    (source / "ana").mkdir(parents=True)
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("mine")
    assert collect([source], out, IDS) == 2
    assert collect([source], source / "inside", IDS) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    fresh = tmp_path / "fresh"
    assert collect([source], fresh, IDS) == 0
    assert collect([source], fresh, IDS) == 0  # its own output: collected again
