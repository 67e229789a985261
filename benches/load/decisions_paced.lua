-- POST /v1/decisions at a paced rate: each connection waits 1 ms between requests,
-- so N connections offer about N × 1,000 requests/s (wrk alone cannot fix a rate).
package.path = os.getenv("LOAD_DIR") .. "/?.lua;" .. package.path
local c = require("common")
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/v1/decisions", c.headers, c.question(i))
end
delay = function() return 1 end
response = c.response
done = function() io.write(string.format("non-2xx: %d\n", c.errors)) end
