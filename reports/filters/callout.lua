--[[
callout.lua: Quarto callouts (::: {.callout-note} ... :::) for plain pandoc.
HTML: a div.callout.callout-<type> with a div.callout-title (styled by templates/report.css).
Typst: the content inside a coloured #block with a left rule. The title is the div's title
attribute, else its first header, else the callout type.
]]

local kinds = {
  note = { "Note", "#1f77b4", "#eaf2fb" },
  tip = { "Tip", "#2e9e44", "#eaf6ec" },
  important = { "Important", "#d62728", "#fbeaea" },
  warning = { "Warning", "#e6a100", "#fdf5e1" },
  caution = { "Caution", "#d95f02", "#fcefe5" },
}

function Div(div)
  local kind
  for _, class in ipairs(div.classes) do
    local k = class:match("^callout%-(%a+)$")
    if k and kinds[k] then kind = k end
  end
  if not kind then return nil end
  local spec = kinds[kind]
  local content = div.content
  local title = div.attributes["title"] and pandoc.Inlines(div.attributes["title"]) or nil
  if not title and #content > 0 and content[1].t == "Header" then
    title = content[1].content
    content = content:slice(2)
  end
  title = title or pandoc.Inlines(spec[1])
  -- heading="1": the title is a real heading (document outline, screen readers), not bold text
  local level = tonumber(div.attributes["heading"] or "")
  if level then
    local head = pandoc.Header(level, title, { id = div.identifier, class = "unnumbered callout-heading" })
    local blocks = pandoc.List()
    if FORMAT:match("typst") then
      blocks:insert(pandoc.RawBlock("typst", string.format(
        '#block(width: 100%%, inset: 9pt, radius: 3pt, fill: rgb("%s"), stroke: (left: 3pt + rgb("%s")))[',
        spec[3], spec[2])))
      -- a heading, but not listed in the contents that follow it
      blocks:insert(pandoc.RawBlock("typst", string.format("#heading(level: %d, outlined: false)[", level)))
      blocks:insert(pandoc.Plain(title))
      blocks:insert(pandoc.RawBlock("typst", "]" .. (div.identifier ~= "" and (" <" .. div.identifier .. ">") or "")))
      blocks:extend(content)
      blocks:insert(pandoc.RawBlock("typst", "]"))
      return blocks
    end
    blocks:insert(head)
    blocks:extend(content)
    return pandoc.Div(blocks, { class = "callout callout-" .. kind })
  end
  if FORMAT:match("typst") then
    local blocks = pandoc.List()
    blocks:insert(pandoc.RawBlock("typst", string.format(
      '#block(width: 100%%, inset: 9pt, radius: 3pt, fill: rgb("%s"), stroke: (left: 3pt + rgb("%s")))[',
      spec[3], spec[2])))
    blocks:insert(pandoc.Para({ pandoc.Strong(title) }))
    blocks:extend(content)
    blocks:insert(pandoc.RawBlock("typst", "]"))
    return blocks
  end
  local head = pandoc.Div({ pandoc.Plain(title) }, { class = "callout-title" })
  local body = pandoc.Div(content, { class = "callout-body" })
  return pandoc.Div({ head, body }, { id = div.identifier, class = "callout callout-" .. kind })
end
