#!/usr/bin/env python3
"""End-to-end test of the sidecar: the built binary, driven over HTTP by agent_safe_client.py.

    python3 examples/python/e2e_test.py [--bin PATH] [--keep]

Standard library only, plus PyJWT with cryptography when installed (`python3 -m pip install pyjwt cryptography`):
without them the independent JWKS/PyJWT checks are skipped and reported as skipped.

Two runs of `agent-safe serve`, each on a free loopback port, in one temporary project made by `agent-safe init`:

1. development defaults (identity `open`, a development ES256 key created on first start): the catalogue, an
   allow whose ticket PyJWT verifies through the JWKS, a deny, a require_approval, a plan; the ticket is refused
   for another target, consumed once, then refused as replayed; problem+json error codes; SIGHUP; SIGTERM exits 0;
   `agent-safe audit verify` accepts the log, which holds the decision and the consumption but never the token;
2. production-like (identity `token`, configured ticket / identity / checkpoint keys, an admin token): a request
   without a token is 401; a token from `agent-safe token issue`; a delegated sub-agent whose ticket carries the
   chain; the admin endpoint refuses agent tokens; a broken configuration is rejected on reload while the old one
   keeps serving; SIGTERM exits 0; `agent-safe audit verify --key` checks every signed checkpoint, the final one
   written at shutdown included.

The binary: --bin, else $AGENT_SAFE_BIN, else .build/debug/agent-safe (then .build/release) of this repository.
Prints one line per check and `N passed, N failed`; exit code 0 when nothing failed.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the repository

from agent_safe_client import AgentSafeClient, AgentSafeError  # noqa: E402

try:
    import jwt  # PyJWT

    HAVE_PYJWT = True
except ImportError:  # pragma: no cover
    HAVE_PYJWT = False

PARAMS = {"namespace": "web", "deployment": "web"}
SCALE3 = {"namespace": "web", "deployment": "web", "replicas": 3}


class Results:
    def __init__(self) -> None:
        self.passed = 0
        self.failed: List[str] = []
        self.skipped = 0

    def check(self, condition: Any, what: str, detail: Any = "") -> bool:
        if condition:
            self.passed += 1
            print(f"ok    {what}")
        else:
            self.failed.append(what)
            print(f"FAIL  {what}" + (f"\n      {detail}" if detail != "" else ""))
        return bool(condition)

    def raises(self, code: str, status: int, what: str, call: Callable[[], Any]) -> None:
        try:
            got = call()
        except AgentSafeError as e:
            self.check(e.code == code and e.status == status, f"{what} -> {status} {code}", f"got {e.status} {e.code}: {e.detail}")
            return
        self.check(False, f"{what} -> {status} {code}", f"no error; got {got!r}")

    def skip(self, what: str) -> None:
        self.skipped += 1
        print(f"skip  {what}")


def find_binary(given: Optional[str]) -> str:
    for candidate in [given, os.environ.get("AGENT_SAFE_BIN"), os.path.join(REPO, ".build", "debug", "agent-safe"),
                      os.path.join(REPO, ".build", "release", "agent-safe")]:
        if candidate and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    sys.exit("no agent-safe binary: build it (swift build) or pass --bin / set AGENT_SAFE_BIN")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def popen(argv: List[str], **kw: Any) -> subprocess.Popen:
    """Starts a process, retrying while the binary is being rewritten by a concurrent build (ETXTBSY)."""
    for attempt in range(60):
        try:
            return subprocess.Popen(argv, **kw)
        except OSError as e:
            if e.errno != errno.ETXTBSY or attempt == 59:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def run(argv: List[str], cwd: str) -> subprocess.CompletedProcess:
    p = popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=120)
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


class Sidecar:
    def __init__(self, binary: str, project: str, port: int, name: str):
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = os.path.join(project, f"serve-{name}.log")
        self.log = open(self.log_path, "w")
        self.proc = popen([binary, "serve", "--port", str(port)], cwd=project, stdout=self.log,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_ready(self, timeout: float = 60) -> bool:
        client = AgentSafeClient(self.url, timeout=2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if client.readyz().get("ready"):
                    return True
            except AgentSafeError:
                pass
            time.sleep(0.2)
        return False

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30) -> Optional[int]:
        """SIGTERM; the exit code, or None if it did not exit in time (then it is killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = None
        self.log.close()
        return code

    def output(self) -> str:
        with open(self.log_path) as f:
            return f.read()


def raw_request(url: str, method: str, body: bytes = b"", headers: Optional[Dict[str, str]] = None):
    """(status, headers, JSON body) of a request the client would never send."""
    req = urllib.request.Request(url, data=body if method == "POST" else None, headers=headers or {}, method=method)
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=10) as r:
            return r.status, r.headers, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read() or b"{}")


