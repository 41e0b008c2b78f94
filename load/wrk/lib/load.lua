-- Small helpers shared by llmq wrk scripts (loaded with dofile; wrk threads each load their own copy).

-- Reads a whole file; fails with a message naming the file.
function llmq_read_file(path)
  local f, err = io.open(path, "rb")
  if not f then error("cannot read " .. path .. ": " .. tostring(err)) end
  local data = f:read("*a")
  f:close()
  return data
end

-- Escapes a string for a JSON string literal.
function llmq_json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local map = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
    return map[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

-- Splits "a,b, c" into {"a","b","c"}; nil or "" gives nil.
function llmq_split_list(s)
  if s == nil or s == "" then return nil end
  local out = {}
  for item in s:gmatch("[^,%s]+") do table.insert(out, item) end
  if #out == 0 then return nil end
  return out
end
