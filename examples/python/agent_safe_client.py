"""A small client for the Agent-Safe sidecar (`agent-safe serve`), standard library only.

    from agent_safe_client import AgentSafeClient, AgentSafeError

    client = AgentSafeClient("http://127.0.0.1:8787")          # identity_token="eyJ..." in `token` mode
    decision = client.check("restart-deployment", target="dev/web", caller="my-agent",
                            params={"namespace": "web", "deployment": "web"})
    if decision.allowed:
        run_with(decision.ticket.token)                          # the executor verifies and spends it

Every call returns a small typed object (dataclasses below) that keeps the full JSON body in `.raw`. An HTTP error
raises `AgentSafeError` carrying the problem+json `code` (RFC 9457: `identity_required`, `unknown_field`, ...); a
sidecar that can't be reached raises `SidecarUnavailable` (a subclass, `code == "unavailable"`). Treat both as
"not allowed": an agent must never act without an `allow`.

A refused ticket is *not* an HTTP error: `verify_ticket` / `introspect` return `TicketCheck(valid=False,
code="replayed", ...)`, because "this ticket is no good" is the normal answer of a verification.

The API is documented in docs/api.md and docs/openapi.yaml (served at GET /openapi.yaml).
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

__all__ = [
    "AgentSafeClient",
    "AgentSafeError",
    "SidecarUnavailable",
    "Decision",
    "Ticket",
    "Approval",
    "PlanResult",
    "TicketCheck",
    "Delegation",
    "ActionSummary",
]

JSON = Dict[str, Any]
Caller = Union[str, JSON]  # "agent-id" or {"agent_id", "agent_name"?, "roles"?, "groups"?}

ALLOW = "allow"
DENY = "deny"
REQUIRE_APPROVAL = "require_approval"


class AgentSafeError(Exception):
    """An HTTP error from the sidecar, with the fields of its problem+json body."""

    def __init__(self, status: int, code: str, title: str = "", detail: str = "",
                 request_id: Optional[str] = None, body: Optional[JSON] = None):
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.body = body or {}
        super().__init__(f"{status} {code}: {detail or title}")

    @property
    def errors(self) -> List[str]:
        """The located configuration errors of a rejected reload (`invalid_configuration`)."""
        return list(self.body.get("errors", []))


class SidecarUnavailable(AgentSafeError):
    """The sidecar could not be reached (not started, crashed, timed out). Fail closed."""

    def __init__(self, reason: str):
        super().__init__(0, "unavailable", "Sidecar unavailable", reason)


@dataclass(frozen=True)
class Ticket:
    """A signed, single-use execution ticket that comes with every `allow`."""

    token: str
    jti: str
    expires_at: str

    def __repr__(self) -> str:  # keep the bearer token out of logs
        return f"Ticket(jti={self.jti!r}, expires_at={self.expires_at!r}, token='{self.token[:16]}…')"


@dataclass(frozen=True)
class Approval:
    id: str
    expires_at: Optional[str] = None


@dataclass(frozen=True)
class Decision:
    result: str  # "allow" | "deny" | "require_approval"
    reason: str
    action: str
    target: Optional[str]
    caller: str
    code: str  # "policy", "no_matching_policy", "unknown_action", "invalid_params", ...
    policy_matched: Optional[str]
    risk_class: Optional[str]
    effective_risk: Optional[str]
    audit_id: str
    ticket: Optional[Ticket] = None
    approval: Optional[Approval] = None
    cumulative_risk: Optional[int] = None
    raw: JSON = field(default_factory=dict, repr=False)

    @property
    def allowed(self) -> bool:
        return self.result == ALLOW

    @property
    def denied(self) -> bool:
        return self.result == DENY

    @property
    def needs_approval(self) -> bool:
        return self.result == REQUIRE_APPROVAL

    @classmethod
    def from_json(cls, o: JSON) -> "Decision":
        t = o.get("ticket")
        a = o.get("approval")
        return cls(
            result=o["result"], reason=o.get("reason", ""), action=o.get("action", ""), target=o.get("target"),
            caller=o.get("caller", ""), code=o.get("code", ""), policy_matched=o.get("policy_matched"),
            risk_class=o.get("risk_class"), effective_risk=o.get("effective_risk"), audit_id=o.get("audit_id", ""),
            ticket=Ticket(t["token"], t["jti"], t["expires_at"]) if t else None,
            approval=Approval(a["id"], a.get("expires_at")) if a else None,
            cumulative_risk=o.get("cumulative_risk"), raw=o)


@dataclass(frozen=True)
class PlanResult:
    result: str  # the worst step's result
    all_or_nothing: bool
    steps: List[Decision]
    raw: JSON = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class TicketCheck:
    """The answer of POST /v1/tickets/verify (consumed) or /v1/tickets/introspect (not consumed)."""

    valid: bool
    code: str  # "valid", "replayed", "expired", "target_mismatch", "params_mismatch", "bad_signature", ...
    message: str = ""
    consumed: bool = False
    claims: Optional[JSON] = None
    raw: JSON = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Delegation:
    token: str
    agent_id: str
    delegation_depth: int
    expires_at: str
    raw: JSON = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return (f"Delegation(agent_id={self.agent_id!r}, delegation_depth={self.delegation_depth}, "
                f"expires_at={self.expires_at!r}, token='{self.token[:16]}…')")


@dataclass(frozen=True)
class ActionSummary:
    name: str
    description: str
    risk_class: str
    target_types: List[str]
    reversible: bool
    tags: List[str]


class AgentSafeClient:
    """The sidecar's HTTP API. Thread-safe: every call opens its own connection."""

    def __init__(self, base_url: str = "http://127.0.0.1:8787", identity_token: Optional[str] = None,
                 timeout: float = 10.0, admin_token: Optional[str] = None):
        self.base_url = base_url.rstrip("/")
        self.identity_token = identity_token
        self.admin_token = admin_token
        self.timeout = timeout
        # Never go through an HTTP proxy from the environment: the sidecar is on loopback.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # -- decisions -----------------------------------------------------------------------------------------------

    def check(self, action: str, target: Optional[str] = None, params: Optional[JSON] = None,
              caller: Optional[Caller] = None, ticket_id: Optional[str] = None,
              correlation_id: Optional[str] = None, request_id: Optional[str] = None) -> Decision:
        """POST /v1/check. `caller` is used in `open` mode; in `token` and `bound` mode the sidecar knows who calls."""
        body = _compact({"action": action, "target": target, "params": params, "caller": caller,
                         "ticket_id": ticket_id, "correlation_id": correlation_id})
        return Decision.from_json(self._request("POST", "/v1/check", body, request_id=request_id))

    def check_plan(self, steps: Sequence[JSON], all_or_nothing: bool = False,
                   correlation_id: Optional[str] = None) -> PlanResult:
        """POST /v1/check-plan: each step is a `check` body ({action, target, params, caller?, ...}).

        With `all_or_nothing`, tickets are issued only when every step is allowed."""
        body = _compact({"steps": list(steps), "all_or_nothing": all_or_nothing, "correlation_id": correlation_id})
        o = self._request("POST", "/v1/check-plan", body)
        return PlanResult(o["result"], bool(o.get("all_or_nothing")), [Decision.from_json(s) for s in o["steps"]], o)

    # -- tickets -------------------------------------------------------------------------------------------------

    def verify_ticket(self, token: str, action: Optional[str] = None, target: Optional[str] = None,
                      params: Optional[JSON] = None) -> TicketCheck:
        """POST /v1/tickets/verify: verify **and consume** (single use). Pass what you are about to execute."""
        return self._ticket("/v1/tickets/verify", token, action, target, params)

    def introspect(self, token: str, action: Optional[str] = None, target: Optional[str] = None,
                   params: Optional[JSON] = None) -> TicketCheck:
        """POST /v1/tickets/introspect: verify only; the ticket stays unspent."""
        return self._ticket("/v1/tickets/introspect", token, action, target, params)

    def _ticket(self, path: str, token: str, action: Optional[str], target: Optional[str],
                params: Optional[JSON]) -> TicketCheck:
        expect = _compact({"action": action, "target": target, "params": params})
        body: JSON = {"token": token}
        if expect:
            body["expect"] = expect
        o = self._request("POST", path, body)
        return TicketCheck(valid=bool(o.get("valid")), code=o.get("code", ""), message=o.get("message", ""),
                           consumed=bool(o.get("consumed", False)), claims=o.get("claims"), raw=o)

    def execute(self, token: str, params: JSON, action: Optional[str] = None, target: Optional[str] = None,
                dry_run: bool = False, timeout_seconds: Optional[int] = None) -> JSON:
        """POST /v1/execute: the sidecar's runner verifies **and consumes** the ticket, checks that `params` are the
        ticket's, and runs the action (or, with `dry_run`, returns the calls it would make). The answer's `status` is
        success, failure, timeout, refused or dry_run, with a stable `code` (docs/executors.md)."""
        body = _compact({"token": token, "params": params, "action": action, "target": target,
                         "dry_run": dry_run or None, "timeout_seconds": timeout_seconds})
        return self._request("POST", "/v1/execute", body)

    def jwks(self) -> JSON:
        """GET /.well-known/jwks.json: the public ticket keys (ES256), for verifying tickets elsewhere."""
        return self._request("GET", "/.well-known/jwks.json")

    # -- identity ------------------------------------------------------------------------------------------------

    def delegate(self, parent_token: str, child_id: str, roles: Optional[List[str]] = None,
                 groups: Optional[List[str]] = None, ttl: Optional[int] = None,
                 child_name: Optional[str] = None) -> Delegation:
        """POST /v1/delegations: a narrower identity token for a sub-agent (scope only narrows)."""
        body = _compact({"parent_token": parent_token, "child_id": child_id, "child_name": child_name,
                         "roles": roles, "groups": groups, "ttl": ttl})
        o = self._request("POST", "/v1/delegations", body)
        return Delegation(o["token"], o["agent_id"], int(o.get("delegation_depth", 0)), o.get("expires_at", ""), o)

    # -- catalogue, health, admin --------------------------------------------------------------------------------

    def actions(self) -> List[ActionSummary]:
        """GET /v1/actions."""
        o = self._request("GET", "/v1/actions")
        return [ActionSummary(a["name"], a.get("description", ""), a.get("risk_class", ""),
                              list(a.get("target_types", [])), bool(a.get("reversible")), list(a.get("tags", [])))
                for a in o["actions"]]

    def action(self, name: str) -> JSON:
        """GET /v1/actions/{name}: the action with its parameters (404 `unknown_action`)."""
        return self._request("GET", "/v1/actions/" + urllib.parse.quote(name, safe=""))

    def policies(self) -> JSON:
        """GET /v1/policies: `{digest, rules, lint}`."""
        return self._request("GET", "/v1/policies")

    def healthz(self) -> JSON:
        return self._request("GET", "/healthz")

    def readyz(self) -> JSON:
        """GET /readyz; raises AgentSafeError (503) while the sidecar is not ready."""
        return self._request("GET", "/readyz")

    def reload(self, admin_token: Optional[str] = None) -> JSON:
        """POST /v1/admin/reload with the admin token (never an agent's identity token)."""
        token = admin_token or self.admin_token
        return self._request("POST", "/v1/admin/reload", {}, bearer=token, use_identity=False)

    # -- transport -----------------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Optional[JSON] = None, request_id: Optional[str] = None,
                 bearer: Optional[str] = None, use_identity: bool = True) -> JSON:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        token = bearer if bearer is not None else (self.identity_token if use_identity else None)
        if token:
            headers["Authorization"] = "Bearer " + token
        if request_id:
            headers["X-Request-Id"] = request_id
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return _decode(resp.read())
        except urllib.error.HTTPError as e:
            raise _problem(e) from None
        except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as e:
            reason = getattr(e, "reason", e)
            raise SidecarUnavailable(f"{method} {self.base_url}{path}: {reason}") from None


def _compact(o: JSON) -> JSON:
    return {k: v for k, v in o.items() if v is not None}


def _decode(raw: bytes) -> JSON:
    value = json.loads(raw.decode("utf-8")) if raw else {}
    if not isinstance(value, dict):
        raise AgentSafeError(0, "unexpected_response", "Unexpected response", "the sidecar did not answer an object")
    return value


def _problem(e: urllib.error.HTTPError) -> AgentSafeError:
    raw = e.read()
    request_id = e.headers.get("X-Request-Id") if e.headers else None
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and "code" in body:
        return AgentSafeError(e.code, str(body["code"]), str(body.get("title", "")), str(body.get("detail", "")),
                              body.get("request_id") or request_id, body)
    return AgentSafeError(e.code, f"http_{e.code}", str(e.reason), raw[:200].decode("utf-8", "replace"), request_id)
