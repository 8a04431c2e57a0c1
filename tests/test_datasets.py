"""Finding, verifying and downloading dataset files (a real local HTTP server, no mocks)."""
import hashlib
import http.server
import io
import tarfile
import threading
from pathlib import Path

import pytest

from arena import datasets
from arena.datasets import DataFile, Dataset, DataMissingError, require, status


@pytest.fixture
def toy_dataset(tmp_path):
    """A two-file dataset registered for the test, served by a real HTTP server."""
    payload = b"hello arena\n" * 100
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w:gz") as tar:
        info = tarfile.TarInfo("pack/inner.txt")
        inner = b"inner file\n"
        info.size = len(inner)
        tar.addfile(info, io.BytesIO(inner))
    served = tmp_path / "served"
    served.mkdir()
    (served / "plain.bin").write_bytes(payload)
    (served / "pack.tgz").write_bytes(tar_bytes.getvalue())

    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(served), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    ds = datasets.register(Dataset("toy", (
        DataFile("plain.bin", f"{base}/plain.bin", sha256=hashlib.sha256(payload).hexdigest()),
        DataFile("inner.txt", f"{base}/pack.tgz", md5=hashlib.md5(b"inner file\n").hexdigest(),
                 archive_member="pack/inner.txt"),
    )))
    yield ds
    server.shutdown()
    datasets.REGISTRY.pop("toy", None)


def test_download_verifies_and_caches(toy_dataset, tmp_path, monkeypatch):
    paths = require("toy")
    assert paths["plain.bin"].read_bytes().startswith(b"hello arena")
    assert paths["inner.txt"].read_bytes() == b"inner file\n"
    assert paths["plain.bin"].parent == tmp_path / "cache" / "toy"
    assert not list((tmp_path / "cache" / "toy").glob(".*"))  # no temp files left
    monkeypatch.setenv("ARENA_OFFLINE", "1")  # now found in the cache without the network
    assert require("toy") == paths
    assert {r["dataset"]: r["status"] for r in status()}["toy"] == "verified"


def test_offline_and_missing_is_one_clear_line(toy_dataset, monkeypatch, tmp_path):
    monkeypatch.setenv("ARENA_OFFLINE", "1")
    with pytest.raises(DataMissingError) as err:
        require("toy")
    msg = str(err.value)
    assert "missing plain.bin, inner.txt" in msg and str(tmp_path / "cache" / "toy") in msg
    assert "downloads are off" in msg and "\n" not in msg


def test_unreachable_source_fails_fast():
    # Port 9 on localhost refuses connections: the error names the files, no hang.
    ds = datasets.register(Dataset("toy2", (DataFile("x.bin", "http://127.0.0.1:9/x.bin", sha256="0" * 64),)))
    try:
        with pytest.raises(DataMissingError, match="missing x.bin.*download failed"):
            require("toy2")
    finally:
        datasets.REGISTRY.pop(ds.name)


def test_corrupt_file_is_not_used(shared_data, tmp_path, monkeypatch):
    src = shared_data / "ag_news" / "test.csv"
    bad = tmp_path / "data" / "ag_news"
    bad.mkdir(parents=True)
    (bad / "test.csv").write_bytes(src.read_bytes()[:-10])
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path / "data"))
    from arena.host import get_host

    get_host()  # registers the ag_news dataset
    with pytest.raises(DataMissingError, match="checksum mismatch"):
        require("ag_news", ["test.csv"])


def test_shared_data_verifies(shared_data):
    from arena.host import get_host

    get_host()
    rows = {r["dataset"]: r for r in status()}
    assert rows["cwru"]["status"] == "verified" and rows["cwru"]["verified"] == 37
    assert rows["ag_news"]["status"] == "verified" and rows["ag_news"]["missing_optional"] == "train.csv"
    assert rows["tinyshakespeare"]["status"] == "verified" and rows["tinyshakespeare"]["verified"] == 1
    assert Path(rows["cwru"]["location"]) == shared_data / "cwru"
