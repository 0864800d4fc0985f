-- wrk script: POST the founding case again and again, each time with a new local_id.
-- Environment: BENCH_TOKEN (bearer token), BENCH_BODY (file with the JSON body, in
-- which LOCAL_ID_HERE is replaced), BENCH_PREFIX (makes local_ids unique per run).

local token = os.getenv("BENCH_TOKEN")
local prefix = os.getenv("BENCH_PREFIX")
local file = assert(io.open(os.getenv("BENCH_BODY"), "r"))
local template = file:read("*a")
file:close()

local threads = 0
local counter = 0

function setup(thread)
   threads = threads + 1
   thread:set("thread_id", threads)
end

function request()
   counter = counter + 1
   -- Letters between the numbers: "1-1-17" alone would read as a date, which keys refuse.
   local local_id = prefix .. "-t" .. thread_id .. "-n" .. counter
   local body = template:gsub("LOCAL_ID_HERE", local_id)
   return wrk.format("POST", nil, {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
   }, body)
end

-- The first failures and their problem documents, so a failing run says why.
local reported = 0

function response(status, headers, body)
   if status >= 300 and reported < 2 then
      reported = reported + 1
      io.write("failed: HTTP " .. status .. " " .. string.sub(body, 1, 500) .. "\n")
   end
end
