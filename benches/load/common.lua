-- Shared by the load scripts: the API key and the subject ids the driver created.
local M = {}

M.key = os.getenv("LOAD_KEY")
M.subjects = {}
for line in io.lines(os.getenv("LOAD_SUBJECTS")) do
  M.subjects[#M.subjects + 1] = line
end

M.headers = {
  ["Authorization"] = "Bearer " .. M.key,
  ["Content-Type"] = "application/json",
}

-- A decision question for subject number i (half of them consented to photo-access).
function M.question(i)
  local s = M.subjects[(i % #M.subjects) + 1]
  return '{"subject":"' .. s .. '","purpose":"photo-access","categories":["photos"]}'
end

-- Counts non-2xx answers so the driver can refuse a run that measured errors.
M.errors = 0
function M.response(status, headers, body)
  if status < 200 or status > 299 then
    M.errors = M.errors + 1
  end
end

return M
