/* SPDX-License-Identifier: MIT */
/*
 * kipc/jiffies.h - kernel-API timeouts are in jiffies.
 *
 * KIPC_HZ is 1000, so one jiffy is one millisecond.  Conversions round up,
 * as the kernel's do: a timeout never expires early.
 *
 *   KIPC_HZ                      jiffies per second
 *   KIPC_MAX_SCHEDULE_TIMEOUT    "wait for ever" for the _timeout waits
 *   kipc_msecs_to_jiffies(ms)    kipc_usecs_to_jiffies(us)
 *   kipc_jiffies_to_msecs(j)     kipc_jiffies_to_usecs(j)
 */
#ifndef KIPC_JIFFIES_H
#define KIPC_JIFFIES_H

#include <limits.h>
#include <kipc/compiler.h>

#define KIPC_HZ 1000
#define KIPC_MAX_SCHEDULE_TIMEOUT LONG_MAX

KIPC_INLINE unsigned long kipc_msecs_to_jiffies(unsigned int m)
{
	return m;	/* HZ == 1000 */
}

KIPC_INLINE unsigned long kipc_usecs_to_jiffies(unsigned int u)
{
	return (u + 999ul) / 1000ul;
}

KIPC_INLINE unsigned int kipc_jiffies_to_msecs(unsigned long j)
{
	return (unsigned int)j;
}

KIPC_INLINE unsigned int kipc_jiffies_to_usecs(unsigned long j)
{
	return (unsigned int)(j * 1000ul);
}

#endif /* KIPC_JIFFIES_H */
