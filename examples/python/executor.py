#!/usr/bin/env python3
"""An executor process: receives a ticket and the request it was issued for, and has the sidecar run it.

    python3 examples/python/executor.py --params '{"namespace":"web","deployment":"web"}' [--dry-run] < ticket.jwt

The ticket is read from standard input (it never appears in the process list). The sidecar's runner verifies and
consumes it, checks that the params are the ticket's, resolves a scoped credential, runs the prechecks, captures the
state before and after, runs the action with kubectl or the AWS APIs, and audits the outcome (docs/executors.md).
Exit 0: executed (or dry run); 1: failed or timed out; 2: refused. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from agent_safe_client import AgentSafeClient, AgentSafeError  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("AGENT_SAFE_URL", "http://127.0.0.1:8787"))
    parser.add_argument("--params", required=True, help="the request's params as a JSON object (must be the ticket's)")
    parser.add_argument("--action", help="refuse a ticket for another action")
    parser.add_argument("--target", help="refuse a ticket for another target")
    parser.add_argument("--dry-run", action="store_true", help="show the calls, send nothing (the ticket is spent)")
    args = parser.parse_args()

    token = sys.stdin.read().strip()
    if not token:
        print("error: no ticket on standard input", file=sys.stderr)
        return 2
    try:
        params = json.loads(args.params)
    except ValueError as e:
        print(f"error: --params is not JSON: {e}", file=sys.stderr)
        return 2

    client = AgentSafeClient(args.url)
    try:
        run = client.execute(token, params, action=args.action, target=args.target, dry_run=args.dry_run)
    except AgentSafeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    print(f"{run['status']}: {run['code']}: {run['message']}")
    for check in run.get("prechecks", []):
        mark = "ok  " if check["passed"] else "FAIL"
        print(f"  precheck {mark} {check['name']}{' (advisory)' if check['advisory'] else ''}: {check['message']}")
    for call in run.get("calls", []):
        print("  call    ", " ".join(call["argv"]) if "argv" in call else f"{call['method']} {call['url']}")
    for field, change in sorted(run.get("diff", {}).items()):
        print(f"  changed  {field}: {change['before']!r} -> {change['after']!r}")
    print(f"  audit    {run['audit_id']} (decision {run.get('decision_audit_id')})")
    return {"success": 0, "dry_run": 0, "refused": 2}.get(run["status"], 1)


if __name__ == "__main__":
    sys.exit(main())
