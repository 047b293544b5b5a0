"""Refresh tokens stored as SHA-256 digests, not raw JWTs; `User.session_epoch`.

The data step rewrites every stored raw token (`token_blacklist_outstandingtoken.token`) to
`sha256$<hex>` (accounts.tokens.token_digest), in batches. Rows already hashed and the empty `token` of
denylisted access jtis are left alone, so it is idempotent. It cannot be reversed (the raw tokens are
gone by design); reversing only leaves the digests in place.
"""

import hashlib

from django.db import migrations, models

PREFIX = "sha256$"
BATCH = 1000


def hash_stored_tokens(apps, schema_editor):
    outstanding = apps.get_model("token_blacklist", "OutstandingToken")
    pending = outstanding.objects.exclude(token="").exclude(token__startswith=PREFIX).order_by("pk")
    while True:
        rows = list(pending.only("pk", "token")[:BATCH])
        if not rows:
            return
        for row in rows:
            row.token = PREFIX + hashlib.sha256(row.token.encode()).hexdigest()
        outstanding.objects.bulk_update(rows, ["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_token_lineage"),
        ("token_blacklist", "0013_alter_blacklistedtoken_options_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="session_epoch",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(hash_stored_tokens, migrations.RunPython.noop, elidable=False),
    ]
