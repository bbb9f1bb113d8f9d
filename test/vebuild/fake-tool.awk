# fake-tool.sh's logger: appends {tool, file, args, cwd, CFLAGS} as one JSON line to
# FAKE_LOG and prints the args as a JSON array.
function q(s,    r, i, c) {
  r = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\" || c == "\"") r = r "\\" c
    else if (c == "\t") r = r "\\t"
    else if (c == "\n") r = r "\\n"
    else r = r c
  }
  return "\"" r "\""
}
BEGIN {
  a = ""
  for (i = 1; i < ARGC; i++) a = a (i > 1 ? "," : "") q(ARGV[i])
  a = "[" a "]"
  cf = ENVIRON["FAKE_HAS_CFLAGS"] == 1 ? q(ENVIRON["CFLAGS"]) : "null"
  line = "{\"tool\":" q(ENVIRON["FAKE_TOOL"]) ",\"file\":" q(ENVIRON["FAKE_FILE"]) ",\"args\":" a
  print line ",\"cwd\":" q(ENVIRON["FAKE_CWD"]) ",\"CFLAGS\":" cf "}" >> ENVIRON["FAKE_LOG"]
  print a
  exit
}
