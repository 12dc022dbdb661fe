--[[
include.lua: replace ```{.include} code blocks by the parsed contents of the files listed in
them (one path per line), as the classic pandoc "include-files" filter does. Paths are
relative to the working directory, else to the directory of the input file. Included files
may include others. A missing file is an error: the report must not silently drop a table.
Works with plain pandoc (--lua-filter) and with Quarto (filters: in _quarto.yml).
]]

local function exists(path)
  local fh = io.open(path, "r")
  if fh then fh:close() return true end
  return false
end

local function resolve(path)
  if pandoc.path.is_absolute(path) or exists(path) then
    return path
  end
  local input = PANDOC_STATE.input_files[1]
  if input then
    local candidate = pandoc.path.join({ pandoc.path.directory(input), path })
    if exists(candidate) then return candidate end
  end
  return path
end

local include

include = function(cb)
  if not cb.classes:includes("include") then return nil end
  local format = cb.attributes["format"] or "markdown"
  local blocks = pandoc.List()
  for line in cb.text:gmatch("[^\r\n]+") do
    local path = line:match("^%s*(.-)%s*$")
    if path ~= "" and not path:match("^//") then
      local fh = io.open(resolve(path), "r")
      if not fh then
        error("include.lua: cannot open included file '" .. path .. "'")
      end
      local text = fh:read("a")
      fh:close()
      local doc = pandoc.read(text, format, PANDOC_READER_OPTIONS)
      local nested = pandoc.Div(doc.blocks):walk({ CodeBlock = include })
      blocks:extend(nested.content)
    end
  end
  return blocks
end

return { { CodeBlock = include } }
