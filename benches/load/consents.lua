-- POST /v1/consents: durable consent writes (each answered with a signed receipt),
-- alternating given and withdrawn for the marketing purpose.
package.path = os.getenv("LOAD_DIR") .. "/?.lua;" .. package.path
local c = require("common")
local i = 0
request = function()
  i = i + 1
  local s = c.subjects[(i % #c.subjects) + 1]
  local status = (i % 2 == 0) and "given" or "withdrawn"
  local body = '{"subject":"' .. s .. '","purpose":"marketing","status":"' .. status .. '","method":"banner"}'
  return wrk.format("POST", "/v1/consents", c.headers, body)
end
response = c.response
done = function() io.write(string.format("non-2xx: %d\n", c.errors)) end
