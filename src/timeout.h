/* SPDX-License-Identifier: MIT */
/*
 * Absolute CLOCK_MONOTONIC deadlines, the form every kipc futex wait takes.
 *
 *   kipc__deadline_after(ts, ns)   *ts = now + ns
 *   kipc__ts_before(a, b)          a is earlier than b
 */
#ifndef KIPC_TIMEOUT_H
#define KIPC_TIMEOUT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

static inline void kipc__deadline_after(struct timespec *ts, uint64_t ns)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ns / 1000000000u);
	ts->tv_nsec += (long)(ns % 1000000000u);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static inline bool kipc__ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

#endif
