"""Alembic migrations of the kit's database, shipped inside the package.

`lab_server.schema` runs them (`lab-server db upgrade`, and `Store.init_schema()` at start);
`alembic.ini` is not needed: the script location is this folder.
"""
