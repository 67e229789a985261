-- POST /v1/decisions, one question per request, rotating over the subjects.
package.path = os.getenv("LOAD_DIR") .. "/?.lua;" .. package.path
local c = require("common")
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/v1/decisions", c.headers, c.question(i))
end
response = c.response
done = function() io.write(string.format("non-2xx: %d\n", c.errors)) end
