-- wrk script for the benchmarks: each request takes the next line of the file named by the
-- environment variable BENCH_PATHS, so a round reads many records instead of one hot row.
-- A line is "PATH" (sent with the -H headers given to wrk) or "PATH KEY" (sent with
-- "Authorization: Bearer KEY" instead, for requests spread over many tenants). With BENCH_BODY
-- set, each request is a POST of that JSON body instead of a GET. Requests are formatted once in
-- init; each thread starts at its own offset so threads do not move in step. With BENCH_THINK_MS
-- set, each connection waits between its requests (uniformly 0.5 to 1.5 times that many ms, like
-- a person between clicks), so the offered load stays below saturation and the latency measured
-- is a request's own, not the queue that a closed loop at full speed builds.

local requests = {}
local next_index = 0
local thread_count = 0

function setup(thread)
    thread:set("thread_number", thread_count)
    thread_count = thread_count + 1
end

function init(args)
    local file = os.getenv("BENCH_PATHS")
    if file == nil or file == "" then
        error("BENCH_PATHS is not set")
    end
    local body = os.getenv("BENCH_BODY")
    if body == "" then
        body = nil
    end
    for line in io.lines(file) do
        local path, key = line:match("^(%S+)%s*(%S*)$")
        if path ~= nil then
            local headers = nil
            if key ~= "" or body ~= nil then
                headers = {}
                for name, value in pairs(wrk.headers) do
                    headers[name] = value
                end
            end
            if key ~= "" then
                headers["Authorization"] = "Bearer " .. key
            end
            if body ~= nil then
                headers["Content-Type"] = "application/json"
            end
            requests[#requests + 1] = wrk.format(body and "POST" or "GET", path, headers, body)
        end
    end
    if #requests == 0 then
        error("no paths in " .. file)
    end
    local n = thread_number or 0
    next_index = math.floor(n * #requests / 2) % #requests
end

function request()
    next_index = next_index % #requests + 1
    return requests[next_index]
end

local think = tonumber(os.getenv("BENCH_THINK_MS") or "")
if think ~= nil and think > 0 then
    function delay()
        return math.floor(think * (0.5 + math.random()))
    end
end
