#!/usr/bin/env python3
"""Times the upstream Python Agent-Safe's in-process decision, AgentSafe(...).check(...), for comparison with the
Swift engine's figures in docs/performance.md ("Sidecar over HTTP (wrk)", upstream comparison).

Nothing of upstream is kept in this repository: install it into a throwaway virtual environment and run this
script with that environment's Python:

    python3 -m venv /tmp/upstream-venv
    /tmp/upstream-venv/bin/pip install agent-safe
    /tmp/upstream-venv/bin/python scripts/bench-upstream.py [--catalogue DIR] [--iterations N]

DIR is an upstream-format catalogue with actions/, policies/ and inventory.yaml (default: upstream's own example
catalogue, kept beside this repository in ../shared/compat/agent-safe). Three requests, one of each result, are
checked once for the expected result and then timed with time.perf_counter_ns over N calls each (default 20,000),
in two set-ups:

  decision   AgentSafe(registry, policies, inventory) with no audit log and no signing key: the policy decision
             alone (what the Swift Decision benchmarks measure);
  + audit    the same with audit_log= (a temporary file) and signing_key= (HS256 tickets on allow): upstream's
             nearest equivalent of what the sidecar does per /v1/check, minus HTTP.

Per-call medians and p99 are over single calls (not batch averages); the mean is total time / N.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

try:
    import agent_safe
    from agent_safe import AgentSafe
    from agent_safe.models import AgentIdentity
except ImportError as error:  # pragma: no cover - a usage message, not a test
    sys.exit(f"upstream agent-safe is not importable ({error}); see this script's docstring for the venv set-up")

DEFAULT_CATALOGUE = Path(__file__).resolve().parent.parent.parent / "shared" / "compat" / "agent-safe"

# Against upstream's example catalogue (policies/default.yaml, inventory.yaml):
REQUESTS = [
    # allow-read-actions-staging: a staging rollout-status read (a k8s-deployment, as the action's target_types
    # say: upstream doesn't check target types, Agent-Safe does, so the request is valid for both).
    ("allow", dict(action="rollout-status", target="staging/api-server",
                   caller=AgentIdentity(agent_id="triage-agent", roles=["reader"]),
                   params={"namespace": "default", "deployment": "api-server"})),
    # no rule matches a staging restart by a caller without the deployer role: default deny.
    ("deny", dict(action="restart-deployment", target="staging/api-server",
                  caller=AgentIdentity(agent_id="ops-agent", roles=["sre"]),
                  params={"namespace": "default", "deployment": "api-server"})),
    # require-approval-prod: a production image update by a deployer with a ticket.
    ("require_approval", dict(action="update-image", target="prod/web-frontend",
                              caller=AgentIdentity(agent_id="deploy-bot", roles=["deployer"]),
                              params={"namespace": "default", "deployment": "web-frontend", "container": "web",
                                      "image": "registry.example.com/web/frontend:5.2.0"},
                              ticket_id="CHG-5001")),
]


def result_name(decision) -> str:
    value = decision.result
    return getattr(value, "value", str(value)).lower()


def time_calls(safe, request, iterations):
    samples = []
    check = safe.check
    for _ in range(iterations):
        start = time.perf_counter_ns()
        check(**request)
        samples.append(time.perf_counter_ns() - start)
    samples.sort()
    return {
        "p50": samples[len(samples) // 2] / 1000,
        "p99": samples[int(len(samples) * 0.99)] / 1000,
        "mean": statistics.fmean(samples) / 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalogue", type=Path, default=DEFAULT_CATALOGUE)
    parser.add_argument("--iterations", type=int, default=20_000)
    args = parser.parse_args()
    cat = args.catalogue
    common = dict(registry=cat / "actions", policies=cat / "policies", inventory=cat / "inventory.yaml",
                  auto_discover=False)

    print(f"upstream agent-safe {getattr(agent_safe, '__version__', '?')}, Python {sys.version.split()[0]}, "
          f"catalogue {cat}, {args.iterations} calls per request")
    with tempfile.TemporaryDirectory() as tmp:
        setups = [
            ("decision", AgentSafe(**common)),
            ("+ audit", AgentSafe(**common, audit_log=os.path.join(tmp, "audit.jsonl"),
                                  signing_key="bench-signing-key-0123456789abcdef0123456789")),
        ]
        for setup, safe in setups:
            for expected, request in REQUESTS:
                got = result_name(safe.check(**request))
                if got != expected:
                    sys.exit(f"{setup}: {request['action']} on {request['target']} decided {got}, expected {expected}")
            for expected, request in REQUESTS:
                for _ in range(min(1000, args.iterations)):  # warm-up
                    safe.check(**request)
                t = time_calls(safe, request, args.iterations)
                print(f"{setup:9} {expected:17} p50 {t['p50']:8.1f} us   p99 {t['p99']:8.1f} us   "
                      f"mean {t['mean']:8.1f} us   ({1e6 / t['mean']:,.0f}/s)")


if __name__ == "__main__":
    main()
