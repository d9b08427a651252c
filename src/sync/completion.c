// SPDX-License-Identifier: MIT
/*
 * Completions on the semaphore's FIFO hand-off queue (see semaphore.c):
 * complete() is up(), a wait is down(), complete_all() makes the count
 * infinite, which also grants every queued waiter at once.
 */
#include <errno.h>
#include <kipc/completion.h>
#include "sem.h"

void kipc_init_completion_flags(struct kipc_completion *x, unsigned int flags)
{
	kipc_sema_init_flags(&x->wait, 0, flags);
}

void kipc_reinit_completion(struct kipc_completion *x)
{
	kipc__sem_reset(&x->wait);
}

void kipc_wait_for_completion(struct kipc_completion *x)
{
	kipc__sem_down(&x->wait, NULL, false);
}

int kipc_wait_for_completion_interruptible(struct kipc_completion *x)
{
	return kipc__sem_down(&x->wait, NULL, true);
}

int kipc_wait_for_completion_killable(struct kipc_completion *x)
{
	return kipc__sem_down(&x->wait, NULL, true);
}

/* The timed waits: 0 on timeout, else the jiffies left, at least 1. */
static long wait_timeout(struct kipc_completion *x, unsigned long timeout,
			 bool interruptible)
{
	struct timespec deadline;
	long left;
	int r;

	if (timeout >= (unsigned long)KIPC_MAX_SCHEDULE_TIMEOUT) {
		r = kipc__sem_down(&x->wait, NULL, interruptible);
		return r ? r : KIPC_MAX_SCHEDULE_TIMEOUT;
	}
	kipc__jiffies_deadline(&deadline, (long)timeout);
	r = kipc__sem_down(&x->wait, &deadline, interruptible);
	if (r == -ETIMEDOUT)
		return 0;
	if (r)
		return r;
	left = kipc__jiffies_left(&deadline);
	return left ? left : 1;
}

unsigned long kipc_wait_for_completion_timeout(struct kipc_completion *x,
					       unsigned long timeout)
{
	return (unsigned long)wait_timeout(x, timeout, false);
}

long kipc_wait_for_completion_interruptible_timeout(struct kipc_completion *x,
						    unsigned long timeout)
{
	return wait_timeout(x, timeout, true);
}

bool kipc_try_wait_for_completion(struct kipc_completion *x)
{
	return kipc__sem_trydown(&x->wait);
}

bool kipc_completion_done(struct kipc_completion *x)
{
	return kipc__sem_count(&x->wait) != 0;
}

void kipc_complete(struct kipc_completion *x)
{
	kipc__sem_up(&x->wait);
}

void kipc_complete_all(struct kipc_completion *x)
{
	kipc__sem_up_all(&x->wait);
}
