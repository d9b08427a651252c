/* SPDX-License-Identifier: MIT */
/*
 * A minimal TAP producer for kipc's tests.
 *
 *   ok(cond, fmt, ...)        one test point
 *   is(got, want, fmt, ...)   integer equality, both values shown on failure
 *   diag(fmt, ...)            a "# " comment line
 *   done_testing()            prints the plan "1..N" and returns the exit
 *                             status: 0 only if every point passed
 *
 * Test points are printed as they happen (stdout is unbuffered), so a crash
 * or a timeout still leaves the evidence, and the missing plan marks the run
 * as failed.  Children created with fork() must leave with _exit() and never
 * call ok(): only the parent reports.
 */
#ifndef KIPC_TAP_H
#define KIPC_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int tap_count, tap_failed;

__attribute__((format(printf, 4, 5), unused))
static int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (tap_count == 0)
		setvbuf(stdout, NULL, _IONBF, 0);
	tap_count++;
	if (!pass)
		tap_failed++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass)
		printf("#   failed at %s:%d\n", file, line);
	return pass;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is(got, want, ...) ({                                                \
	long long tap_g = (long long)(got), tap_w = (long long)(want);        \
	int tap_p = tap_ok(tap_g == tap_w, __FILE__, __LINE__, __VA_ARGS__);  \
	if (!tap_p)                                                           \
		printf("#   got %lld, want %lld\n", tap_g, tap_w);            \
	tap_p; })

#define diag(...) do { printf("# "); printf(__VA_ARGS__); printf("\n"); } while (0)

__attribute__((unused))
static int done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

/*
 * Seed for the randomised tests: $KIPC_TEST_SEED if set, else the time; it is
 * printed so that a failing run can be repeated.
 */
__attribute__((unused))
static unsigned long tap_seed(void)
{
	const char *s = getenv("KIPC_TEST_SEED");
	unsigned long seed = s ? strtoul(s, NULL, 0) : (unsigned long)time(NULL);

	diag("seed %lu (set KIPC_TEST_SEED to repeat)", seed);
	return seed;
}

#endif
