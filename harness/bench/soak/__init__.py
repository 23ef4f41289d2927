"""``make soak``: one stack under steady load for minutes, watched for errors and for growth.

Split by job: ``probes`` (what the host can read: a process's RSS, a container's memory, a
folder's size), ``sampler`` (those probes every ~10 s into ``records.Sample``), ``load`` (the
clients at a fixed concurrency over the catalog's models), ``summary`` (the arithmetic: windows,
flatness, growth per minute, the targets), ``records`` (the typed soak.json), ``report`` (its
section in results.md and the README, and soak.png), ``options`` (the command line, light for the
harness CLI), ``run`` (deploy or reuse, ramp, soak, destroy).
"""
