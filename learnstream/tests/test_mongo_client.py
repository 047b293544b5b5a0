"""The MongoClient's options: retryable writes follow MONGO_URI (on by default, as a replica set wants;
the embedded SecantusDB's URIs turn them off, see learnstream/mongo.py), and the deadline applies."""

from pathlib import Path

import pytest
from bson import ObjectId

from learnstream import mongo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_client(settings):
    """A process client built from the settings of the test, closed afterwards."""
    mongo.close_client()
    yield settings
    mongo.close_client()


@pytest.mark.parametrize(("query", "retry_writes"), [("", True), ("/?retryWrites=false", False)])
def test_retryable_writes_follow_the_uri(fresh_client, query, retry_writes):
    base = fresh_client.MONGO_URI.split("/?")[0].rstrip("/")
    fresh_client.MONGO_URI = base + query

    client = mongo.get_client()
    collection = mongo.get_db()["client_probe"]
    marker = ObjectId()
    collection.insert_one({"_id": marker})  # the server accepts writes either way

    assert client.options.retry_writes is retry_writes
    assert client.options.timeout == fresh_client.MONGO_TIMEOUT_MS / 1000
    assert collection.count_documents({"_id": marker}) == 1
    collection.delete_one({"_id": marker})


def test_the_embedded_default_and_the_bench_turn_retryable_writes_off():
    run_script = (ROOT / "scripts" / "run.sh").read_text()
    bench = (ROOT / "bench" / "run.py").read_text()

    assert "export MONGO_URI=${MONGO_URI:-mongodb://127.0.0.1:$MONGO_PORT/?retryWrites=false}" in run_script
    assert 'mongo_uri = f"mongodb://127.0.0.1:{self.mongo.port}/?retryWrites=false"' in bench
