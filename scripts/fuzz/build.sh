#!/usr/bin/env bash
# Builds the readers' fuzz targets (docs/SECURITY.md, Fuzzing): simfuzz compiled with libFuzzer and AddressSanitizer and -D FUZZING
# (its libFuzzer entry points instead of the replaying main), a link fuzz-TARGET per target, and a dictionary per target.
# The build has a folder of its own (FUZZ_BUILD, default .build-fuzz), apart from the normal .build. FUZZ_CONFIG=debug
# builds in a third of the time of the default release build, for short runs (CI); campaigns want release.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${FUZZ_BUILD:-.build-fuzz}

# SwiftPM's --sanitize flags reach the C targets and the link; swiftc keeps only the last -sanitize= it is given, so the
# Swift code gets both sanitizers in one flag after SwiftPM's.
swift build -c "${FUZZ_CONFIG:-release}" --build-path "$build" --product simfuzz \
  --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING

out="$build/fuzz"
mkdir -p "$out/bin"
for t in $(awk '!/^#/ && NF { print $1 }' scripts/fuzz/seeds.txt | uniq); do
  ln -sfn "../../${FUZZ_CONFIG:-release}/simfuzz" "$out/bin/fuzz-$t"
done
python3 scripts/fuzz/dictionary.py "$out/dict" > /dev/null
echo "fuzz targets built: $(ls "$out/bin" | tr '\n' ' ')"
