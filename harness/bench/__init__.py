"""The benchmark (issue 6): cold start, warm latency, switching, S3, concurrency, accuracy, image size.

``run.run_benchmark`` is the entry point (``make bench``, ``python -m harness bench``); the
method is written up in ``bench/README.md``.
"""
