"""What a function's execution role grants, read from moto IAM: here, whether it may write to EFS.

On AWS an access point mounted by a role without ``elasticfilesystem:ClientWrite`` is read-only
(writes fail with EROFS); the local cloud reproduces that by mounting the access point's folder
read-only unless the role's policies allow the action on the file system.

The evaluation is deliberately simple (and documented in the local cloud's README):
- the role's inline policies and the default versions of its attached managed policies count;
  permissions boundaries, SCPs, session policies and file system policies do not;
- a statement matches when one of its ``Action`` patterns and one of its ``Resource`` patterns
  match (``*`` and ``?`` wildcards; actions case-insensitively); ``NotAction``/``NotResource``
  statements are skipped and ``Condition`` blocks are ignored (so the module's condition on the
  access point ARN is taken as met);
- a matching ``Deny`` wins over any ``Allow``; no matching ``Allow`` means denied.
A role moto does not know (or moto not answering) grants nothing: the safe side.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError

from harness.localcloud.moto_lookup import moto_client

log = logging.getLogger(__name__)

EFS_WRITE_ACTION = "elasticfilesystem:ClientWrite"

PolicyDocument = Mapping[str, Any]


@lru_cache(maxsize=256)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile("".join(parts), re.IGNORECASE if ignore_case else 0)


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(item) for item in value]


def _matches(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    if "NotAction" in statement or "NotResource" in statement:
        return False
    actions = _listed(statement.get("Action"))
    resources = _listed(statement.get("Resource"))
    return any(_pattern(a, True).fullmatch(action) for a in actions) and any(
        _pattern(r, False).fullmatch(resource) for r in resources
    )


def allows(documents: Iterable[PolicyDocument], action: str, resource: str) -> bool:
    """True if some statement allows ``action`` on ``resource`` and none denies it."""
    allowed = False
    for document in documents:
        statements = document.get("Statement") or []
        for statement in [statements] if isinstance(statements, Mapping) else statements:
            if not _matches(statement, action, resource):
                continue
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _document(value: Any) -> PolicyDocument:
    """boto3 decodes policy documents; a raw (URL-encoded) JSON string is decoded here."""
    return value if isinstance(value, Mapping) else json.loads(unquote(str(value)))


def role_policies(moto_url: str, role_arn: str) -> list[PolicyDocument]:
    """The inline and attached managed policies of the role named by ``role_arn``, from moto."""
    iam = moto_client("iam", moto_url)
    name = role_arn.rsplit("/", 1)[-1]
    documents: list[PolicyDocument] = []
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
        for policy_name in page["PolicyNames"]:
            found = iam.get_role_policy(RoleName=name, PolicyName=policy_name)
            documents.append(_document(found["PolicyDocument"]))
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
        for attached in page["AttachedPolicies"]:
            arn = attached["PolicyArn"]
            try:
                version_id = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
                version = iam.get_policy_version(PolicyArn=arn, VersionId=version_id)
            except ClientError as exc:  # e.g. an AWS managed policy moto does not carry: grants nothing
                log.info("role %s: cannot read attached policy %s (%s); skipped", name, arn, exc)
                continue
            documents.append(_document(version["PolicyVersion"]["Document"]))
    return documents


def role_allows(moto_url: str, role_arn: str, action: str, resource: str) -> bool:
    """Whether the role may ``action`` on ``resource``; False when the role cannot be read."""
    if not role_arn:
        return False
    try:
        documents = role_policies(moto_url, role_arn)
    except (ClientError, BotoCoreError) as exc:
        log.warning("cannot read the policies of %s from moto (%s): it grants nothing locally", role_arn, exc)
        return False
    return allows(documents, action, resource)
