"""Multi-model extractive question answering on AWS Lambda.

Entry points (both in the one image): ``inference.handler.handler`` (the HTTP API and direct
invokes) and ``inference.seed.handler`` (copies a manifest's models from S3 to an EFS mount).
Importing this package imports nothing heavy: an engine runtime (torch + transformers, or
onnxruntime) loads only through ``inference.engines``, S3 clients only with the S3 store.
"""
