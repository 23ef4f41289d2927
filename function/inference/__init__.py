"""Multi-model extractive question answering on AWS Lambda.

Entry points (both in the one image): ``inference.handler.handler`` (the HTTP API and direct
invokes) and ``inference.seed.handler`` (copies a manifest's models from S3 to an EFS mount).
Importing this package imports nothing heavy: torch and transformers load only with
``inference.qa``, boto3 only with the S3 store.
"""
