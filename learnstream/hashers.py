from django.contrib.auth.hashers import Argon2PasswordHasher


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """argon2id with cheap parameters, for the test suite only (same `argon2$argon2id$` format)."""

    time_cost = 1
    memory_cost = 1024
    parallelism = 1
