"""The terminal chat: a thin adapter that reads questions from stdin and prints the core's replies."""
