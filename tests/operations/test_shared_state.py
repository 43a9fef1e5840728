"""State several app servers must share: uploads (an S3-compatible bucket) and rate limits."""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import pytest

from fieldsvc import create_app
from fieldsvc.extensions import db
from fieldsvc.ops.shared_state import SharedStateError, check_rate_limit_storage
from tests.conftest import authed_client
from tests.mobile.conftest import world  # noqa: F401 - the technician's day, as a fixture
from tests.operations.conftest import free_port, wait_for_port

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4


@pytest.fixture
def s3_server(monkeypatch):
    """A real S3-compatible server (moto's server mode) on a free local port."""
    pytest.importorskip("boto3")
    executable = os.environ.get("FIELDSVC_TEST_MOTO_SERVER") or shutil.which("moto_server")
    if not executable:
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    process = subprocess.Popen([executable, "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        import boto3

        url = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(
            Bucket="fieldsvc-uploads")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _server(app, tmp_path, name: str, s3_url: str):
    """Another app server: the same database and bucket, a disk of its own."""
    return create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret", "RATELIMIT_ENABLED": False,
        "INSTANCE_PATH": str(tmp_path / name), "STORAGE": "s3",
        "S3_BUCKET": "fieldsvc-uploads", "S3_ENDPOINT_URL": s3_url, "S3_PREFIX": "uploads/",
    })


def test_a_photo_uploaded_through_one_server_is_served_by_another(app, world, tmp_path,  # noqa: F811
                                                                    s3_server):
    one, two = (_server(app, tmp_path, name, s3_server) for name in ("one", "two"))
    try:
        client_one = authed_client(one, "technician", technician_id=world.tech.id)
        client_two = two.test_client()
        client_two.environ_base["HTTP_AUTHORIZATION"] = client_one.environ_base[
            "HTTP_AUTHORIZATION"]
        url = f"/api/mobile/v1/jobs/{world.jobs[0].id}/attachments"
        uploaded = client_one.post(url, data={"kind": "photo",
                                              "file": (io.BytesIO(JPEG), "before.jpg")},
                                   content_type="multipart/form-data")
        assert uploaded.status_code == 201, uploaded.json
        attachment_id = uploaded.json["attachment"]["id"]
        served = client_two.get(f"{url}/{attachment_id}")
        assert served.status_code == 200
        assert served.data == JPEG and served.mimetype == "image/jpeg"
        # Nothing was kept on either server's disk.
        for name in ("one", "two"):
            assert not (tmp_path / name / "uploads").exists()
    finally:
        for server in (one, two):
            with server.app_context():
                db.engine.dispose()


def test_several_workers_on_memory_limits_are_refused_unless_meant():
    memory = {"RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_ENABLED": True,
              "RATELIMIT_PER_PROCESS_OK": False}
    check_rate_limit_storage(1, memory)  # one process: its memory is the deployment's
    with pytest.raises(SharedStateError, match="REDIS_URL"):
        check_rate_limit_storage(4, memory)
    check_rate_limit_storage(4, {**memory, "RATELIMIT_PER_PROCESS_OK": True})
    check_rate_limit_storage(4, {**memory, "RATELIMIT_STORAGE_URI": "redis://h:6379/0"})


def test_redis_url_shares_the_rate_limit_counters(monkeypatch, tmp_path):
    from fieldsvc.config import from_environment

    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://10.0.0.5:6379/2")
    assert from_environment(str(tmp_path))["RATELIMIT_STORAGE_URI"] == "redis://10.0.0.5:6379/2"
    monkeypatch.delenv("REDIS_URL")
    assert from_environment(str(tmp_path))["RATELIMIT_STORAGE_URI"] == "memory://"
