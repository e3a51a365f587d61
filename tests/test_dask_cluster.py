"""A real Dask cluster on localhost, started through `dask scheduler` and `dask worker` (their own CLIs).

Two single-threaded workers with their own model store (so they enhance afresh)
compute a suite whose per-utterance values must equal a local run's; a third
worker reporting another gtcrn-bench version is refused by name; a TLS cluster
(certificates made here with the openssl CLI) runs a suite, and clients without
its certificate are refused.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from test_suite_run import write_suite
from typer.testing import CliRunner

from conftest import MINI
from gtcrn_bench.cli import app

distributed = pytest.importorskip("distributed")

cli = CliRunner()
DASK = str(Path(sys.executable).with_name("dask"))
RUNNERS = [{"name": "noisy"}, {"name": "gtcrn-offline", "params": {"checkpoint": "vctk"}}]
METRICS = ["si_sdr", "stoi"]
STARTUP_S = 120  # liveness bound for processes to come up on a busy machine (not a speed test)


class Cluster:
    """A scheduler and workers started as separate process groups, all stopped at the end."""

    def __init__(self, tmp: Path, env: dict[str, str], tls: list[str]) -> None:
        self.tmp, self.env, self.tls = tmp, env, tls
        self.file = tmp / "scheduler.json"
        self.processes: list[subprocess.Popen] = []
        protocol = ["--protocol", "tls"] if tls else []
        scheduler = [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", *protocol, *tls]
        self.start([*scheduler, "--scheduler-file", str(self.file)])
        deadline = time.monotonic() + STARTUP_S
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.address = json.loads(self.file.read_text())["address"]

    def start(self, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.tmp / f"process{len(self.processes)}.log", "w")  # noqa: SIM115  (closed with the process)
        process = subprocess.Popen(
            args, env=env or self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def add_worker(self, name: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        args = [DASK, "worker", "--scheduler-file", str(self.file), "--nworkers", "1", "--nthreads", "1"]
        args += ["--name", name, "--host", "127.0.0.1", "--no-dashboard", *self.tls, *extra]
        return self.start(args, env)

    def wait_for(self, workers: int, security: object = None) -> None:
        with distributed.Client(self.address, security=security, timeout=STARTUP_S) as client:
            client.wait_for_workers(workers, timeout=STARTUP_S)

    def stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def close(self) -> None:
        for process in reversed(self.processes):
            self.stop(process)


def worker_env(model_home: Path, tmp: Path) -> dict[str, str]:
    """The workers' environment: a store of their own (the models, no cache), non-daemonic, one thread."""
    home = tmp / "worker-home"
    shutil.copytree(model_home, home, ignore=shutil.ignore_patterns("cache"))
    return {
        **os.environ,
        "GTCRN_BENCH_HOME": str(home),
        "DASK_DISTRIBUTED__WORKER__DAEMON": "False",
        "OMP_NUM_THREADS": "1",
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, model_home: Path) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("dask")
    running = Cluster(tmp, worker_env(model_home, tmp), tls=[])
    try:
        running.add_worker("worker-a")
        running.add_worker("worker-b")
        running.wait_for(2)
        yield running
    finally:
        running.close()


def values(folder: Path) -> pd.DataFrame:
    frame = pd.read_csv(folder / "per_utterance.csv", dtype={"error": str})
    return frame[["runner", "utterance", *METRICS, "error"]].sort_values(["runner", "utterance"]).reset_index(drop=True)


