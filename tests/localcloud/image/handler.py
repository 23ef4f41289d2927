"""The tests' tiny function: one behaviour per ``action``, chosen by the request.

A direct invoke passes ``{"action": ..., ...}``; through API Gateway the action comes from the
JSON body, else from the query string, else it is ``echo``. Every answer reports which
environment served it (pid, hostname, log stream, invocation count) so tests can see reuse.
"""

import base64
import json
import os
import socket
import time
import urllib.request
from pathlib import Path

INVOCATIONS = 0
HOLD = []


def _environment():
    return {
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
        "stream": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
        "invocations": INVOCATIONS,
    }


def _request(event):
    if "requestContext" not in event:
        return event, False
    args = dict(event.get("queryStringParameters") or {})
    body = event.get("body")
    if body:
        raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            args.update(parsed)
    return args, True


def _files(args):
    report = {"uid": os.getuid(), "gid": os.getgid()}
    probe = Path("/tmp/probe.txt")
    probe.write_text("tmp works")
    report["tmp"] = probe.read_text()
    try:
        Path("/var/task/probe.txt").write_text("x")
        report["root_writable"] = True
    except OSError as exc:
        report["root_writable"] = False
        report["root_error"] = exc.strerror
    mount = Path(args["mount"]) if args.get("mount") else None
    if mount is None:
        return report
    report["mount_exists"] = mount.is_dir()
    if not report["mount_exists"]:
        return report
    stat = mount.stat()
    report["mount_owner"] = [stat.st_uid, stat.st_gid, oct(stat.st_mode & 0o777)]
    if args.get("write"):
        written = mount / args["write"]
        written.write_text(args.get("content", "data"))
        report["written_owner"] = [written.stat().st_uid, written.stat().st_gid]
    report["listing"] = sorted(p.name for p in mount.iterdir())
    if args.get("read"):
        try:
            report["read"] = (mount / args["read"]).read_text()
        except OSError as exc:
            report["read_error"] = exc.strerror
    return report


def handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    args, via_api = _request(event)
    action = args.get("action", "echo")
    print(f"handler: action={action} marker={args.get('marker')}")
    if action == "sleep":
        time.sleep(float(args.get("seconds", 1)))
        result = {"slept": float(args.get("seconds", 1))}
    elif action == "raise":
        raise RuntimeError("requested failure")
    elif action == "exit":
        os._exit(3)
    elif action == "memory":
        block = bytearray(int(args["mb"]) * 1024 * 1024)
        for index in range(0, len(block), 4096):
            block[index] = 1
        HOLD.append(block)
        result = {"allocated_mb": int(args["mb"])}
    elif action == "emf":  # an Embedded Metric Format document, as the function's metrics print it
        meta = {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": args["directives"]}
        print(json.dumps({"_aws": meta, **args["members"]}))
        result = {"emitted": True}
    elif action == "noise":
        for index in range(int(args["lines"])):
            print(f"noise line {index:05d} " + "x" * 60)
        result = {"printed": int(args["lines"])}
    elif action == "bare":
        return args.get("value")
    elif action == "base64":
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/octet-stream"},
            "body": base64.b64encode(bytes(range(256))).decode(),
            "isBase64Encoded": True,
        }
    elif action == "respond":
        return args["response"]
    elif action == "big":
        return {"statusCode": 200, "body": "x" * int(args["size"])}
    elif action == "env":
        result = {"env": dict(os.environ), "remaining_ms": context.get_remaining_time_in_millis()}
    elif action == "files":
        result = _files(args)
    elif action == "reach":
        url = os.environ["AWS_ENDPOINT_URL"] + args.get("path", "/_localcloud/health")
        with urllib.request.urlopen(url, timeout=5) as response:
            result = {"url": url, "status": response.status}
    else:
        result = {"event": event}
    result.update(_environment())
    if via_api:
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": json.dumps(result),
        }
    return result
