#!/usr/bin/env python3
"""Smoke check of the local test servers started by scripts/servers.sh.

Run it with the moto virtualenv's python (it needs boto3), e.g.
    scripts/servers.sh check
or
    eval "$(scripts/servers.sh env)"
    ~/.cache/ddbsnap-tools/moto-venv/bin/python scripts/check-servers.py

It checks, against DDBSNAP_TEST_S3_ENDPOINT and DDBSNAP_TEST_DYNAMODB_ENDPOINT:
  - S3 (moto): create a bucket with path-style addressing, put an object,
    get it back, list it, then delete object and bucket;
  - DynamoDB (DynamoDB Local): create a table, put an item, get it back with
    a consistent read, then delete the table;
  - with `ss -ltnp`: every socket listening on either port is bound to a
    loopback address (not 0.0.0.0, [::] or *).
Exits non-zero on the first failure.
"""

import ipaddress
import os
import shutil
import subprocess
import sys
import time
import uuid
from urllib.parse import urlparse

import boto3
from botocore.config import Config

S3_ENDPOINT = os.environ.get("DDBSNAP_TEST_S3_ENDPOINT", "http://127.0.0.1:45660")
DYNAMODB_ENDPOINT = os.environ.get("DDBSNAP_TEST_DYNAMODB_ENDPOINT", "http://127.0.0.1:45661")
REGION = os.environ.get("AWS_REGION", "us-east-1")
CREDENTIALS = {
    "aws_access_key_id": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
    "aws_secret_access_key": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
}


def say(message):
    print("check-servers: " + message, flush=True)


def fail(message):
    print("check-servers: FAILED: " + message, file=sys.stderr, flush=True)
    sys.exit(1)


def client_config(**extra):
    return Config(
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": 2, "mode": "standard"},
        **extra,
    )


def check_s3():
    s3 = boto3.client(
        "s3",
        endpoint_url=S3_ENDPOINT,
        region_name=REGION,
        config=client_config(s3={"addressing_style": "path"}),
        **CREDENTIALS,
    )
    bucket = "ddbsnap-check-" + uuid.uuid4().hex[:12]
    key = "exports/check/data-0001.json.gz"
    body = b'{"Item":{"pk":{"S":"check"}}}\n' * 100 + uuid.uuid4().bytes
    s3.create_bucket(Bucket=bucket)
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if got != body:
            fail("S3 object read back differs (%d bytes written, %d read)" % (len(body), len(got)))
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="exports/").get("Contents", [])]
        if listed != [key]:
            fail("S3 listing returned %r, expected [%r]" % (listed, key))
        s3.delete_object(Bucket=bucket, Key=key)
    finally:
        s3.delete_bucket(Bucket=bucket)
    say("S3 at %s: bucket %s created (path-style), %d-byte object put, got back and listed"
        % (S3_ENDPOINT, bucket, len(body)))


def check_dynamodb():
    ddb = boto3.client(
        "dynamodb",
        endpoint_url=DYNAMODB_ENDPOINT,
        region_name=REGION,
        config=client_config(),
        **CREDENTIALS,
    )
    table = "ddbsnap-check-" + uuid.uuid4().hex[:12]
    ddb.create_table(
        TableName=table,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        deadline = time.monotonic() + 30
        while ddb.describe_table(TableName=table)["Table"]["TableStatus"] != "ACTIVE":
            if time.monotonic() > deadline:
                fail("DynamoDB table %s did not become ACTIVE" % table)
            time.sleep(0.2)
        item = {
            "pk": {"S": "check"},
            "sk": {"N": "1"},
            "payload": {"B": uuid.uuid4().bytes},
            "tags": {"SS": ["a", "b"]},
            "nested": {"M": {"n": {"N": "3.5"}, "l": {"L": [{"S": "x"}, {"NULL": True}]}}},
        }
        ddb.put_item(TableName=table, Item=item)
        got = ddb.get_item(
            TableName=table,
            Key={"pk": {"S": "check"}, "sk": {"N": "1"}},
            ConsistentRead=True,
        ).get("Item")
        if got is None:
            fail("DynamoDB get_item found no item")
        got["tags"]["SS"].sort()
        if got != item:
            fail("DynamoDB item read back differs: %r != %r" % (got, item))
    finally:
        ddb.delete_table(TableName=table)
    say("DynamoDB at %s: table %s created, item put and got back" % (DYNAMODB_ENDPOINT, table))


def is_loopback(address):
    host = address.rsplit(":", 1)[0].strip("[]")
    if "%" in host:
        host = host.split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # "*" and the like: every interface
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def check_binding(name, endpoint):
    port = urlparse(endpoint).port
    if shutil.which("ss") is None:
        fail("ss not found (install iproute2) to check the binding of %s" % name)
    out = subprocess.run(
        ["ss", "-Hltnp", "sport = :%d" % port],
        check=True, capture_output=True, text=True,
    ).stdout
    lines = [line for line in out.splitlines() if line.strip()]
    if not lines:
        fail("ss shows nothing listening on port %d (%s)" % (port, name))
    for line in lines:
        say("ss: " + " ".join(line.split()))
        local = line.split()[3]
        if not is_loopback(local):
            fail("%s on port %d listens on %s, not on loopback only" % (name, port, local))
    say("%s on port %d listens on loopback only" % (name, port))


def main():
    for name, endpoint in (("S3", S3_ENDPOINT), ("DynamoDB", DYNAMODB_ENDPOINT)):
        host = urlparse(endpoint).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            fail("%s endpoint %s is not on loopback" % (name, endpoint))
    check_s3()
    check_dynamodb()
    check_binding("S3", S3_ENDPOINT)
    check_binding("DynamoDB", DYNAMODB_ENDPOINT)
    say("OK")


if __name__ == "__main__":
    main()
