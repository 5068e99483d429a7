"""A build from and to s3:// against a local S3-compatible server (moto), byte-identical to the local build."""

from __future__ import annotations

import socket

import fsspec
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3(monkeypatch):
    moto_server = pytest.importorskip("moto.server")
    s3fs = pytest.importorskip("s3fs")
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setitem(fsspec.config.conf, "s3", {"client_kwargs": {"endpoint_url": endpoint}})
    s3fs.S3FileSystem.clear_instance_cache()
    fs = fsspec.filesystem("s3")
    fs.mkdir("corpus")
    try:
        yield fs
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


def test_build_from_and_to_s3(s3, reference, kit, tmp_path):
    cache, dropped = kit.copy_cache(reference.cache, tmp_path / "cache", drop_buckets=1)
    s3.put(str(reference.root) + "/", "corpus/raw/", recursive=True)
    s3.put(str(cache) + "/", "corpus/cache/", recursive=True)
    result = kit.build("s3://corpus/raw", "s3://corpus/out", cache="s3://corpus/cache")
    stats = result.report.stats
    assert stats["datasets"] == reference.full.report.stats["datasets"]
    assert stats["tokens"]["encoded"] == dropped  # and their codes were added to the cache on S3
    (fingerprint,) = stats["tokens"]["fingerprints"]
    assert len(s3.find(f"corpus/cache/{fingerprint}")) == len(list((reference.cache / fingerprint).rglob("*.npy")))
    folders = ("shards", "manifest", "rejects")
    assert kit.outputs("s3://corpus/out", *folders) == reference.files(*folders)
    assert not [p for p in s3.find("corpus/out") if "/.tmp-" in p]  # no temporary file left behind
