"""``ckg export`` killed (SIGKILL) at any moment (issue 8, class 12): the target holds the whole old or
the whole new export, the next run clears what the killed one left, and no helper outlives its parent."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from exports import swap

pytestmark = pytest.mark.hostile
REPO = Path(__file__).resolve().parent.parent
BASES = ("https://example.org/old/", "https://example.org/new/")
NO_EXCHANGE = "import exports.swap; exports.swap.exchange_supported = False; "


def start_export(out: Path, base: str, *, kill_at: str | None = None, prelude: str = "") -> subprocess.Popen:
    env = {**os.environ, "CKG_TEST_KILL_AT": kill_at or ""}
    code = prelude + "from ckg.cli import main; main()"
    return subprocess.Popen([sys.executable, "-c", code, "export", "--out", str(out), "--base", base], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def export(out: Path, base: str, **options) -> int:
    process = start_export(out, base, **options)
    _, errors = process.communicate(timeout=120)
    assert process.returncode in (0, -signal.SIGKILL), errors
    return process.returncode


def whole_export_of(out: Path) -> str:
    """The base of the export in ``out``, after checking that every file the manifest lists is there, whole."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        data = (out / entry["name"]).read_bytes()
        assert len(data) == entry["bytes"] and hashlib.sha256(data).hexdigest() == entry["sha256"], entry["name"]
    assert {p.name for p in out.iterdir()} == {e["name"] for e in manifest["files"]} | {"manifest.json"}
    return manifest["metadata"]["base"]


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


@pytest.mark.parametrize("step", ["staged", "written", "swapped"])
def test_a_kill_at_each_step_leaves_a_whole_export_and_the_next_run_clears_up(tmp_path, step):
    out = tmp_path / "dist"
    assert export(out, BASES[0]) == 0
    assert export(out, BASES[1], kill_at=step) == -signal.SIGKILL
    assert whole_export_of(out) == (BASES[1] if step == "swapped" else BASES[0])
    assert leftovers(out), "the kill left nothing behind: this step was not reached"
    assert export(out, BASES[1]) == 0
    assert whole_export_of(out) == BASES[1]
    assert leftovers(out) == []


def test_without_an_atomic_exchange_a_kill_between_the_renames_is_repaired_by_the_next_run(tmp_path):
    out = tmp_path / "dist"
    assert export(out, BASES[0]) == 0
    assert export(out, BASES[1], kill_at="parked", prelude=NO_EXCHANGE) == -signal.SIGKILL
    assert not out.exists()  # the fallback's window: why the exchange is preferred where it exists
    with swap.exclusive(out):
        swap.clear_leftovers(out)
    assert whole_export_of(out) == BASES[0] and leftovers(out) == []
    assert export(out, BASES[1], prelude=NO_EXCHANGE) == 0
    assert whole_export_of(out) == BASES[1] and leftovers(out) == []


def test_kills_at_many_moments_never_leave_the_target_without_a_whole_export(tmp_path):
    out = tmp_path / "dist"
    started = time.monotonic()
    assert export(out, BASES[0]) == 0
    duration = time.monotonic() - started  # calibrates the delays below; nothing is asserted about it
    for run in range(14):
        base = BASES[(run + 1) % 2]
        process = start_export(out, base)
        time.sleep(duration * (0.3 + 0.8 * run / 13))  # from start-up to past the end of a run
        process.kill()
        process.wait(timeout=60)
        assert whole_export_of(out) in BASES
    assert export(out, BASES[1]) == 0
    assert whole_export_of(out) == BASES[1] and leftovers(out) == []


def test_concurrent_exports_into_one_folder_wait_for_each_other(tmp_path):
    out = tmp_path / "dist"
    runs = [start_export(out, BASES[i % 2]) for i in range(4)]
    for process in runs:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors  # none removed another's staging folder
    assert whole_export_of(out) in BASES and leftovers(out) == []


ORPHAN_SCRIPTS = {
    "forked writer": """
        import os, time
        from ontology.parallel import side_by_side
        def helper():
            open(PIDS, "a").write(f"{os.getpid()}\\n")
            time.sleep(120)
        side_by_side(lambda: time.sleep(120), helper, helper)
    """,
    "loader worker": """
        import os, time
        from pathlib import Path
        import ontology.loader as loader
        def slow(item):
            open(PIDS, "a").write(f"{os.getpid()}\\n")
            time.sleep(120)
        loader.PARALLEL_FROM = 1
        loader._read_one_competency = slow
        list(loader._read_competencies([(Path("x.yaml"), "x.yaml")] * 2, jobs=2))
    """,
}


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.parametrize("kind", ORPHAN_SCRIPTS)
def test_helpers_die_with_a_killed_parent(tmp_path, kind):
    pids = tmp_path / "pids"
    script = f"PIDS = {str(pids)!r}\n" + textwrap.dedent(ORPHAN_SCRIPTS[kind])
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(pids.read_text().split() if pids.exists() else []) < 2:
        time.sleep(0.05)
    helpers = [int(p) for p in pids.read_text().split()]
    assert len(helpers) == 2 and all(alive(pid) for pid in helpers)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30  # a bound on waiting, not a speed claim: the kernel kills them at once
    while time.monotonic() < deadline and any(alive(pid) for pid in helpers):
        time.sleep(0.05)
    survivors = [pid for pid in helpers if alive(pid)]
    for pid in survivors:  # leave no orphan behind when this test fails
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"{kind} processes outlived their parent"


def test_a_killed_build_leaves_the_old_file_and_the_next_build_removes_its_temporary_file(tmp_path):
    target = tmp_path / "graph.ttl"

    def build(base: str, kill_at: str = "") -> int:
        done = subprocess.run([sys.executable, "-m", "ckg.cli", "build", "-o", str(target), "--base", base], cwd=REPO,
                              env={**os.environ, "CKG_TEST_KILL_AT": kill_at}, capture_output=True, text=True, timeout=120)
        assert done.returncode in (0, -signal.SIGKILL), done.stderr
        return done.returncode

    assert build(BASES[0]) == 0
    before = target.read_bytes()
    assert build(BASES[1], "staged") == -signal.SIGKILL
    assert target.read_bytes() == before and leftovers(target)
    assert build(BASES[1]) == 0
    assert BASES[1].encode() in target.read_bytes() and leftovers(target) == []
