"""gunicorn settings for production (`gunicorn -c gunicorn.conf.py learnstream.wsgi`)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")  # inside a container, behind the proxy
# Sync workers: each request does short, bounded store calls (every store has a 2-3 s timeout).
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak can never take a host down.
max_requests = 1000
max_requests_jitter = 100
# Header limits stay at gunicorn's defaults on purpose.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# Only the local proxy may set X-Forwarded-*.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


def post_fork(server: object, worker: object) -> None:
    # MongoClient is not fork-safe: make sure no client created in the master leaks into a worker.
    from learnstream import mongo

    mongo.close_client()
