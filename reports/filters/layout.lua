--[[
layout.lua: format-specific layout for the pandoc path (and Quarto).

- A div with class "landscape" (::: {.landscape} ... :::) is set on landscape pages in typst
  (#page(flipped: true)[...]), so wide tables get the long side of the page; in HTML the div
  is left as it is (the page is as wide as the window).
- A span with class "details" ([text]{.details summary="Rationale"}) becomes an expandable
  <details> element in HTML; in typst it is dropped, because the full text is in an appendix
  table and a PDF cannot fold it away.
The content of both is already escaped markdown, so no markup from data passes through here;
only the summary attribute (written by analysis/report/tables.py, not from data) is HTML.
]]

local is_typst = FORMAT:match("typst") ~= nil
local is_html = FORMAT:match("html") ~= nil

local function html_text(s)
  return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

function Div(div)
  if not div.classes:includes("landscape") or not is_typst then return nil end
  local blocks = pandoc.List({ pandoc.RawBlock("typst", "#page(flipped: true)[") })
  blocks:extend(div.content)
  blocks:insert(pandoc.RawBlock("typst", "]"))
  return blocks
end

function Span(span)
  if not span.classes:includes("details") then return nil end
  if not is_html then return {} end
  local summary = html_text(span.attributes["summary"] or "Details")
  local out = pandoc.List({ pandoc.RawInline("html", "<details><summary>" .. summary .. "</summary>") })
  out:extend(span.content)
  out:insert(pandoc.RawInline("html", "</details>"))
  return out
end
