"""Bounds of what the stores can hold, shared by every serializer that takes a number or an id."""

# MongoDB's widest integer (int64) and PostgreSQL's bigint (user ids): a wider value raises
# OverflowError in the BSON encoder, and a number in between has no row anyway.
INT64_MAX = 2**63 - 1
