#!/bin/sh
# Starts the Python runtime interface client (awslambdaric) with the handler given as CMD.
# In Lambda, AWS_LAMBDA_RUNTIME_API is set and the client talks to Lambda's Runtime API directly.
# Anywhere else (docker run, the local cloud) the Runtime Interface Emulator stands in for Lambda:
# it serves the Runtime API to the client and invocations on :8080.
set -eu
PYTHON=/opt/venv/bin/python3
if [ "$#" -eq 0 ]; then
    set -- inference.handler.handler
fi
if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
    exec /usr/local/bin/aws-lambda-rie "$PYTHON" -m awslambdaric "$@"
fi
exec "$PYTHON" -m awslambdaric "$@"
