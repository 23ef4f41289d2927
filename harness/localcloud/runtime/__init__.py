"""Lambda execution environments: start, reuse, limit, time out, reap. Calls only the Docker layer."""
