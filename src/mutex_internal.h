/* SPDX-License-Identifier: MIT */
/*
 * The mutex's lock with a time limit, for the wait/wound mutex, which must
 * wake up now and then to see whether it has been wounded.
 *
 *   kipc__mutex_lock_until(lock, interruptible, until)
 *       as kipc_mutex_lock (or _interruptible), giving up with -ETIMEDOUT
 *       at the absolute CLOCK_MONOTONIC time until (NULL: never)
 */
#ifndef KIPC_MUTEX_INTERNAL_H
#define KIPC_MUTEX_INTERNAL_H

#include <stdbool.h>
#include <time.h>
#include <kipc/mutex.h>

int kipc__mutex_lock_until(struct kipc_mutex *lock, bool interruptible,
			   const struct timespec *until);

#endif