def canonical(value: Any) -> str:
    """The canonical JSON that params_sha256 is computed over (docs/tickets.md)."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical(value[k]) for k in keys) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return json.dumps(value, ensure_ascii=False)


def pyjwt_verify(r: Results, url: str, token: str, expected: Dict[str, Any], label: str) -> Optional[Dict[str, Any]]:
    """Verifies a ticket independently of Agent-Safe: PyJWT, keys from the sidecar's JWKS."""
    if not HAVE_PYJWT:
        r.skip(f"{label}: PyJWT not installed")
        return None
    header = jwt.get_unverified_header(token)
    r.check(header.get("alg") == "ES256" and header.get("typ") == "agent-safe-ticket+jwt",
            f"{label}: header alg ES256, typ agent-safe-ticket+jwt", header)
    key = jwt.PyJWKClient(url + "/.well-known/jwks.json", cache_keys=False).get_signing_key_from_jwt(token)
    r.check(key.key_id == header.get("kid"), f"{label}: PyJWKClient found the ticket's kid {header.get('kid')} in the JWKS")
    claims = jwt.decode(token, key.key, algorithms=["ES256"], issuer="agent-safe", leeway=30,
                        options={"require": ["type", "action", "target", "caller", "audit_id", "nonce", "iss", "iat", "exp"]})
    r.check(claims["type"] == "execution-ticket", f"{label}: PyJWT verified the signature; type execution-ticket")
    for k, v in expected.items():
        r.check(claims.get(k) == v, f"{label}: claim {k} = {v!r}", f"got {claims.get(k)!r}")
    digest = hashlib.sha256(canonical(claims["params"]).encode("utf-8")).hexdigest()
    r.check(claims.get("params_sha256") == digest, f"{label}: params_sha256 matches the canonical params")
    # The same signature over a payload changed to another target must not verify.
    head, payload, sig = token.split(".")
    forged = dict(claims, target="prod/web")
    forged_payload = jwt.utils.base64url_encode(json.dumps(forged, separators=(",", ":")).encode()).decode()
    try:
        jwt.decode(f"{head}.{forged_payload}.{sig}", key.key, algorithms=["ES256"], issuer="agent-safe")
        r.check(False, f"{label}: a ticket re-targeted to prod/web is refused by PyJWT")
    except jwt.InvalidSignatureError:
        r.check(True, f"{label}: a ticket re-targeted to prod/web is refused by PyJWT (InvalidSignatureError)")
    return claims


def verify_chain(path: str) -> Optional[str]:
    """The Python verifier of docs/audit-format.md: hashes, links and sequence."""
    prev, seq = "0" * 64, 1
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.endswith(b"\n"):
                return f"line {n}: torn last line"
            line = raw[:-1]
            suffix = line[-81:]
            if not (suffix.startswith(b',"entry_hash":"') and suffix.endswith(b'"}')):
                return f"line {n}: no entry_hash at the end"
            if hashlib.sha256(line[:-81] + b"}").hexdigest() != suffix[15:79].decode():
                return f"line {n}: hash mismatch"
            event = json.loads(line)
            if event["seq"] != seq or event["prev_hash"] != prev:
                return f"line {n}: broken chain"
            prev, seq = event["entry_hash"], seq + 1
    return None


def read_events(path: str) -> List[Dict[str, Any]]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


# ----------------------------------------------------------------------------------------------------------------


