#!/usr/bin/env python3
"""A demo agent that asks the Agent-Safe sidecar before it acts, and a stub executor that spends the ticket.

Start a sidecar in a project made by `agent-safe init` (its targets are dev/web, staging/web and prod/web):

    agent-safe init /tmp/demo && cd /tmp/demo && agent-safe serve --port 8787

then, from this directory:

    python3 demo_agent.py --url http://127.0.0.1:8787

The agent asks for three actions and handles each answer:

- allow            -> it hands the ticket to the executor, which verifies it *for exactly what it is about to run*
                      and spends it through the sidecar (POST /v1/tickets/verify); a misuse and a replay are refused;
- deny             -> it gives up and reports the reason;
- require_approval -> it does not act, and reports the audit id a human approves.

With a sidecar in `token` mode, pass --identity-token (or AGENT_SAFE_IDENTITY_TOKEN); in `open` mode the agent names
itself in the body (--caller, --role). Exit code 0 when every answer was handled as expected, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, Optional

sys.dont_write_bytecode = True  # no __pycache__ next to the example

from agent_safe_client import AgentSafeClient, AgentSafeError, Decision, SidecarUnavailable


class StubExecutor:
    """Stands in for the component that really runs actions (and holds the credentials to do so).

    It trusts nothing the agent says about a decision: it verifies the ticket against what it is about to execute and
    spends it in the same call, so a ticket runs at most one action, once. A real executor elsewhere verifies with the
    JWKS and its own replay store (docs/tickets.md, examples/executor); this one uses the sidecar."""

    def __init__(self, client: AgentSafeClient):
        self.client = client

    def run(self, token: str, action: str, target: str, params: Dict[str, Any]) -> bool:
        check = self.client.verify_ticket(token, action=action, target=target, params=params)
        if not check.valid:
            print(f"    executor: REFUSED {check.code}: {check.message}")
            return False
        claims = check.claims or {}
        print(f"    executor: EXECUTE {action} on {target} {params} "
              f"(ticket {claims.get('jti')} spent; decision {claims.get('audit_id')})")
        return True  # ... the real work happens here ...


def ask(client: AgentSafeClient, caller: Optional[Dict[str, Any]], action: str, target: str,
        params: Dict[str, Any], ticket_id: Optional[str] = None) -> Decision:
    decision = client.check(action, target=target, params=params, caller=caller, ticket_id=ticket_id,
                            correlation_id="demo-run")
    print(f"\n{decision.result.upper():17} {action} on {target} as {decision.caller}")
    rule = f"rule {decision.policy_matched}" if decision.policy_matched else "no rule matched"
    print(f"    reason: {decision.reason} ({rule}, risk {decision.effective_risk}, audit {decision.audit_id})")
    return decision


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("AGENT_SAFE_URL", "http://127.0.0.1:8787"))
    ap.add_argument("--identity-token", default=os.environ.get("AGENT_SAFE_IDENTITY_TOKEN"),
                    help="Bearer identity token (sidecar in `token` mode)")
    ap.add_argument("--caller", default="demo-agent", help="caller id in `open` mode")
    ap.add_argument("--role", action="append", default=None, help="caller role in `open` mode (default: deployer)")
    args = ap.parse_args()

    client = AgentSafeClient(args.url, identity_token=args.identity_token)
    executor = StubExecutor(client)
    # In `token` and `bound` mode the sidecar knows who is calling; only `open` mode reads the caller from the body.
    caller = None if args.identity_token else {"agent_id": args.caller, "roles": args.role or ["deployer"]}
    ok = True
    try:
        # 1. A restart on dev: allowed, with a ticket.
        params = {"namespace": "web", "deployment": "web"}
        d = ask(client, caller, "restart-deployment", "dev/web", params)
        if d.allowed and d.ticket:
            print(f"    ticket: jti {d.ticket.jti}, expires {d.ticket.expires_at}")
            # The agent tries to stretch the ticket to production: refused, and the ticket stays unspent.
            print("  agent hands the ticket over for prod/web instead:")
            ok &= not executor.run(d.ticket.token, "restart-deployment", "prod/web", params)
            print("  agent hands the ticket over for what was allowed:")
            ok &= executor.run(d.ticket.token, "restart-deployment", "dev/web", params)
            print("  agent hands the same ticket over again:")
            ok &= not executor.run(d.ticket.token, "restart-deployment", "dev/web", params)
        else:
            print("    unexpected: no allow with a ticket")
            ok = False

        # 2. A restart on staging: no rule allows it, so the default is deny. The agent stops there.
        d = ask(client, caller, "restart-deployment", "staging/web", params)
        if d.denied:
            print("    agent: not doing it; reporting the reason to the user")
        else:
            ok = False

        # 3. Scaling production as a deployer: a human must approve. The agent does not act.
        d = ask(client, caller, "scale-deployment", "prod/web", {"namespace": "web", "deployment": "web", "replicas": 3},
                ticket_id="CHG-1234")
        if d.needs_approval:
            ref = d.approval.id if d.approval else d.audit_id
            print(f"    agent: not acting; waiting for a human to approve {ref}")
            ok &= d.ticket is None  # no ticket without an allow
        else:
            ok = False
    except SidecarUnavailable as e:
        print(f"sidecar unavailable, doing nothing (fail closed): {e.detail}", file=sys.stderr)
        return 1
    except AgentSafeError as e:
        print(f"refused by the sidecar: HTTP {e.status} {e.code}: {e.detail}", file=sys.stderr)
        return 1
    print("\nall answers handled as expected" if ok else "\nsome answers were not as expected")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
