#!/bin/bash
# Opens report.html (and sweep.html) files in headless Chromium at 1,400 px and fails on any console error, a page
# that does not render, or anything clipped: the page wider than the window (document scrollWidth > 1400), any
# svg, table, pre or img whose right edge lies past 1,400 px, or an SVG's text reaching outside its figure.
#   scripts/check-report-html.sh REPORT.html [--screenshot PNG] ...
# Needs Debian's chromium (.ci/run installs it) and python3. Exit 0: every page rendered, no console errors, nothing
# clipped. The width check runs on a copy of the page with a measuring script added (the reports have no scripts).
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
    # The width check: a copy of the page with a script that measures after layout and writes its verdict into the DOM.
    probe=$(mktemp --suffix=.html)
    python3 - "$page" "$probe" <<'PY'
import sys
page = open(sys.argv[1], encoding="utf-8").read()
script = ('<script>(function(){var W=1400,bad=[],d=document.documentElement;'
          'if(d.scrollWidth>W)bad.push("document scrollWidth "+d.scrollWidth);'
          'document.querySelectorAll("svg,table,pre,img").forEach(function(e,i){var r=e.getBoundingClientRect();'
          'if(r.right>W+0.5)bad.push(e.tagName.toLowerCase()+" #"+i+(e.getAttribute("class")?"."+e.getAttribute("class"):"")+" right edge "+Math.round(r.right));});'
          'document.querySelectorAll("svg").forEach(function(g,i){var b=g.getBoundingClientRect();'
          'g.querySelectorAll("text").forEach(function(t){var r=t.getBoundingClientRect();'
          'if(r.width>0&&(r.left<b.left-1||r.right>b.right+1||r.top<b.top-1||r.bottom>b.bottom+1))'
          'bad.push("svg #"+i+" text \\""+t.textContent.slice(0,40)+"\\" outside its figure");});});'
          'var n=document.querySelectorAll("svg,table").length,p=document.createElement("pre");'
          'p.textContent="WIDTH"+"-CHECK "+(bad.length?"FAIL "+bad.join("; "):"OK")+" scrollWidth="+d.scrollWidth+" innerWidth="+window.innerWidth+" checked="+n;'
          'document.body.appendChild(p);})();</script>')
at = page.rfind("</body>")
open(sys.argv[2], "w", encoding="utf-8").write(page[:at] + script + page[at:] if at >= 0 else page + script)
PY
    width=$(timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --window-size=1400,1000 --hide-scrollbars --dump-dom "file://$probe" 2>/dev/null | grep -o "WIDTH-CHECK [^<]*" | head -1)
    rm -f "$probe"
    errors=$(grep -E "CONSOLE|Uncaught|SyntaxError|Failed to load" "$log" || true)
    if [ -n "$errors" ]; then
        echo "$page: console errors:"; echo "$errors"; status=1
    elif [ ! -s "$out" ]; then
        echo "$page: no screenshot (the page did not render)"; status=1
    elif ! grep -q "<svg" "$dom"; then
        echo "$page: the rendered DOM has no SVG"; status=1
    elif [ -z "$width" ]; then
        echo "$page: the width check did not run"; status=1
    elif [ "${width#WIDTH-CHECK OK}" = "$width" ]; then
        echo "$page: clipped at 1,400 px: ${width#WIDTH-CHECK }"; status=1
    else
        echo "$page: rendered, $(grep -o '<svg' "$dom" | wc -l) SVG figures, no console errors, nothing wider than 1,400 px (${width#WIDTH-CHECK OK })"
    fi
    rm -f "$log" "$dom"
    [ -n "$shot" ] || rm -f "$out"
done
exit $status
