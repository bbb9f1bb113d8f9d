#!/bin/sh
# A fake NEC tool of fake-tools.ts (installed with @VERSION@ and @ROOT@ filled in): logs
# its call to @ROOT@/calls.jsonl and writes the file it was asked for. sh, not node: VeBuild
# tests run hundreds of these, and sh starts about ten times faster.
tool=${0##*/}
if [ "$1" = "--version" ]; then echo "$tool (fake) @VERSION@"; exit 0; fi
if [ "${CFLAGS+set}" = set ]; then FAKE_HAS_CFLAGS=1; else FAKE_HAS_CFLAGS=0; fi
args=$(FAKE_TOOL=$tool FAKE_FILE=$0 FAKE_CWD=$(pwd -P) FAKE_HAS_CFLAGS=$FAKE_HAS_CFLAGS \
  FAKE_LOG='@ROOT@/calls.jsonl' awk -f '@ROOT@/log.awk' -- "$@")
src=; out=; prev=; report=0
for a in "$@"; do
  case "$prev" in
    -c) [ -z "$src" ] && src=$a ;;
    -o) [ -z "$out" ] && out=$a ;;
  esac
  [ "$a" = "-report-all" ] && report=1
  prev=$a
done
if [ -n "$src" ]; then
  text=$(cat "$src")
  case "$text" in *FAKE_ERROR*) echo "$src:1:1: error: FAKE_ERROR found" >&2; exit 3 ;; esac
  [ $report = 1 ] && echo "LISTING OF $src" > "${src%.*}.L"
  case "$text" in *FAKE_WARN*) echo "$src:1:1: warning: FAKE_WARN found" >&2 ;; esac
  case "$text" in *FAKE_SLOW*) exec sleep 60 ;; esac
  case "$text" in *FAKE_SLEEP*) sleep 0.4 ;; esac
fi
if [ "$tool" = mk_veorun_static ]; then out=$1; echo "created specific $out"; fi
[ -z "$out" ] && out=$1
printf 'fake %s output for %s\n' "$tool" "$args" > "$out"
