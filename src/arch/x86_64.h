/* SPDX-License-Identifier: MIT */
/* x86-64: what the spinning paths need besides the barriers of kipc/barrier.h. */
#ifndef KIPC_ARCH_X86_64_H
#define KIPC_ARCH_X86_64_H

#include <stdint.h>

/*
 * pause tells the core it is in a spin-wait loop: it stops speculating ahead
 * through the loop (no memory-order machine clear on exit) and yields
 * resources to the SMT sibling.  It is also a compiler barrier here, so the
 * loop re-reads memory.
 */
static inline void kipc__cpu_relax(void)
{
	__asm__ __volatile__("pause" : : : "memory");
}

/* The time-stamp counter: constant-rate, cheap, per-CPU monotonic. */
static inline uint64_t kipc__cycles(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

#endif
