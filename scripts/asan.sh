#!/usr/bin/env bash
# Runs tests against the AddressSanitizer build of the native addon and counts ASan reports (0 expected).
#   LAUREL_ASAN=1 node scripts/build-native.mjs     # once: builds native/build-asan (native/build is untouched)
#   scripts/asan.sh                                 # test/engine and test/laurel, then the tfjs suite if present
#   scripts/asan.sh test/engine/conv.test.ts        # the given test files or folders only
#   scripts/asan.sh --tfjs                          # the tfjs conformance suite only (npm run test:tfjs)
# Node itself is not instrumented, so libasan is preloaded (it must come first in the process); LAUREL_ASAN=1
# makes src/engine/addon.ts load the ASan build. Leak detection is off: V8 keeps its heap until exit.
set -euo pipefail
cd "$(dirname "$0")/.."
addon=native/build-asan/build/Release/laurel_native.node
if [ ! -f "$addon" ]; then
  echo "asan: $addon missing; build it with: LAUREL_ASAN=1 node scripts/build-native.mjs" >&2
  exit 2
fi
libasan=$(gcc -print-file-name=libasan.so)
if [ ! -f "$libasan" ]; then
  echo "asan: libasan.so not found (gcc -print-file-name=libasan.so); install gcc's libasan" >&2
  exit 2
fi
logs=$(mktemp -d /tmp/laurel-asan.XXXXXX)
export LAUREL_ASAN=1 LD_PRELOAD="$libasan"
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:log_path=$logs/asan"

status=0
# Dots on stdout, and a TAP log for the counts printed at the end.
reporters=(--test-reporter=dot --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination="$logs/tests.tap")
run() {
  echo "asan: $*" >&2
  "$@" || status=$?
}
if [ "${1:-}" = "--tfjs" ]; then
  run npm run --silent test:tfjs -- --backend native
elif [ $# -gt 0 ]; then
  run node --import tsx --test "${reporters[@]}" "$@"
else
  run node --import tsx --test "${reporters[@]}" $(find test/engine test/laurel -name '*.test.ts' | sort)
  if grep -q '"test:tfjs"' package.json; then run npm run --silent test:tfjs -- --backend native; fi
fi

if [ -f "$logs/tests.tap" ]; then
  echo "asan: node tests: $(grep -E '^# (tests|pass|fail|skipped) ' "$logs/tests.tap" | sed 's/^# //' | paste -sd ' ')" >&2
fi
reports=$(grep -l 'ERROR: AddressSanitizer' "$logs"/asan.* 2>/dev/null | wc -l || true)
echo "asan: $reports AddressSanitizer report(s); logs in $logs" >&2
if [ "$reports" -gt 0 ]; then
  grep -h -A12 'ERROR: AddressSanitizer' "$logs"/asan.* | head -60 >&2
  exit 1
fi
exit "$status"
