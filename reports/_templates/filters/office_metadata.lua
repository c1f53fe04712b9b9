--[[
office_metadata.lua: the last filter for DOCX and PPTX (after citeproc).

Pandoc's Word and PowerPoint writers store every metadata field as a custom document property
(docProps/custom.xml). The offline renderer passes build-time paths as metadata: the document's
folder, the Typst root, the bibliography and the citation style, all absolute. Left in, they
put the checkout's (or a temporary build folder's) path into every DOCX and PPTX: the file
changes with where the project was cloned, and shows that path to whoever opens its properties.
This filter drops those fields once citeproc has used them.
]]

local BUILD_PATHS = { "render-docdir", "render-typst-root", "bibliography", "csl" }

function Meta(meta)
  for _, key in ipairs(BUILD_PATHS) do
    meta[key] = nil
  end
  return meta
end
