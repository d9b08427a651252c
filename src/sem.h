/* SPDX-License-Identifier: MIT */
/*
 * The FIFO hand-off wait queue behind struct kipc_semaphore, shared with
 * struct kipc_completion (a completion is a semaphore whose complete_all()
 * makes the count infinite).  See semaphore.c.
 *
 *   kipc__sem_down(sem, deadline, interruptible)
 *        0 holding a unit; -EINTR (only if interruptible); -ETIMEDOUT once
 *        the absolute CLOCK_MONOTONIC deadline (NULL: none) has passed
 *   kipc__sem_trydown(sem)   1 took a unit, 0 none free
 *   kipc__sem_up(sem)        one unit: to the first waiter, else the count
 *   kipc__sem_up_all(sem)    infinite units until kipc__sem_reset()
 *   kipc__sem_reset(sem)     count back to 0
 *   kipc__sem_count(sem)     the count now (KIPC__SEM_ALL when infinite)
 */
#ifndef KIPC_SEM_H
#define KIPC_SEM_H

#include <stdbool.h>
#include <time.h>
#include <kipc/semaphore.h>

#define KIPC__SEM_ALL 0xffffffffu

int kipc__sem_down(struct kipc_semaphore *sem, const struct timespec *deadline,
		   bool interruptible);
int kipc__sem_trydown(struct kipc_semaphore *sem);
void kipc__sem_up(struct kipc_semaphore *sem);
void kipc__sem_up_all(struct kipc_semaphore *sem);
void kipc__sem_reset(struct kipc_semaphore *sem);
uint32_t kipc__sem_count(const struct kipc_semaphore *sem);

/* An absolute CLOCK_MONOTONIC deadline jiffies from now (ms, HZ 1000). */
void kipc__jiffies_deadline(struct timespec *ts, long jiffies);
/* Jiffies left until the deadline, rounded up; 0 once it has passed. */
long kipc__jiffies_left(const struct timespec *deadline);

#endif
