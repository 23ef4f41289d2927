"""The benchmark: every variant x engine (catalog): cold start, warm latency, switching, S3,
concurrency, accuracy through the endpoint and in-process per engine, image size.

``run.run_benchmark`` is the entry point (``make bench``, ``python -m harness bench``); the
method is written up in ``bench/README.md``.
"""
