"""Benchmark settings: the production settings plus one bare DRF endpoint (the framework ceiling).

Only bench/ uses this module (DJANGO_SETTINGS_MODULE=bench.settings), so production URLs never
change. Everything else, including DJANGO_ENV=production and its checks, comes from the environment
exactly as in production.
"""

from learnstream.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
