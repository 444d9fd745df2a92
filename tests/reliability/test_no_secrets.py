"""No credentials and no real account ids in the code: every tracked file is scanned.

Only AWS's documentation placeholders may appear, in examples and test doubles: the account
123456789012 and moto's 000000000000. A real id or key would have to be added to ALLOWED by hand, in
review, which is the point.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
ALLOWED_ACCOUNT_IDS = {"123456789012", "000000000000"}
ACCOUNT_ID = re.compile(r"(?<![0-9A-Za-z.])([0-9]{12})(?![0-9])")
SECRETS = {
    "access key id": re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
    "secret access key": re.compile(r"(?i)secret_?access_?key[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+]{40}\b"),
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE" r" KEY-----"),
    "session token": re.compile(r"(?i)session_?token[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{100,}"),
}
BINARY_SUFFIXES = {".png", ".jpg", ".npz", ".zip", ".whl", ".ico", ".gz"}


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    paths = [REPO / name for name in listed.decode().split("\0") if name]
    return [path for path in paths if path.is_file() and path.suffix not in BINARY_SUFFIXES]


def test_no_credentials_or_real_account_ids_in_tracked_files() -> None:
    files = tracked_files()
    assert len(files) > 50 and REPO / "infra" / "query_api.py" in files
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for kind, pattern in SECRETS.items():
            found += [f"{path.relative_to(REPO)}: {kind}" for _ in pattern.finditer(text)]
        found += [
            f"{path.relative_to(REPO)}: account id {match.group(1)}"
            for match in ACCOUNT_ID.finditer(text)
            if match.group(1) not in ALLOWED_ACCOUNT_IDS
        ]
    assert found == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # Made up at run time, so that this file does not hold what it looks for.
        ("aws_access_key_id = " + "AKIA" + "QWERTYUIOPASDFGH", "access key id"),
        ('"aws_secret_access_key": "' + "wJalrXUtnFEMI/K7MDENG/" + 'bPxRfiCYEXAMPLEKEY"', "secret access key"),
        ("-----BEGIN RSA " + "PRIVATE KEY-----", "private key"),
    ],
)
def test_the_scan_would_see_a_credential(text: str, kind: str) -> None:
    assert SECRETS[kind].search(text)


def test_the_scan_would_see_a_real_account_id() -> None:
    account = "2109876" + "54321"
    assert [m.group(1) for m in ACCOUNT_ID.finditer(f"arn:aws:iam::{account}:role/x")] == [account]
    assert not ACCOUNT_ID.findall("version 20250526T060000Z, timestamp 1748239200000")
