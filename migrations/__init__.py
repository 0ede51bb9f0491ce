"""Alembic migrations of the catalog (run with `aigc-prov db upgrade`)."""
