-- bench/lua/walk.lua: wrk sends requests read from files, one request per line.
--
--   wrk ... -s walk.lua URL -- PREFIX MODE
--
-- Thread i (0-based) reads PREFIX.i; a line is "PATH" or "PATH<TAB>COOKIE" (the Cookie
-- header of that request).  MODE "once": every line is sent at most once (single-use tokens);
-- when a thread runs out it keeps re-sending its last line and counts the overrun, which
-- bench.py reports as a failed run.  MODE "wrap": lines are sent round-robin (a pool of
-- sessions).  All requests are formatted in init(), so request() costs the same for every
-- benchmark that uses this script.

local threads = {}
local nthreads = 0

function setup(thread)
   thread:set("walk_id", nthreads)
   nthreads = nthreads + 1
   table.insert(threads, thread)
end

function init(args)
   local prefix, mode = args[1], args[2] or "once"
   walk_reqs = {}
   walk_n = 0
   walk_pos = 0
   walk_overrun = 0
   walk_wrap = (mode == "wrap")
   for line in io.lines(prefix .. "." .. walk_id) do
      local path, cookie = line:match("^([^\t]+)\t(.+)$")
      local headers = nil
      if path then
         headers = {}
         for k, v in pairs(wrk.headers) do headers[k] = v end
         headers["Cookie"] = cookie
      else
         path = line
      end
      walk_n = walk_n + 1
      walk_reqs[walk_n] = wrk.format("GET", path, headers)
   end
   if walk_n == 0 then
      error("walk.lua: no request in " .. prefix .. "." .. walk_id)
   end
end

function request()
   walk_pos = walk_pos + 1
   if walk_pos > walk_n then
      if walk_wrap then
         walk_pos = 1
      else
         walk_overrun = walk_overrun + 1
         walk_pos = walk_n
      end
   end
   return walk_reqs[walk_pos]
end

function done(summary, latency, requests)
   local overrun, used = 0, 0
   for _, t in ipairs(threads) do
      overrun = overrun + (t:get("walk_overrun") or 0)
      used = used + math.min(t:get("walk_pos") or 0, t:get("walk_n") or 0)
   end
   io.write(string.format("walk: used %d overrun %d\n", used, overrun))
end
