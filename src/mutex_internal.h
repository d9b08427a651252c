/* SPDX-License-Identifier: MIT */
/*
 * The mutex's lock with a time limit, for the wait/wound mutex, which must
 * wake up now and then to see whether it has been wounded.
 *
 *   kipc__mutex_lock_until(lock, interruptible, until)
 *       as kipc_mutex_lock (or _interruptible), giving up with -ETIMEDOUT
 *       at the absolute CLOCK_MONOTONIC time until (NULL: never), and also
 *       after any wake-up, so that the caller can decide again
 *   kipc__mutex_wake_waiters(lock)
 *       wake every sleeper of the lock (a wounder waking its victims)
 *   kipc__mutex_owner_dead(lock)
 *       the lock is held by a thread that no longer lives (shared mutexes:
 *       a watchdog's question, so that sleepers recover it)
 */
#ifndef KIPC_MUTEX_INTERNAL_H
#define KIPC_MUTEX_INTERNAL_H

#include <stdbool.h>
#include <time.h>
#include <kipc/mutex.h>

int kipc__mutex_lock_until(struct kipc_mutex *lock, bool interruptible,
			   const struct timespec *until);
void kipc__mutex_wake_waiters(struct kipc_mutex *lock);
bool kipc__mutex_owner_dead(struct kipc_mutex *lock);

#endif
