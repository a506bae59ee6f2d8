"""Redis access: the connection, the key schema and the errors that mean Redis is unreachable."""
