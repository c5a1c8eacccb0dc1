"""What both sides share: the problems type, the schema of schema/ and what is derived from it."""
