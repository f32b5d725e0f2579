#!/bin/bash
# Opens report.html files in headless Chromium and fails on any console error or a page that does not render.
#   scripts/check-report-html.sh REPORT.html [--screenshot PNG] ...
# Needs Debian's chromium (.ci/run installs it). Exit 0: every page rendered with no console errors.
set -u
browser=$(command -v chromium || command -v chromium-browser) || { echo "check-report-html: chromium not installed" >&2; exit 2; }
status=0
while [ $# -gt 0 ]; do
    page=$1; shift
    shot=
    if [ "${1:-}" = --screenshot ]; then shot=$2; shift 2; fi
    [ -f "$page" ] || { echo "check-report-html: no file $page" >&2; exit 2; }
    log=$(mktemp)
    dom=$(mktemp)
    out=${shot:-$(mktemp --suffix=.png)}
    # --enable-logging=stderr --v=0 prints the page's console messages as "CONSOLE(...)" / ":ERROR:CONSOLE".
    timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --enable-logging=stderr --v=0 --window-size=1400,1000 --hide-scrollbars \
        --screenshot="$out" "file://$(realpath "$page")" > /dev/null 2> "$log"
    timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --dump-dom "file://$(realpath "$page")" > "$dom" 2>/dev/null
    errors=$(grep -E "CONSOLE|Uncaught|SyntaxError|Failed to load" "$log" || true)
    if [ -n "$errors" ]; then
        echo "$page: console errors:"; echo "$errors"; status=1
    elif [ ! -s "$out" ]; then
        echo "$page: no screenshot (the page did not render)"; status=1
    elif ! grep -q "<svg" "$dom"; then
        echo "$page: the rendered DOM has no SVG"; status=1
    else
        echo "$page: rendered, $(grep -o '<svg' "$dom" | wc -l) SVG figures, no console errors"
    fi
    rm -f "$log" "$dom"
    [ -n "$shot" ] || rm -f "$out"
done
exit $status
