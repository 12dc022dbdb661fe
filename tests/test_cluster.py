"""The whole pipeline on a real SLURM cluster through the profile workflow/profiles/slurm.

A single-host cluster (Debian's slurm-wlm: slurmctld and slurmd on localhost, authenticated
by its own munged) is started in a temporary state directory and stopped afterwards. The
pipeline runs through snakemake-executor-plugin-slurm on a cold copy of the repository;
every job must go through sbatch (the controller's log, squeue and the job-completion
record say so) and every output must be byte-identical to the committed one, which
tests/test_workflow.py checks is what a local run makes.

The jobs' own srun finds no SLURM_CONF (the plugin clears SLURM_* variables), so the test
writes /etc/slurm/slurm.conf, as a cluster's administrator would, and removes it again; it
is skipped where a system configuration exists, where SLURM or munge is not installed and
where it does not run as root (slurmd must).
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
PROFILE = "workflow/profiles/slurm"
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
PROGRAMS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "srun", "sinfo")
#: Committed outputs of the workflow: left out of the copy, compared after the run.
GENERATED = ("data/processed/", "reports/figures/", "reports/tables/", "reports/report.html",
             "reports/report.pdf")  # fmt: skip


def _skip_reason() -> str | None:
    missing = [p for p in PROGRAMS if shutil.which(p, path=SEARCH_PATH) is None]
    if missing:
        return f"SLURM or munge is not installed (missing {', '.join(missing)})"
    if os.geteuid() != 0:
        return "slurmd must run as root to start jobs"
    if SYSTEM_CONF.exists():
        return f"{SYSTEM_CONF} exists: the test does not replace a system SLURM configuration"
    return None


pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason())),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    exe = shutil.which(args[0], path=SEARCH_PATH)
    return subprocess.run([exe, *args[1:]], capture_output=True, text=True, check=False, **kwargs)


def _slurm_conf(state: Path) -> str:
    mem_kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
    return f"""\
