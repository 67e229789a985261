-- POST /v1/decisions/batch with 100 questions per request.
package.path = os.getenv("LOAD_DIR") .. "/?.lua;" .. package.path
local c = require("common")
local bodies = {}
for b = 0, 15 do
  local items = {}
  for j = 1, 100 do
    items[#items + 1] = c.question(b * 100 + j)
  end
  bodies[#bodies + 1] = '{"items":[' .. table.concat(items, ",") .. ']}'
end
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/v1/decisions/batch", c.headers, bodies[(i % #bodies) + 1])
end
response = c.response
done = function() io.write(string.format("non-2xx: %d\n", c.errors)) end
