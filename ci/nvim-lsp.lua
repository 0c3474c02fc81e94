-- Neovim's built-in LSP client against `lockpath lsp`, headless: attaches
-- the server to a workspace, opens a file, prints the diagnostics it
-- publishes (with every witness hop), then deletes the offending line in
-- the buffer and prints the diagnostics again. ci/nvim-lsp.sh runs it on
-- the seed tree (tests/lsp-seed/); by hand:
--
--   LOCKPATH=target/release/lockpath ROOT=tests/lsp-seed FILE=mm/oom_kill.c \
--     nvim --headless --clean -c 'luafile ci/nvim-lsp.lua'
--
-- With CLANGD=clangd, clangd is attached to the buffer too, as in a real
-- set-up, and its diagnostics are counted apart (without a compilation
-- database it has its own complaints about kernel code).
--
-- Written for Neovim 0.7 (Debian 12's), which has vim.lsp.start_client but
-- not vim.lsp.start; later versions run it unchanged. Exits 0 when a
-- lockpath diagnostic arrived and the edit cleared it, 1 otherwise.

local bin = os.getenv("LOCKPATH") or "lockpath"
local root = vim.fn.fnamemodify(os.getenv("ROOT") or ".", ":p"):gsub("/$", "")
local file = os.getenv("FILE") or "mm/oom_kill.c"
local timeout_ms = tonumber(os.getenv("TIMEOUT_MS") or "60000")
local clangd = os.getenv("CLANGD")
if clangd == "" then
  clangd = nil
end

local function say(line)
  io.stdout:write(line, "\n")
end

local client_id, clangd_id

local function mine(bufnr)
  return vim.diagnostic.get(bufnr, { namespace = vim.lsp.diagnostic.get_namespace(client_id) })
end

local function theirs(bufnr)
  return vim.diagnostic.get(bufnr, { namespace = vim.lsp.diagnostic.get_namespace(clangd_id) })
end

local function show(bufnr, title)
  local diags = mine(bufnr)
  say(string.format("%s: %d lockpath diagnostic(s)", title, #diags))
  if clangd_id then
    local others = theirs(bufnr)
    say(string.format("  (and %d from clangd%s)", #others, others[1] and (", first: " .. others[1].message) or ""))
  end
  for _, d in ipairs(diags) do
    local lsp = (d.user_data or {}).lsp or {}
    say(string.format("%s:%d:%d: %s [%s] %s", file, d.lnum + 1, d.col + 1,
      vim.diagnostic.severity[d.severity], tostring(d.code), d.message:gsub("\n", " | ")))
    for i, hop in ipairs(lsp.relatedInformation or {}) do
      local path = vim.uri_to_fname(hop.location.uri):sub(#root + 2)
      say(string.format("  %d. %s:%d %s", i, path, hop.location.range.start.line + 1, hop.message))
    end
    if lsp.codeDescription then
      say("  docs: " .. lsp.codeDescription.href)
    end
  end
  return #diags
end

client_id = vim.lsp.start_client({
  name = "lockpath",
  cmd = { bin, "lsp" },
  root_dir = root,
  -- Sub-directories only, on a big tree: init_options = { paths = { "mm", "kernel" } },
})
if not client_id then
  say("lockpath lsp did not start")
  vim.cmd("cquit 1")
end

vim.cmd("edit " .. vim.fn.fnameescape(root .. "/" .. file))
local bufnr = vim.api.nvim_get_current_buf()
vim.lsp.buf_attach_client(bufnr, client_id)
if clangd then
  clangd_id = vim.lsp.start_client({ name = "clangd", cmd = { clangd }, root_dir = root })
  vim.lsp.buf_attach_client(bufnr, clangd_id)
end

local started = vim.loop.hrtime()
local arrived = vim.wait(timeout_ms, function()
  return #mine(bufnr) > 0
end, 50)
say(string.format("after %.1f s", (vim.loop.hrtime() - started) / 1e9))
if clangd_id then
  vim.wait(timeout_ms, function()
    return #theirs(bufnr) > 0
  end, 50)
end
local before = show(bufnr, "on open")

-- Delete the line the first diagnostic is on (the offending call) and the
-- one after it (its `goto`), unsaved.
local ok = arrived and before > 0
if ok then
  local line = mine(bufnr)[1].lnum
  vim.api.nvim_buf_set_lines(bufnr, line, line + 2, false, {})
  ok = vim.wait(timeout_ms, function()
    return #mine(bufnr) == 0
  end, 50)
  show(bufnr, "after deleting that call in the buffer")
end

vim.lsp.stop_client(vim.lsp.get_active_clients())
vim.wait(2000, function()
  return #vim.lsp.get_active_clients() == 0
end, 50)
vim.cmd(ok and "qall!" or "cquit 1")
