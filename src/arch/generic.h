/* SPDX-License-Identifier: MIT */
/* Any other CPU: portable stand-ins for the arch hooks. */
#ifndef KIPC_ARCH_GENERIC_H
#define KIPC_ARCH_GENERIC_H

#include <stdint.h>
#include <time.h>

/* No spin hint is known: at least make the loop re-read memory. */
static inline void kipc__cpu_relax(void)
{
	__asm__ __volatile__("" : : : "memory");
}

/* Nanoseconds stand in for a cycle counter. */
static inline uint64_t kipc__cycles(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
