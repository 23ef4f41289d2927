"""ECR repository URIs: the one pattern that the image pusher and the local cloud's puller parse.

``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]``; the local target
maps such a URI onto the local registry, keeping ``repo`` (the repository and its tag or digest).
"""

from __future__ import annotations

import re

ECR_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repo>.+)$"
)
