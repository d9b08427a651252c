#!/usr/bin/env bash
# Runs TAP test programs and totals them: `tests/run.sh [-r RUNNER] PROG...`.
# A program fails as a whole if it crashes, exits non-zero, times out
# ($KIPC_TEST_TIMEOUT seconds, default 300) or prints no plan; each of those
# counts as one failed point in the totals.  Ends with "N passed, N failed"
# and exits 1 when anything failed.
set -u
runner=""
if [ "${1:-}" = "-r" ]; then runner=$2; shift 2; fi
timeout_s=${KIPC_TEST_TIMEOUT:-300}
passed=0 failed=0
for prog in "$@"; do
	out=$(mktemp)
	# shellcheck disable=SC2086  # the runner may be a command with arguments
	timeout -k 5 "$timeout_s" $runner "$prog" >"$out" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	planned=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$out" | tail -n 1)
	why=""
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then why="timed out after ${timeout_s}s"
	elif [ "$rc" -gt 128 ]; then why="killed by signal $((rc - 128))"
	elif [ -z "$planned" ]; then why="no plan (exit $rc)"
	elif [ "$planned" != $((p + f)) ]; then why="planned $planned, ran $((p + f))"
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then why="exit status $rc"
	fi
	if [ -n "$why" ]; then f=$((f + 1)); fi
	if [ "$f" != 0 ] || [ -n "${KIPC_TEST_VERBOSE:-}" ]; then
		cat "$out"
	fi
	printf '%-40s %4d passed, %d failed%s\n' "$(basename "$prog")" "$p" "$f" "${why:+ ($why)}"
	passed=$((passed + p)) failed=$((failed + f))
	rm -f "$out"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
