-- wrk script: POST /v1/bookings/holds, each request a different slot.
-- Env: STATION, CONNECTORS (comma-separated), BASE_EPOCH (a future whole hour).
-- Slots are one minute long, so a run's holds stay inside the booking
-- horizon (7 days by default): with hour-long slots a fast run ran past it
-- and measured 400s (10 connectors x 4 days is only 960 hours); bench/lib.sh
-- also sets a 365-day horizon.
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  tid = tonumber(tid) or 0
  nthreads = 2
  counter = 0
  station = os.getenv("STATION")
  connectors = {}
  for c in string.gmatch(os.getenv("CONNECTORS"), "[^,]+") do
    table.insert(connectors, c)
  end
  base = tonumber(os.getenv("BASE_EPOCH"))
end

function request()
  local k = counter * nthreads + tid
  counter = counter + 1
  local connector = connectors[(k % #connectors) + 1]
  local start = base + math.floor(k / #connectors) * 60
  local body = string.format(
    '{"stationId":"%s","connectorId":"%s","startTs":"%s","endTs":"%s"}',
    station, connector,
    os.date("!%Y-%m-%dT%H:%M:%SZ", start),
    os.date("!%Y-%m-%dT%H:%M:%SZ", start + 60))
  return wrk.format("POST", "/v1/bookings/holds", nil, body)
end
