-- wrk script for scripts/bench-sidecar.sh: POSTs a mix of realistic /v1/check bodies, one after the other, and
-- prints a machine-readable summary line at the end.
--
--   wrk -t1 -c8 -d10s -s scripts/wrk/check.lua http://127.0.0.1:8787/v1/check
--   BENCH_MODE=get wrk -t1 -c8 -d10s -s scripts/wrk/check.lua http://127.0.0.1:8787/healthz
--
-- The three bodies are the single-kind requests of the Decision benchmarks (docs/performance.md), against the
-- repository's own actions/, policies/ and inventory.yaml:
--   allow             a production log read by a reader (allow-prod-reads); the sidecar issues a ticket
--   deny              a production restart without a change ticket (deny-prod-without-ticket)
--   require_approval  a production image update by a deployer with a ticket (require-approval-prod-with-ticket);
--                     the sidecar stores a durable approval request
-- Environment:
--   BENCH_MODE=get    send GET requests to the URL's path instead (for /healthz); no bodies, no result counts
--   BENCH_ONLY=allow|deny|approval   send only that one of the three bodies (to see what each kind costs)
--   BENCH_LIMIT=N     each wrk thread stops after N responses (for "after 1,000,000 requests") and, with
--                     BENCH_DONE_FILE=PATH, writes that file: wrk itself only ends after -d or on SIGINT

local bodies = {
  '{"action":"get-pod-logs","target":"prod/shop-web-pods","caller":{"agent_id":"triage-agent","roles":["reader"]},'
    .. '"params":{"namespace":"shop","pod":"shop-web-5c8d7b9f4-kq2lm","tail_lines":200}}',
  '{"action":"restart-deployment","target":"prod/search-indexer","caller":{"agent_id":"ops-agent","roles":["sre"]},'
    .. '"params":{"namespace":"search","deployment":"search-indexer"}}',
  '{"action":"update-image","target":"prod/search-indexer","caller":{"agent_id":"deploy-bot","roles":["deployer"]},'
    .. '"params":{"namespace":"search","deployment":"search-indexer","container":"indexer",'
    .. '"image":"registry.example.com/search/indexer:5.2.0"},"ticket_id":"CHG-5001"}',
}

local get_mode = os.getenv("BENCH_MODE") == "get"
local only = ({ allow = 1, deny = 2, approval = 3 })[os.getenv("BENCH_ONLY") or ""]
if only then bodies = { bodies[only] } end
local limit = tonumber(os.getenv("BENCH_LIMIT") or "0")

-- Per-thread state (each wrk thread has its own Lua state).
local prepared = {}
local n = 0
allow, deny, approval, other, non200, responses = 0, 0, 0, 0, 0, 0

function init(args)
  if get_mode then
    prepared[1] = wrk.format("GET", wrk.path)
  else
    local headers = { ["Content-Type"] = "application/json" }
    for i, body in ipairs(bodies) do
      prepared[i] = wrk.format("POST", wrk.path, headers, body)
    end
  end
end

function request()
  n = n + 1
  return prepared[(n - 1) % #prepared + 1]
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    non200 = non200 + 1
  elseif not get_mode then
    if string.find(body, '"result":"allow"', 1, true) then
      allow = allow + 1
    elseif string.find(body, '"result":"deny"', 1, true) then
      deny = deny + 1
    elseif string.find(body, '"result":"require_approval"', 1, true) then
      approval = approval + 1
    else
      other = other + 1
    end
  end
  if limit > 0 and responses == limit then
    -- wrk keeps sleeping for its -d duration after its threads stop, so tell whoever waits (bench-sidecar.sh
    -- sends wrk a SIGINT then, and wrk prints its figures).
    local marker = os.getenv("BENCH_DONE_FILE")
    if marker then
      local f = io.open(marker, "w")
      if f then f:write("done\n") f:close() end
    end
    wrk.thread:stop()
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local counts = { allow = 0, deny = 0, approval = 0, other = 0, non200 = 0 }
  for _, t in ipairs(threads) do
    for k, _ in pairs(counts) do
      counts[k] = counts[k] + (t:get(k) or 0)
    end
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.0f p50_us=%d p90_us=%d p99_us=%d max_us=%d "
      .. "allow=%d deny=%d require_approval=%d other=%d non200=%d socket_errors=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    counts.allow, counts.deny, counts.approval, counts.other, counts.non200,
    e.connect + e.read + e.write + e.timeout))
end
