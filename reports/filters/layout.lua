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

-- Typst: a paragraph that introduces a figure stays on the figure's page (sticky), and so
-- does the heading before it, so no heading or lead-in is left alone at the foot of a page.
local function keep_with_figures(blocks)
  local out = pandoc.List()
  for i, b in ipairs(blocks) do
    local nxt = blocks[i + 1]
    if b.t == "Para" and nxt and nxt.t == "Figure" then
      out:insert(pandoc.RawBlock("typst", "#block(sticky: true)["))
      out:insert(b)
      out:insert(pandoc.RawBlock("typst", "]"))
    else
      out:insert(b)
    end
  end
  return out
end

-- Typst: consecutive landscape divs share one run of landscape pages (a new page only where
-- the orientation changes, so a short landscape section does not leave a page half empty).
local LANDSCAPE = "#page(flipped: true, margin: (x: 0.8in, y: 0.9in))["

local function landscape_pages(blocks)
  local out, open = pandoc.List(), false
  for _, b in ipairs(blocks) do
    local is_landscape = b.t == "Div" and b.classes:includes("landscape")
    if is_landscape and not open then
      out:insert(pandoc.RawBlock("typst", LANDSCAPE))
      open = true
    elseif not is_landscape and open then
      out:insert(pandoc.RawBlock("typst", "]"))
      open = false
    end
    if is_landscape then out:extend(b.content) else out:insert(b) end
  end
  if open then out:insert(pandoc.RawBlock("typst", "]")) end
  return out
end

function Pandoc(doc)
  if is_typst then doc.blocks = keep_with_figures(landscape_pages(doc.blocks)) end
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

function Span(span)
  if not span.classes:includes("details") then return nil end
  if not is_html then return {} end
  local summary = html_text(span.attributes["summary"] or "Details")
  local out = pandoc.List({ pandoc.RawInline("html", "<details><summary>" .. summary .. "</summary>") })
  out:extend(span.content)
  out:insert(pandoc.RawInline("html", "</details>"))
  return out
end
