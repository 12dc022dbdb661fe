--[[
layout.lua: format-specific layout for the pandoc path (and Quarto).

- A div with class "landscape" (::: {.landscape} ... :::) is set on landscape pages in typst
  (#page(flipped: true)[...]), so wide tables get the long side of the page; in HTML the div
  is left as it is (the page is as wide as the window).
- A span with class "details" ([text]{.details summary="Rationale"}) becomes an expandable
  <details> element in HTML; in typst it is dropped, because the full text is in an appendix
  table and a PDF cannot fold it away.
- A div with id "contents" is the table of contents: in HTML a <nav> listing the level-1
  headings that follow the answer (pandoc's --toc would put it above the answer); in typst it
  is replaced by typst's outline.
- HTML tables are wrapped in a div.table-scroll, so a wide table scrolls inside its own box
  on a narrow screen instead of making the whole page scroll sideways.
The content of both is already escaped markdown, so no markup from data passes through here;
only the summary attribute (written by analysis/report/tables.py, not from data) is HTML.
]]

local is_typst = FORMAT:match("typst") ~= nil
local is_html = FORMAT:match("html") ~= nil

local function html_text(s)
  return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

function Table(tbl)
  if not is_html then return nil end
  return pandoc.Div({ tbl }, { class = "table-scroll" })
end

local function toc(blocks)
  local items = pandoc.List()
  for _, b in ipairs(blocks) do
    if b.t == "Header" and b.level == 1 and b.identifier ~= "" and not b.classes:includes("callout-heading") then
      items:insert({ pandoc.Plain({ pandoc.Link(b.content, "#" .. b.identifier) }) })
    end
  end
  return items
end

function Pandoc(doc)
  local out = pandoc.List()
  local all = pandoc.List()
  doc:walk({ Header = function(h) all:insert(h) end })
  for _, b in ipairs(doc.blocks) do
    if b.t == "Div" and b.identifier == "contents" then
      if is_typst then
        out:insert(pandoc.RawBlock("typst", "#[#set text(size: 8.5pt); #outline(title: [Contents], depth: 1)]"))
      elseif is_html then
        out:insert(pandoc.RawBlock("html", '<nav id="TOC" aria-labelledby="toc-title"><h2 id="toc-title">Contents</h2>'))
        out:insert(pandoc.BulletList(toc(all)))
        out:insert(pandoc.RawBlock("html", "</nav>"))
      end
    else
      out:insert(b)
    end
  end
  doc.blocks = out
  return doc
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
