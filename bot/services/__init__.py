"""Use cases: each function takes a database session and does one thing a user asked for."""
