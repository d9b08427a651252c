/* SPDX-License-Identifier: MIT */
/* arm64: what the spinning paths need besides the barriers of kipc/barrier.h. */
#ifndef KIPC_ARCH_ARM64_H
#define KIPC_ARCH_ARM64_H

#include <stdint.h>

/* yield hints an SMT or hypervisor scheduler that this is a spin loop. */
static inline void kipc__cpu_relax(void)
{
	__asm__ __volatile__("yield" : : : "memory");
}

/* The generic timer's virtual count: constant-rate, readable from EL0. */
static inline uint64_t kipc__cycles(void)
{
	uint64_t v;

	__asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(v) : : "memory");
	return v;
}

#endif
