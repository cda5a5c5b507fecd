-- wrk script for bench_runtime.sh: each request is a POST /v1/candidates with a small valid
-- body, authorised with the next key of the file named by BENCH_KEYS (one key a line), so the
-- creates spread over as many tenants as the file has keys. Requests are formatted once in init.

local requests = {}
local next_index = 0
local thread_count = 0

function setup(thread)
    thread:set("thread_number", thread_count)
    thread_count = thread_count + 1
end

function init(args)
    local file = os.getenv("BENCH_KEYS")
    if file == nil or file == "" then
        error("BENCH_KEYS is not set")
    end
    local body = '{"given_name":"Benk","family_name":"Opprettet","interests":["kino"]}'
    for key in io.lines(file) do
        if key ~= "" then
            local headers = {["Content-Type"] = "application/json",
                             ["Authorization"] = "Bearer " .. key}
            requests[#requests + 1] = wrk.format("POST", "/v1/candidates", headers, body)
        end
    end
    if #requests == 0 then
        error("no keys in " .. file)
    end
    local n = thread_number or 0
    next_index = math.floor(n * #requests / 2) % #requests
end

function request()
    next_index = next_index % #requests + 1
    return requests[next_index]
end
