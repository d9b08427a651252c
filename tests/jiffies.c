// SPDX-License-Identifier: MIT
/*
 * <kipc/jiffies.h>: KIPC_HZ is 1000 (a jiffy is a millisecond),
 * KIPC_MAX_SCHEDULE_TIMEOUT is LONG_MAX, the conversions (usecs_to_jiffies
 * rounds up, so a timeout never expires early), the kernel names of
 * <kipc/linux.h>, and that a jiffy of timeout is a millisecond of real time.
 */
#include <errno.h>
#include <limits.h>
#include <time.h>

#include <kipc/linux.h>

#include "tap.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_constants(void)
{
	is(KIPC_HZ, 1000, "KIPC_HZ is 1000");
	is(HZ, 1000, "HZ (kernel name) is 1000");
	ok(KIPC_MAX_SCHEDULE_TIMEOUT == LONG_MAX, "KIPC_MAX_SCHEDULE_TIMEOUT is LONG_MAX");
	ok(MAX_SCHEDULE_TIMEOUT == LONG_MAX, "MAX_SCHEDULE_TIMEOUT (kernel name) is LONG_MAX");
}

static void test_msecs(void)
{
	is(kipc_msecs_to_jiffies(0), 0, "msecs_to_jiffies(0) == 0");
	is(kipc_msecs_to_jiffies(1), 1, "msecs_to_jiffies(1) == 1");
	is(kipc_msecs_to_jiffies(10), 10, "msecs_to_jiffies(10) == 10");
	is(kipc_msecs_to_jiffies(1500), 1500, "msecs_to_jiffies(1500) == 1500");
	is(kipc_msecs_to_jiffies(UINT_MAX), (long long)UINT_MAX,
	   "msecs_to_jiffies(UINT_MAX) == UINT_MAX");
	is(kipc_jiffies_to_msecs(0), 0, "jiffies_to_msecs(0) == 0");
	is(kipc_jiffies_to_msecs(1), 1, "jiffies_to_msecs(1) == 1");
	is(kipc_jiffies_to_msecs(1500), 1500, "jiffies_to_msecs(1500) == 1500");
	is(kipc_jiffies_to_msecs(KIPC_HZ), 1000, "jiffies_to_msecs(HZ) == 1000: HZ is a second");
	is(msecs_to_jiffies(250), 250, "msecs_to_jiffies (kernel name)");
	is(jiffies_to_msecs(250), 250, "jiffies_to_msecs (kernel name)");
}

static void test_usecs(void)
{
	is(kipc_usecs_to_jiffies(0), 0, "usecs_to_jiffies(0) == 0");
	is(kipc_usecs_to_jiffies(1), 1, "usecs_to_jiffies(1) == 1 (rounds up)");
	is(kipc_usecs_to_jiffies(999), 1, "usecs_to_jiffies(999) == 1");
	is(kipc_usecs_to_jiffies(1000), 1, "usecs_to_jiffies(1000) == 1");
	is(kipc_usecs_to_jiffies(1001), 2, "usecs_to_jiffies(1001) == 2 (rounds up)");
	is(kipc_usecs_to_jiffies(2000), 2, "usecs_to_jiffies(2000) == 2");
	is(kipc_usecs_to_jiffies(1000000), 1000, "usecs_to_jiffies(1000000) == 1000");
	is(kipc_usecs_to_jiffies(UINT_MAX), 4294968LL,
	   "usecs_to_jiffies(UINT_MAX) == 4294968 (rounds up, no overflow)");
	is(kipc_jiffies_to_usecs(0), 0, "jiffies_to_usecs(0) == 0");
	is(kipc_jiffies_to_usecs(1), 1000, "jiffies_to_usecs(1) == 1000");
	is(kipc_jiffies_to_usecs(1500), 1500000, "jiffies_to_usecs(1500) == 1500000");
	is(usecs_to_jiffies(1), 1, "usecs_to_jiffies (kernel name)");
	is(jiffies_to_usecs(3), 3000, "jiffies_to_usecs (kernel name)");
}

/* Round trips: never shorter, as a timeout must not expire early. */
static void test_round_trips(void)
{
	unsigned int u, bad_us = 0, bad_ms = 0;
	unsigned long j;

	for (u = 0; u < 5000; u += 7)
		if (kipc_jiffies_to_usecs(kipc_usecs_to_jiffies(u)) < u ||
		    kipc_jiffies_to_usecs(kipc_usecs_to_jiffies(u)) >= u + 1000)
			bad_us++;
	is(bad_us, 0, "jiffies_to_usecs(usecs_to_jiffies(u)) is u rounded up to a jiffy");
	for (j = 0; j < 5000; j += 3)
		if (kipc_msecs_to_jiffies(kipc_jiffies_to_msecs(j)) != j ||
		    kipc_usecs_to_jiffies(kipc_jiffies_to_usecs(j)) != j)
			bad_ms++;
	is(bad_ms, 0, "jiffies -> msecs / usecs -> jiffies is the identity");
}

/* A timeout of n jiffies lasts at least n milliseconds. */
static void test_real_time(void)
{
	struct kipc_semaphore s;
	struct kipc_completion c;
	double t0, dt;
	int r;

	kipc_sema_init(&s, 0);
	t0 = now();
	r = kipc_down_timeout(&s, (long)kipc_usecs_to_jiffies(1));
	dt = now() - t0;
	is(r, -ETIME, "down_timeout(usecs_to_jiffies(1)) times out");
	ok(dt >= 0.0009 && dt < 5.0, "... after at least a millisecond (%.2f ms)", dt * 1e3);
	t0 = now();
	r = kipc_down_timeout(&s, (long)kipc_msecs_to_jiffies(30));
	dt = now() - t0;
	is(r, -ETIME, "down_timeout(msecs_to_jiffies(30)) times out");
	ok(dt >= 0.029 && dt < 5.0, "... after %.1f ms (>= 29)", dt * 1e3);

	kipc_init_completion(&c);
	t0 = now();
	is(kipc_wait_for_completion_timeout(&c, kipc_msecs_to_jiffies(20)), 0,
	   "wait_for_completion_timeout(msecs_to_jiffies(20)) times out");
	dt = now() - t0;
	ok(dt >= 0.019 && dt < 5.0, "... after %.1f ms (>= 19)", dt * 1e3);
}

int main(void)
{
	test_constants();
	test_msecs();
	test_usecs();
	test_round_trips();
	test_real_time();
	return done_testing();
}
