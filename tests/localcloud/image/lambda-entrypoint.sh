#!/bin/sh
# The RIE stands in for Lambda's Runtime API when AWS_LAMBDA_RUNTIME_API is unset (locally).
set -eu
if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
    exec /usr/local/bin/aws-lambda-rie /usr/bin/python3 -m awslambdaric "$@"
fi
exec /usr/bin/python3 -m awslambdaric "$@"
