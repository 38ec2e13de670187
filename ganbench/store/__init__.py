"""Where results are stored: the results database (SQLite or PostgreSQL through SQLAlchemy),
its schema versions, run liveness, and merging databases."""