def phase_open(r: Results, binary: str, project: str) -> None:
    print("\n== 1. development defaults: identity open, development key ==")
    sidecar = Sidecar(binary, project, free_port(), "open")
    try:
        if not r.check(sidecar.wait_ready(), "sidecar started and /readyz is ready", sidecar.output()[-2000:]):
            return
        out = sidecar.output()
        r.check("identity.mode is 'open'" in out, "start-up warns that identity.mode is open")
        r.check("dev-ticket-key.pem" in out and "BEGIN" not in out, "start-up names the development key path, never the key")
        r.check(os.path.exists(os.path.join(project, ".agent-safe", "dev-ticket-key.pem")), "development key under .agent-safe/")

        c = AgentSafeClient(sidecar.url)
        r.check(c.healthz() == {"status": "ok"}, "GET /healthz")
        ready = c.readyz()
        r.check(ready["ready"] and ready["problems"] == [], "GET /readyz: ready, no problems")

        names = [a.name for a in c.actions()]
        r.check(names == ["get-pod-logs", "restart-deployment", "scale-deployment"], "GET /v1/actions lists the catalogue", names)
        detail = c.action("scale-deployment")
        r.check([p["name"] for p in detail["parameters"]] == ["namespace", "deployment", "replicas"],
                "GET /v1/actions/scale-deployment has its parameters")
        r.raises("unknown_action", 404, "GET /v1/actions/nope", lambda: c.action("nope"))
        policies = c.policies()
        r.check(len(policies["rules"]) == 4 and policies["digest"] == ready["config_digest"],
                "GET /v1/policies: 4 rules, digest = /readyz config_digest")

        me = {"agent_id": "demo-agent", "roles": ["deployer"]}
        allow = c.check("restart-deployment", target="dev/web", params=PARAMS, caller=me, correlation_id="e2e-1")
        r.check(allow.allowed and allow.policy_matched == "allow-dev" and allow.caller == "demo-agent",
                "POST /v1/check restart dev/web -> allow (allow-dev)", allow.raw)
        r.check(allow.ticket is not None and len(allow.ticket.jti) == 32, "the allow carries a ticket {token, jti, expires_at}")
        if allow.ticket is None:
            return
        token = allow.ticket.token
        jwks = c.jwks()
        r.check(len(jwks["keys"]) == 1 and jwks["keys"][0]["kty"] == "EC" and "d" not in jwks["keys"][0],
                "GET /.well-known/jwks.json: one public EC key, no private part")
        pyjwt_verify(r, sidecar.url, token, {"action": "restart-deployment", "target": "dev/web", "caller": "demo-agent",
                                             "sub": "demo-agent", "params": PARAMS, "jti": allow.ticket.jti,
                                             "audit_id": allow.audit_id}, "ticket")
        if HAVE_PYJWT:
            kid = jwt.get_unverified_header(token)["kid"]
            keyset = jwt.PyJWKSet.from_dict(jwks)
            r.check(keyset[kid].key_id == kid, "the client's jwks() builds the same key (PyJWKSet)")

        look = c.introspect(token, action="restart-deployment", target="dev/web", params=PARAMS)
        r.check(look.valid and look.code == "valid" and not look.consumed, "introspect: valid, not consumed")
        wrong = c.verify_ticket(token, action="restart-deployment", target="prod/web", params=PARAMS)
        r.check(not wrong.valid and wrong.code == "target_mismatch", "verify for prod/web -> target_mismatch", wrong.raw)
        wrong = c.verify_ticket(token, action="restart-deployment", target="dev/web", params={**PARAMS, "deployment": "api"})
        r.check(not wrong.valid and wrong.code == "params_mismatch", "verify with other params -> params_mismatch", wrong.raw)
        spent = c.verify_ticket(token, action="restart-deployment", target="dev/web", params=PARAMS)
        r.check(spent.valid and spent.consumed and spent.claims and spent.claims["jti"] == allow.ticket.jti,
                "verify (consume) for exactly what was allowed -> valid, consumed (the refusals above spent nothing)", spent.raw)
        again = c.verify_ticket(token, action="restart-deployment", target="dev/web", params=PARAMS)
        r.check(not again.valid and again.code == "replayed", "the same ticket again -> replayed", again.raw)
        forged = c.verify_ticket(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
        r.check(not forged.valid and forged.code == "bad_signature", "a ticket with a changed signature -> bad_signature", forged.raw)

        deny = c.check("restart-deployment", target="staging/web", params=PARAMS, caller=me)
        r.check(deny.denied and deny.code == "no_matching_policy" and deny.ticket is None,
                "restart staging/web -> deny (no matching policy), no ticket", deny.raw)
        approval = c.check("scale-deployment", target="prod/web", params=SCALE3, caller=me, ticket_id="CHG-1234")
        r.check(approval.needs_approval and approval.policy_matched == "approve-prod" and approval.ticket is None,
                "scale prod/web as a deployer -> require_approval (approve-prod), no ticket", approval.raw)
        bad = c.check("scale-deployment", target="dev/web", params={**SCALE3, "replicas": "three"}, caller=me)
        r.check(bad.denied and bad.code == "invalid_params", "replicas 'three' -> deny, invalid_params", bad.raw)

        plan = c.check_plan([{"action": "get-pod-logs", "target": "dev/web", "caller": me, "params": {"namespace": "web", "pod": "web-1"}},
                             {"action": "restart-deployment", "target": "staging/web", "caller": me, "params": PARAMS}],
                            all_or_nothing=True)
        r.check(plan.result == "deny" and [s.result for s in plan.steps] == ["allow", "deny"]
                and all(s.ticket is None for s in plan.steps), "check-plan all_or_nothing with a denied step -> deny, no tickets")
        plan = c.check_plan([{"action": "get-pod-logs", "target": "dev/web", "caller": me, "params": {"namespace": "web", "pod": "web-1"}},
                             {"action": "restart-deployment", "target": "dev/web", "caller": me, "params": PARAMS}],
                            all_or_nothing=True)
        r.check(plan.result == "allow" and all(s.ticket for s in plan.steps), "check-plan all allowed -> a ticket per step")

        r.raises("unknown_field", 422, "unknown body field (strict)", lambda: c._request("POST", "/v1/check", {"action": "x", "targt": "dev/web"}))
        r.raises("missing_field", 400, "no action", lambda: c._request("POST", "/v1/check", {"target": "dev/web"}))
        r.raises("wrong_type", 400, "params as a list", lambda: c._request("POST", "/v1/check", {"action": "x", "params": [1]}))
        r.raises("identity_malformed", 401, "a Bearer token that isn't a JWT",
                 lambda: AgentSafeClient(sidecar.url, identity_token="not-a-jwt").check("get-pod-logs", target="dev/web"))
        r.raises("admin_disabled", 403, "POST /v1/admin/reload without an admin token file", lambda: c.reload("x" * 32))
        status, headers, body = raw_request(sidecar.url + "/v1/check", "POST", b'{"action":"x"}', {"Content-Type": "text/plain"})
        r.check(status == 415 and body.get("code") == "unsupported_media_type"
                and headers.get("Content-Type") == "application/problem+json", "text/plain body -> 415 problem+json")
        status, headers, body = raw_request(sidecar.url + "/v1/check", "GET")
        r.check(status == 405 and headers.get("Allow") == "POST", "GET /v1/check -> 405 with Allow: POST")
        status, headers, body = raw_request(sidecar.url + "/v1/check", "POST", b'{"action":', {"Content-Type": "application/json", "X-Request-Id": "e2e-42"})
        r.check(status == 400 and body.get("code") == "malformed_json" and body.get("request_id") == "e2e-42"
                and headers.get("X-Request-Id") == "e2e-42", "malformed JSON -> 400; X-Request-Id echoed in header and body")
        big = json.dumps({"action": "x", "params": {"a": "x" * 70000}}).encode()
        status, _, body = raw_request(sidecar.url + "/v1/check", "POST", big, {"Content-Type": "application/json"})
        r.check(status == 413 and body.get("code") == "body_too_large", "a 70 KB body -> 413 body_too_large")

        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(sidecar.url + "/metrics", timeout=10) as m:
            metrics = m.read().decode()
        r.check('agent_safe_decisions_total{result="allow"}' in metrics and "agent_safe_ticket_verifications_total" in metrics,
                "GET /metrics has decisions and ticket verifications")

        sidecar.signal(signal.SIGHUP)
        time.sleep(1)
        r.check(c.readyz()["ready"], "SIGHUP reloads; still ready")
    finally:
        code = sidecar.stop()
    r.check(code == 0, "SIGTERM -> exit code 0", f"exit code {code}; log tail:\n{sidecar.output()[-1500:]}")
    r.check("audit log closed" in sidecar.output(), "the audit log was closed at shutdown")

    verify = run([binary, "audit", "verify"], cwd=project)
    r.check(verify.returncode == 0, "agent-safe audit verify -> exit 0", verify.stdout + verify.stderr)
    print("      " + verify.stdout.strip().splitlines()[0] if verify.stdout.strip() else "")
    log = os.path.join(project, ".agent-safe", "audit.jsonl")
    r.check(verify_chain(log) is None, "the Python verifier of docs/audit-format.md accepts the log", verify_chain(log))
    events = read_events(log)
    decision = next((e for e in events if e["event_id"] == allow.audit_id), None)
    r.check(decision is not None and decision["decision"] == "allow" and decision["jti"] == allow.ticket.jti,
            "the allow is in the log under its audit_id, with the ticket's jti")
    r.check(any(e["event_type"] == "ticket_consumed" and e["jti"] == allow.ticket.jti for e in events),
            "the consumption is in the log (ticket_consumed, same jti)")
    r.check(any(e["event_type"] == "config_loaded" and "SIGHUP" in (e["reason"] or "") for e in events),
            "the SIGHUP reload is in the log")
    with open(log) as f:
        r.check(token not in f.read(), "the log never holds the ticket token")


def phase_token(r: Results, binary: str, project: str) -> None:
    print("\n== 2. production-like: identity token, configured keys, signed checkpoints, admin token ==")
    secrets = os.path.join(project, "secrets")
    for alg, name in [("ES256", "tickets.pem"), ("HS256", "identity.key"), ("ES256", "checkpoint.pem")]:
        g = run([binary, "keys", "generate", "--alg", alg, "--out", f"secrets/{name}"], cwd=project)
        r.check(g.returncode == 0 and "BEGIN" not in g.stdout, f"keys generate {alg} secrets/{name}", g.stderr)
    admin = os.urandom(24).hex()
    fd = os.open(os.path.join(secrets, "admin-token"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, (admin + "\n").encode())
    os.close(fd)
    with open(os.path.join(project, "agent-safe.yaml"), "a") as f:
        f.write("tickets:\n  algorithm: ES256\n  keys: [./secrets/tickets.pem]\n"
                "identity:\n  mode: token\n  keys: [./secrets/identity.key]\n  max_delegation_depth: 2\n"
                "audit:\n  checkpoint:\n    key_file: ./secrets/checkpoint.pem\n    every_events: 5\n"
                "server:\n  admin_token_file: ./secrets/admin-token\n")
    v = run([binary, "validate"], cwd=project)
    r.check(v.returncode == 0, "agent-safe validate accepts the configuration", v.stdout + v.stderr)

    sidecar = Sidecar(binary, project, free_port(), "token")
    try:
        if not r.check(sidecar.wait_ready(), "sidecar started and /readyz is ready", sidecar.output()[-2000:]):
            return
        r.check("identity.mode is 'open'" not in sidecar.output(), "no open-mode warning in token mode")
        anonymous = AgentSafeClient(sidecar.url)
        r.raises("identity_required", 401, "check without a Bearer token", lambda: anonymous.check("get-pod-logs", target="dev/web", caller="me"))

        issued = run([binary, "token", "issue", "--agent-id", "orchestrator", "--role", "deployer", "--role", "reader", "--ttl", "900"], cwd=project)
        parent = issued.stdout.strip()
        r.check(issued.returncode == 0 and parent.count(".") == 2, "agent-safe token issue --agent-id orchestrator", issued.stderr)
        orchestrator = AgentSafeClient(sidecar.url, identity_token=parent)
        d = orchestrator.check("restart-deployment", target="dev/web", params=PARAMS)
        r.check(d.allowed and d.caller == "orchestrator" and d.ticket, "check with the identity token -> allow as orchestrator", d.raw)
        r.raises("caller_mismatch", 403, "a body caller other than the token's",
                 lambda: orchestrator.check("restart-deployment", target="dev/web", params=PARAMS, caller="someone-else"))

        child = orchestrator.delegate(parent, "deploy-bot", roles=["deployer"], ttl=600)
        r.check(child.agent_id == "deploy-bot" and child.delegation_depth == 1, "POST /v1/delegations -> deploy-bot, depth 1")
        r.raises("delegation_invalid_delegation", 422, "delegating a role the parent lacks",
                 lambda: orchestrator.delegate(parent, "intruder", roles=["admin"]))
        r.raises("delegation_malformed", 401, "delegating from a parent token that isn't a JWT",
                 lambda: orchestrator.delegate("x.y", "intruder"))
        bot = AgentSafeClient(sidecar.url, identity_token=child.token)
        d = bot.check("scale-deployment", target="prod/web", params=SCALE3, ticket_id="CHG-1234")
        r.check(d.needs_approval and d.caller == "deploy-bot", "the delegated deployer scaling prod -> require_approval", d.raw)
        d = bot.check("scale-deployment", target="dev/web", params=SCALE3)
        r.check(d.allowed and d.ticket, "the delegated deployer scaling dev -> allow", d.raw)
        if d.ticket:
            pyjwt_verify(r, sidecar.url, d.ticket.token, {"caller": "deploy-bot", "sub": "orchestrator", "delegation_depth": 1,
                                                          "act": {"sub": "deploy-bot"}, "params": SCALE3}, "delegated ticket")
            ok = bot.verify_ticket(d.ticket.token, action="scale-deployment", target="dev/web", params=SCALE3)
            r.check(ok.valid and ok.consumed, "the delegated ticket is consumed once", ok.raw)
            r.check(bot.verify_ticket(d.ticket.token).code == "replayed", "and refused as replayed after that")

        r.raises("admin_token_required", 401, "reload without a token", lambda: anonymous._request("POST", "/v1/admin/reload", {}))
        r.raises("admin_token_invalid", 403, "reload with an agent's identity token", lambda: anonymous.reload(parent))
        ok = anonymous.reload(admin)
        r.check(ok.get("reloaded") is True and ok.get("rules") == 4, "reload with the admin token -> reloaded", ok)

        policy = os.path.join(project, "policies", "default.yaml")
        with open(policy) as f:
            good = f.read()
        with open(policy, "a") as f:
            f.write("  - name: broken\n    priorty: 3\n")
        try:
            anonymous.reload(admin)
            r.check(False, "a broken policy file is rejected on reload")
        except AgentSafeError as e:
            r.check(e.status == 422 and e.code == "invalid_configuration" and any("priorty" in m for m in e.errors),
                    "a broken policy file is rejected on reload (422 invalid_configuration, located errors)", e.body)
        finally:
            with open(policy, "w") as f:
                f.write(good)
        d = orchestrator.check("restart-deployment", target="dev/web", params=PARAMS)
        r.check(d.allowed, "the previous configuration keeps serving")
    finally:
        code = sidecar.stop()
    r.check(code == 0, "SIGTERM -> exit code 0", f"exit code {code}; log tail:\n{sidecar.output()[-1500:]}")

    verify = run([binary, "audit", "verify", "--key", "secrets/checkpoint.pem"], cwd=project)
    r.check(verify.returncode == 0 and "valid signatures" in verify.stdout,
            "agent-safe audit verify --key secrets/checkpoint.pem -> exit 0, checkpoints signed (both runs, one chain)",
            verify.stdout + verify.stderr)
    print("      " + verify.stdout.strip().splitlines()[0] if verify.stdout.strip() else "")
    events = read_events(os.path.join(project, ".agent-safe", "audit.jsonl"))
    r.check(events[-1]["event_type"] == "checkpoint", "the log ends with the shutdown checkpoint")


def main() -> int:
    ap = argparse.ArgumentParser(description="End-to-end test of agent-safe serve with the Python client.")
    ap.add_argument("--bin", help="the agent-safe binary")
    ap.add_argument("--keep", action="store_true", help="keep the temporary project")
    args = ap.parse_args()
    binary = find_binary(args.bin)
    project = tempfile.mkdtemp(prefix="agent-safe-e2e-")
    print(f"binary:  {binary}\nproject: {project}\nPyJWT:   {jwt.__version__ if HAVE_PYJWT else 'not installed (checks skipped)'}")
    r = Results()
    try:
        init = run([binary, "init", "."], cwd=project)
        if r.check(init.returncode == 0, "agent-safe init", init.stderr):
            phase_open(r, binary, project)
            phase_token(r, binary, project)
    except Exception as e:  # a crash is a failure, with its cause
        r.check(False, f"unexpected {type(e).__name__}", repr(e))
        import traceback

        traceback.print_exc()
    finally:
        if args.keep or r.failed:
            print(f"\nproject kept: {project}")
        else:
            shutil.rmtree(project, ignore_errors=True)
    print(f"\n{r.passed} passed, {len(r.failed)} failed" + (f", {r.skipped} skipped" if r.skipped else ""))
    for what in r.failed:
        print(f"  failed: {what}")
    return 0 if not r.failed else 1


if __name__ == "__main__":
    sys.exit(main())