# Written by tests/test_cluster.py for a single-host cluster; removed when the test ends.
ClusterName=pipelinetest
SlurmctldHost=localhost
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={state}/munge.socket
CredType=cred/munge
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/spool
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={state}/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MinJobAge=3600
NodeName=localhost NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={mem_kib * 9 // 10240}
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


def _stop(pid_file: Path) -> None:
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, 9)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A running single-host SLURM; yields its state directory (logs, job-completion file)."""
    state = tmp_path_factory.mktemp("slurm")
    state.chmod(0o755)  # munged wants its socket's directory searchable by everyone
    for sub in ("ctld", "spool"):
        (state / sub).mkdir()
    conf = state / "slurm.conf"
    conf.write_text(_slurm_conf(state))
    created_dir = not SYSTEM_CONF.parent.exists()
    SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(conf, SYSTEM_CONF)
    env = {**os.environ, "SLURM_CONF": str(conf)}
    try:
        key = _run("mungekey", "--create", f"--keyfile={state}/munge.key")
        assert key.returncode == 0, key.stderr
        munged = _run(
            "munged",
            "--force",
            f"--socket={state}/munge.socket",
            f"--key-file={state}/munge.key",
            f"--log-file={state}/munged.log",
            f"--pid-file={state}/munged.pid",
            f"--seed-file={state}/munged.seed",
        )
        assert munged.returncode == 0, munged.stderr
        ctld = _run("slurmctld", "-f", str(conf), env=env)
        assert ctld.returncode == 0, ctld.stderr
        slurmd = _run("slurmd", "-f", str(conf), "-N", "localhost", env=env)
        assert slurmd.returncode == 0, slurmd.stderr
        for _ in range(120):
            if _run("sinfo", "-h", "-o", "%t", env=env).stdout.strip() == "idle":
                break
            time.sleep(0.5)
        else:
            log = (state / "slurmctld.log").read_text()[-2000:]
            pytest.fail(f"the node never became idle; slurmctld log:\n{log}")
        yield state
    finally:
        _stop(state / "slurmd.pid")
        _stop(state / "slurmctld.pid")
        _stop(state / "munged.pid")
        if SYSTEM_CONF.exists() and SYSTEM_CONF.read_text() == conf.read_text():
            SYSTEM_CONF.unlink()
        if created_dir and not any(SYSTEM_CONF.parent.iterdir()):
            SYSTEM_CONF.parent.rmdir()


def _tracked_files() -> list[str]:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                             check=True).stdout.decode()  # fmt: skip
    return [name for name in listing.split("\0") if name and (REPO / name).is_file()]


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    """A cold copy of the repository run through the SLURM profile."""
    root = tmp_path_factory.mktemp("repo")
    for name in [*_tracked_files(), *(str(p.relative_to(REPO)) for p in REPO.glob("data/raw/*"))]:
        if not name.startswith(GENERATED) and (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    result = subprocess.run(
        [SNAKEMAKE, "--workflow-profile", PROFILE, "--slurm-no-account",
         "--slurm-init-seconds-before-status-checks", "2"],
        cwd=root, capture_output=True, text=True, check=False, timeout=1800,
        env={**os.environ, "SLURM_CONF": str(cluster / "slurm.conf")},
    )  # fmt: skip
    return root, result


def test_the_whole_pipeline_runs_through_the_slurm_profile(slurm_run):
    _, result = slurm_run
    assert result.returncode == 0, result.stderr[-4000:]
    assert re.search(r"^(\d+) of \1 steps \(100%\) done$", result.stderr, re.M), result.stderr


def test_every_job_went_through_sbatch_and_completed(slurm_run, cluster):
    _, result = slurm_run
    log = result.stderr
    run_id = re.search(r"^SLURM run ID: (\S+)$", log, re.M)[1]
    submitted = dict(re.findall(r"^Job \d+ has been submitted with SLURM jobid (\d+) "
                                r"\(log: \S+/rule_(\w+)/", log, re.M))  # fmt: skip
    rules = set(re.findall(r"^rule (\w+):$", log, re.M))
    assert rules - {"all"}, "no job ran"
    assert set(submitted.values()) == rules - {"all"}  # every job of a rule with an action
    env = {**os.environ, "SLURM_CONF": str(cluster / "slurm.conf")}
    # squeue still shows the finished jobs (MinJobAge = 3600 s here: a slow run of the whole
    # pipeline outlasts the default 300 s), named by the run id
    queue = _run("squeue", "--states=all", "--noheader", "--name", run_id,
                 "--format=%i|%T", env=env).stdout.split()  # fmt: skip
    assert dict(line.split("|") for line in queue) == dict.fromkeys(submitted, "COMPLETED")
    # the controller received each of them as a batch job
    ctld_log = (cluster / "slurmctld.log").read_text()
    batch_ids = set(re.findall(r"_slurm_rpc_submit_batch_job: JobId=(\d+)", ctld_log))
    assert set(submitted) <= batch_ids
    # and the job-completion record (the accounting Debian's SLURM has without slurmdbd)
    records = (cluster / "jobcomp.txt").read_text().splitlines()
    completed = {re.search(r"JobId=(\d+)", r)[1] for r in records
                 if f"Name={run_id} " in r and "JobState=COMPLETED" in r}  # fmt: skip
    assert completed == set(submitted)


def test_the_cluster_run_gives_outputs_byte_identical_to_the_committed_local_run(slurm_run):
    root, result = slurm_run
    assert result.returncode == 0, result.stderr[-4000:]
    expected = [name for name in _tracked_files() if name.startswith(GENERATED)]
    made = sorted(
        str(p.relative_to(root))
        for folder in GENERATED
        for p in ([root / folder] if not folder.endswith("/") else (root / folder).rglob("*"))
        if p.is_file()
    )
    assert made == sorted(expected)
    differing = [n for n in expected if (root / n).read_bytes() != (REPO / n).read_bytes()]
    assert differing == []
