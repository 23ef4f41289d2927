"""Runs after test_variants.py (file order): every variant was destroyed by then."""

from __future__ import annotations

import boto3
import docker
import pytest

from harness import localcloud

pytestmark = [pytest.mark.integration, pytest.mark.docker, pytest.mark.localcloud]


def test_destroy_left_no_cloud_resource_and_no_container():
    kwargs = {
        "endpoint_url": localcloud.aws_endpoint_url(),
        "region_name": "us-east-1",
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }
    assert boto3.client("lambda", **kwargs).list_functions()["Functions"] == []
    assert boto3.client("apigatewayv2", **kwargs).get_apis()["Items"] == []
    assert boto3.client("s3", **kwargs).list_buckets()["Buckets"] == []
    assert boto3.client("efs", **kwargs).describe_file_systems()["FileSystems"] == []
    assert boto3.client("ecr", **kwargs).describe_repositories()["repositories"] == []
    engine = docker.from_env()
    assert engine.containers.list(all=True, filters={"label": "lambda-inference.role=function"}) == []