def test_a_cli_started_cluster_gives_the_local_runs_values(cluster: Cluster, tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "s.yaml", MINI, RUNNERS, metrics=METRICS, complexity=False)
    on_dask = tmp_path / "dask"
    result = cli.invoke(
        app,
        [
            "run",
            str(suite),
            "--out",
            str(on_dask),
            "--limit",
            "3",
            "--executor",
            "dask",
            "--scheduler",
            cluster.address,
        ],
    )
    assert result.exit_code == 0, result.output
    result = cli.invoke(app, ["run", str(suite), "--out", str(tmp_path / "local"), "--limit", "3", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert len(values(on_dask)) == 6 and values(on_dask)["error"].isna().all()
    # the same code on the same CPU, one thread each: the same numbers, not merely close ones
    pd.testing.assert_frame_equal(values(on_dask), values(tmp_path / "local"), check_exact=True)
    rows = pd.read_csv(on_dask / "per_utterance.csv")
    assert rows.loc[rows["runner"] == "gtcrn-offline", "process_s"].notna().all()  # enhanced on the workers
    executor = json.loads((on_dask / "metadata.json").read_text())["executor"]
    assert executor["kind"] == "dask" and executor["scheduler"] == cluster.address and not executor["embedded"]
    workers = executor["workers"].values()
    assert sorted(w["name"] for w in workers) == ["worker-a", "worker-b"]
    assert all(w["host"] and w["cpu"]["model"] and w["nthreads"] == 1 and w["threads_per_pair"] == 1 for w in workers)


def test_a_worker_with_another_version_is_refused_by_name(cluster: Cluster, tmp_path: Path) -> None:
    preload = tmp_path / "other_version.py"
    preload.write_text("import gtcrn_bench\n\ngtcrn_bench.__version__ = '0.0.0-other'\n")
    odd = cluster.add_worker("worker-odd", "--preload", str(preload))
    try:
        cluster.wait_for(3)
        suite = write_suite(tmp_path / "s.yaml", MINI, [{"name": "noisy"}], metrics=["si_sdr"], complexity=False)
        args = ["run", str(suite), "--out", str(tmp_path / "o"), "--limit", "2", "--executor", "dask"]
        result = cli.invoke(app, [*args, "--scheduler", cluster.address])
        output = " ".join(result.output.split())
        assert result.exit_code == 2, result.output
        assert "refusing mismatched workers: worker-odd (tcp://127.0.0.1:" in output
        assert "gtcrn-bench version 0.0.0-other (here: 0.1.0)" in output
        assert "worker-a" not in output and "worker-b" not in output
    finally:
        cluster.stop(odd)


def make_certificates(folder: Path, name: str) -> list[str]:
    """A CA and one certificate it signs for localhost (scheduler, workers and client share it here)."""
    folder.mkdir()

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
            "-subj", f"/CN={name} test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr", "-subj", f"/CN={name}")
    (folder / "san.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    signer = ["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"]
    openssl("x509", "-req", "-in", "node.csr", *signer, "-out", "node.pem", "-days", "1", "-extfile", "san.cnf")
    return [str(folder / f) for f in ("ca.pem", "node.pem", "node.key")]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make certificates")
def test_a_tls_cluster_runs_a_suite_and_refuses_clients_without_its_certificate(
    tmp_path: Path, model_home: Path
) -> None:
    ca, cert, key = make_certificates(tmp_path / "certs", "localhost")
    tls = ["--tls-ca-file", ca, "--tls-cert", cert, "--tls-key", key]
    running = Cluster(tmp_path, worker_env(model_home, tmp_path), tls=tls)
    try:
        assert running.address.startswith("tls://127.0.0.1:")
        running.add_worker("tls-worker")
        client_tls = distributed.security.Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key)
        running.wait_for(1, security=client_tls)
        suite = write_suite(tmp_path / "s.yaml", MINI, [{"name": "noisy"}], metrics=["si_sdr"], complexity=False)
        args = ["run", str(suite), "--limit", "2", "--executor", "dask", "--scheduler", running.address]
        result = cli.invoke(
            app, [*args, "--out", str(tmp_path / "o"), "--tls-ca", ca, "--tls-cert", cert, "--tls-key", key]
        )
        assert result.exit_code == 0, result.output
        assert len(pd.read_csv(tmp_path / "o" / "per_utterance.csv")) == 2
        result = cli.invoke(app, [*args, "--out", str(tmp_path / "plain")])  # no certificate at all
        assert result.exit_code == 2 and "cannot reach the Dask scheduler" in result.output
        rogue = make_certificates(tmp_path / "rogue", "localhost")  # a certificate the cluster's CA never signed
        result = cli.invoke(app, [*args, "--out", str(tmp_path / "rogue-run"), "--tls-ca", rogue[0],
                                  "--tls-cert", rogue[1], "--tls-key", rogue[2]])  # fmt: skip
        assert result.exit_code == 2 and "cannot reach the Dask scheduler" in result.output
        assert not (tmp_path / "plain").exists()  # refused before any file was written
    finally:
        running.close()
