--[[
quarto_subset.lua -- gives pandoc the meaning Quarto gives to the supported subset.

Used by analysis/publish/render (the offline renderer). Metadata set by the renderer:
  render-format       html | docx | pdf | revealjs | pptx
  render-docdir       folder of the main document (relative image paths start there)
  render-typst-root   root folder handed to typst.compile (pdf only)
  crossref            Quarto's fig-title, tbl-title, fig-prefix, tbl-prefix, title-delim

Does, in this order:
  1. numbers figures (#fig-) and tables (#tbl-) in document order and prefixes captions
     ("Figure 1: ..."); moves fig-alt to the image's alt text;
  2. turns @fig-x / @tbl-x / [-@fig-x] into links reading "Figure 1" / "1";
  3. callouts (.callout-note|tip|warning|caution|important), speaker notes (.notes, kept only
     for revealjs and pptx), page breaks (.render-pagebreak);
  4. HTML only: an interactive Vega-Lite view in front of the static PNG of embedded figures.
]]

local stringify = pandoc.utils.stringify

local output_format = "html"
local docdir = "."
local typst_root = nil
local options = {
  ["fig-title"] = "Figure",
  ["tbl-title"] = "Table",
  ["fig-prefix"] = "Figure",
  ["tbl-prefix"] = "Table",
  ["title-delim"] = ":",
}
local numbers = {}
local counters = { fig = 0, tbl = 0 }
local vega_views = 0
local document_meta = nil

local CALLOUT_TITLES = {
  note = "Note",
  tip = "Tip",
  warning = "Warning",
  caution = "Caution",
  important = "Important",
}
local CALLOUT_ICONS = {
  note = "ℹ",
  tip = "✓",
  warning = "⚠",
  caution = "⚠",
  important = "!",
}

local function is_html()
  return output_format == "html" or output_format == "revealjs"
end

local function read_meta(meta)
  document_meta = meta
  if meta["render-format"] then
    output_format = stringify(meta["render-format"])
  end
  if meta["render-docdir"] then
    docdir = stringify(meta["render-docdir"])
  end
  if meta["render-typst-root"] then
    typst_root = stringify(meta["render-typst-root"])
  end
  if meta.crossref then
    for key, _ in pairs(options) do
      if meta.crossref[key] then
        options[key] = stringify(meta.crossref[key])
      end
    end
  end
  return nil
end

local function caption_prefix(kind, number)
  local title = options[kind .. "-title"]
  return { pandoc.Str(title), pandoc.Str("\u{a0}" .. tostring(number) .. options["title-delim"]) }
end

local function prefix_caption(caption, kind, number)
  local prefix = caption_prefix(kind, number)
  local long = caption.long
  if #long == 0 or stringify(long) == "" then
    caption.long = { pandoc.Plain({ pandoc.Str(options[kind .. "-title"]),
      pandoc.Str("\u{a0}" .. tostring(number)) }) }
    return caption
  end
  local first = long[1]
  if first.t == "Plain" or first.t == "Para" then
    local content = pandoc.Inlines(prefix)
    content:insert(pandoc.Space())
    content:extend(first.content)
    first.content = content
    long[1] = first
  else
    long:insert(1, pandoc.Plain(prefix))
  end
  caption.long = long
  return caption
end

local function register(identifier, kind)
  if numbers[identifier] then
    error("duplicate cross-reference label #" .. identifier)
  end
  counters[kind] = counters[kind] + 1
  numbers[identifier] = { kind = kind, number = counters[kind] }
  return counters[kind]
end

local function absolute_path(src)
  if src:match("^/") or src:match("^%a+:") then
    return src
  end
  return pandoc.path.normalize(pandoc.path.join({ docdir, src }))
end

local function fix_image(img)
  local alt = img.attributes["fig-alt"]
  if alt then
    img.attributes["fig-alt"] = nil
    -- pandoc's pptx writer shows an image's description as its caption, so there the
    -- renderer writes the alt text into the picture afterwards instead.
    if output_format ~= "pptx" then
      img.caption = pandoc.Inlines({ pandoc.Str(alt) })
    end
  end
  if output_format == "pdf" then
    if typst_root and not img.src:match("^%a+:") then
      local abs = absolute_path(img.src)
      img.src = "/" .. pandoc.path.make_relative(abs, typst_root)
    end
  end
  if not is_html() then
    img.attributes["vl-spec"] = nil
  end
  return img
end

local numbering = {
  Figure = function(fig)
    if fig.identifier:match("^fig%-") then
      local number = register(fig.identifier, "fig")
      fig.caption = prefix_caption(fig.caption, "fig", number)
      if output_format == "pptx" then
        local caption = pandoc.utils.blocks_to_inlines(fig.caption.long)
        fig.content = fig.content:walk({
          Image = function(img)
            img.caption = caption
            return img
          end,
        })
      end
    end
    return fig
  end,
  Table = function(tbl)
    if tbl.identifier:match("^tbl%-") then
      local number = register(tbl.identifier, "tbl")
      tbl.caption = prefix_caption(tbl.caption, "tbl", number)
    end
    return tbl
  end,
  Image = fix_image,
}

local references = {
  Cite = function(cite)
    local crossrefs = 0
    for _, citation in ipairs(cite.citations) do
      local id = citation.id:sub(1, 1):lower() .. citation.id:sub(2)
      if id:match("^fig%-") or id:match("^tbl%-") then
        crossrefs = crossrefs + 1
      end
    end
    if crossrefs == 0 then
      return nil -- a bibliography citation: pandoc's citeproc formats it
    end
    if crossrefs < #cite.citations then
      error("a citation group mixes cross-references and references: " .. stringify(cite))
    end
    local result = pandoc.Inlines({})
    for index, citation in ipairs(cite.citations) do
      local id = citation.id
      local key = id:sub(1, 1):lower() .. id:sub(2)
      local entry = numbers[key]
      if not entry then
        error("unresolved cross-reference @" .. id ..
          " (only @fig- and @tbl- labels defined in the document are supported)")
      end
      if index > 1 then
        result:insert(pandoc.Str(";"))
        result:insert(pandoc.Space())
      end
      if #citation.prefix > 0 then
        result:extend(citation.prefix)
        result:insert(pandoc.Space())
      end
      local text
      if citation.mode == "SuppressAuthor" then
        text = tostring(entry.number)
      else
        text = options[entry.kind .. "-prefix"] .. "\u{a0}" .. tostring(entry.number)
      end
      result:insert(pandoc.Link(pandoc.Inlines({ pandoc.Str(text) }), "#" .. key))
      if #citation.suffix > 0 then
        result:extend(citation.suffix)
      end
    end
    return result
  end,
}

local function typst_markup(inlines)
  local text = pandoc.write(pandoc.Pandoc({ pandoc.Plain(inlines) }), "typst")
  return (text:gsub("%s+$", ""))
end

local function callout(div, kind)
  local title = nil
  if div.attributes.title then
    local parsed = pandoc.read(div.attributes.title, "markdown").blocks
    title = (#parsed > 0 and parsed[1].content) or pandoc.Inlines({})
  end
  local content = div.content
  if not title and #content > 0 and content[1].t == "Header" then
    title = content[1].content
    content = pandoc.Blocks({ table.unpack(content, 2) })
  end
  if not title then
    title = pandoc.Inlines({ pandoc.Str(CALLOUT_TITLES[kind]) })
  end
  if is_html() then
    local heading = pandoc.Div(
      { pandoc.Plain({ pandoc.Span({ pandoc.Str(CALLOUT_ICONS[kind]) },
        { class = "callout-icon", ["aria-hidden"] = "true" }), pandoc.Space(),
        pandoc.Strong(title) }) },
      { class = "callout-title" })
    local body = pandoc.Div(content, { class = "callout-body" })
    return pandoc.Div({ heading, body },
      pandoc.Attr(div.identifier, { "callout", "callout-" .. kind },
        -- a list of pairs, not a table with two keys: Lua's pairs() order changes from run to
        -- run, and with it the attribute order in the HTML
        { { "role", "note" }, { "aria-label", stringify(title) } }))
  elseif output_format == "docx" then
    local blocks = pandoc.Blocks({
      pandoc.Div({ pandoc.Para({ pandoc.Strong(title) }) },
        { ["custom-style"] = "Callout Title" }),
      pandoc.Div(content, { ["custom-style"] = "Callout" }),
    })
    return blocks
  elseif output_format == "pdf" then
    local blocks = pandoc.Blocks({
      pandoc.RawBlock("typst", '#callout(kind: "' .. kind .. '", title: [' ..
        typst_markup(title) .. "])["),
    })
    blocks:extend(content)
    blocks:insert(pandoc.RawBlock("typst", "]"))
    return blocks
  else
    local blocks = pandoc.Blocks({ pandoc.Para({ pandoc.Strong(title) }) })
    blocks:extend(content)
    return blocks
  end
end

-- Quarto's conditional content: .content-visible / .content-hidden with when-format,
-- unless-format, when-meta and unless-meta (all given conditions must hold).
local FORMAT_ALIASES = {
  html = { html = true, revealjs = true },
  revealjs = { revealjs = true },
  docx = { docx = true },
  pptx = { pptx = true },
  pdf = { pdf = true },
  typst = { pdf = true },
}
local function format_matches(name)
  local formats = FORMAT_ALIASES[name]
  return formats ~= nil and formats[output_format] == true
end

local function meta_true(key)
  local value = document_meta
  for part in key:gmatch("[^.]+") do
    local ok, item = pcall(function() return value[part] end)
    if not ok or item == nil then
      return false
    end
    value = item
  end
  if value == nil then
    return false
  end
  if type(value) == "boolean" then
    return value
  end
  return stringify(value) == "true"
end

-- Whether a .content-visible / .content-hidden element is shown; nil when it is neither.
local function conditional_shown(el)
  local visible = el.classes:includes("content-visible")
  local hidden = el.classes:includes("content-hidden")
  if not visible and not hidden then
    return nil
  end
  local holds = true
  local attributes = el.attributes
  if attributes["when-format"] then
    holds = holds and format_matches(attributes["when-format"])
  end
  if attributes["unless-format"] then
    holds = holds and not format_matches(attributes["unless-format"])
  end
  if attributes["when-meta"] then
    holds = holds and meta_true(attributes["when-meta"])
  end
  if attributes["unless-meta"] then
    holds = holds and not meta_true(attributes["unless-meta"])
  end
  return (visible and holds) or (hidden and not holds)
end

-- Quarto applies conditional content to divs, spans and code blocks alike.
local conditional = {
  Div = function(div)
    local shown = conditional_shown(div)
    if shown == nil then
      return nil
    end
    return shown and div.content or {}
  end,
  Span = function(span)
    local shown = conditional_shown(span)
    if shown == nil then
      return nil
    end
    return shown and span.content or {}
  end,
  CodeBlock = function(block)
    local shown = conditional_shown(block)
    if shown == nil then
      return nil
    end
    if not shown then
      return {}
    end
    block.classes = block.classes:filter(function(class)
      return class ~= "content-visible" and class ~= "content-hidden"
    end)
    for _, key in ipairs({ "when-format", "unless-format", "when-meta", "unless-meta" }) do
      block.attributes[key] = nil
    end
    return block
  end,
}

local PAGEBREAKS = {
  docx = '<w:p><w:r><w:br w:type="page"/></w:r></w:p>',
  pdf = "#pagebreak()",
  html = '<div class="page-break" aria-hidden="true"></div>',
}
local RAW_FORMAT = { docx = "openxml", pdf = "typst", html = "html" }

local blocks = {
  Div = function(div)
    if div.classes:includes("render-pagebreak") then
      local raw = PAGEBREAKS[output_format]
      if raw then
        return pandoc.RawBlock(RAW_FORMAT[output_format], raw)
      end
      return {}
    end
    if div.classes:includes("notes") then
      if output_format == "revealjs" or output_format == "pptx" then
        return div
      end
      return {}
    end
    for _, class in ipairs(div.classes) do
      local kind = class:match("^callout%-(%a+)$")
      if kind then
        if not CALLOUT_TITLES[kind] then
          error("unsupported callout type ." .. class)
        end
        return callout(div, kind)
      end
    end
    return div
  end,
}

local function json_for_script(text)
  return (text:gsub("</", "<\\/"))
end

local vega = {
  Image = function(img)
    local spec_path = img.attributes["vl-spec"]
    if not spec_path then
      return img
    end
    img.attributes["vl-spec"] = nil
    local handle = io.open(spec_path, "r")
    if not handle then
      error("cannot read Vega-Lite spec " .. spec_path)
    end
    local spec = handle:read("a")
    handle:close()
    vega_views = vega_views + 1
    local id = "vega-view-" .. tostring(vega_views)
    img.classes:insert("vega-fallback")
    local alt = stringify(img.caption):gsub("&", "&amp;"):gsub('"', "&quot;"):gsub("<", "&lt;")
    local html = '<div class="vega-view" id="' .. id .. '" role="img" aria-label="' .. alt ..
        '"></div><script type="application/json" id="' .. id .. '-spec">' ..
        json_for_script(spec) .. "</script>"
    return { pandoc.RawInline("html", html), img }
  end,
}

return {
  { Meta = read_meta },
  conditional,
  numbering,
  references,
  blocks,
  {
    Pandoc = function(doc)
      if is_html() then
        return doc:walk(vega)
      end
      return doc
    end,
  },
}
