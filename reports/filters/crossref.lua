--[[
crossref.lua: Quarto-style cross-references for plain pandoc.

Pass 1 numbers figures (Figure blocks) and captioned tables in document order and records the
label of every id starting with "fig-" or "tbl-". In HTML the caption gets a "Figure N:"
prefix; typst numbers its own figures in the same order, so the caption is left alone there.
The image's alt text is taken from its fig-alt attribute (as in Quarto); in typst it is
written as image(alt: ...), so the PDF carries it too.
Pass 2 replaces citations @fig-... / @tbl-... by links "Figure N" / "Table N" to the element.
An unknown id is an error, so a broken reference never reaches a reader.
]]

local labels = {}
local counts = { fig = 0, tbl = 0 }
local is_typst = FORMAT:match("typst") ~= nil

local function number(kind, word, el, caption)
  counts[kind] = counts[kind] + 1
  local label = word .. " " .. counts[kind]
  if el.identifier ~= "" then labels[el.identifier] = label end
  if not is_typst and caption then
    local long = caption.long
    if #long == 0 then long:insert(pandoc.Plain({})) end
    local first = long[1]
    if first.content then
      first.content:insert(1, pandoc.Space())
      first.content:insert(1, pandoc.Strong({ pandoc.Str(label .. ":") }))
    end
  end
  return label
end

local function typst_string(s)
  return '"' .. s:gsub("\\", "\\\\"):gsub('"', '\\"') .. '"'
end

-- Typst: pandoc's writer drops an image's description, so the image is written here with
-- image(alt: ...), which typst puts into the PDF as the figure's alternative text.
local function typst_image(img, alt)
  local args = typst_string(img.src)
  local width = img.attributes["width"]
  if width and width:match("^[%d.]+%a*%%?$") then args = args .. ", width: " .. width end
  args = args .. ", alt: " .. typst_string(alt)
  return pandoc.RawInline("typst", "#image(" .. args .. ")")
end

local function set_alt(img)
  local alt = img.attributes["fig-alt"]
  if alt then
    img.attributes["fig-alt"] = nil
    img.caption = pandoc.Inlines({ pandoc.Str(alt) })
  end
  if is_typst then
    return typst_image(img, alt or pandoc.utils.stringify(img.caption))
  end
  return img
end

local pass1 = {
  traverse = "topdown",
  Figure = function(fig)
    fig = fig:walk({ Image = set_alt })
    number("fig", "Figure", fig, fig.caption)
    return fig
  end,
  Table = function(tbl)
    if #tbl.caption.long > 0 then number("tbl", "Table", tbl, tbl.caption) end
    return tbl
  end,
}

local pass2 = {
  Cite = function(cite)
    local out = pandoc.List()
    for i, c in ipairs(cite.citations) do
      local id = c.id
      if not (id:match("^fig%-") or id:match("^tbl%-")) then return nil end
      local label = labels[id]
      if not label then
        error("crossref.lua: unknown cross-reference @" .. id)
      end
      if i > 1 then out:insert(pandoc.Str(i == #cite.citations and " and " or ", ")) end
      out:insert(pandoc.Link({ pandoc.Str(label) }, "#" .. id, "", { class = "crossref" }))
    end
    return out
  end,
}

return { pass1, pass2 }
