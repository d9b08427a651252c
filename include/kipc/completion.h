/* SPDX-License-Identifier: MIT */
/*
 * kipc/completion.h - the kernel's struct completion.
 *
 *   struct kipc_completion done;   KIPC_DECLARE_COMPLETION(name);
 *   kipc_init_completion(&x)       kipc_init_completion_flags(&x, KIPC_PSHARED)
 *   kipc_reinit_completion(&x)     back to "not done" (no waiters allowed)
 *   kipc_wait_for_completion(&x)   sleep until completed; signals do not
 *                                  interrupt
 *   kipc_wait_for_completion_interruptible(&x)        0 or -EINTR
 *   kipc_wait_for_completion_killable(&x)             0 or -EINTR
 *   kipc_wait_for_completion_timeout(&x, jiffies)     0 on timeout, else the
 *                                  jiffies left (at least 1)
 *   kipc_wait_for_completion_interruptible_timeout(&x, jiffies)
 *                                  -EINTR, 0 on timeout, else jiffies left
 *   kipc_try_wait_for_completion(&x)  true if it consumed a completion
 *   kipc_completion_done(&x)       true if a wait would not sleep
 *   kipc_complete(&x)              wake one waiter, the first to queue; with
 *                                  no waiter, bank it for the next one
 *   kipc_complete_all(&x)          release every waiter, now and until
 *                                  kipc_reinit_completion()
 *
 * complete() and complete_all() are async-signal-safe, as the kernel allows
 * them from interrupt context.  A completion is a kipc semaphore whose count
 * is the number of banked completions and whose complete_all() makes the
 * count infinite: the same FIFO, lock-free, kill-safe queue (see
 * kipc/semaphore.h), and with KIPC_PSHARED it works between processes.
 */
#ifndef KIPC_COMPLETION_H
#define KIPC_COMPLETION_H

#include <stdbool.h>
#include <kipc/semaphore.h>

struct kipc_completion {
	struct kipc_semaphore wait;
};

#define KIPC_COMPLETION_INITIALIZER(work) { KIPC__SEMAPHORE_INITIALIZER(0) }
#define KIPC_DECLARE_COMPLETION(work) \
	struct kipc_completion work __attribute__((aligned(64))) = KIPC_COMPLETION_INITIALIZER(work)

void kipc_init_completion_flags(struct kipc_completion *x, unsigned int flags);
void kipc_reinit_completion(struct kipc_completion *x);
void kipc_wait_for_completion(struct kipc_completion *x);
int kipc_wait_for_completion_interruptible(struct kipc_completion *x);
int kipc_wait_for_completion_killable(struct kipc_completion *x);
unsigned long kipc_wait_for_completion_timeout(struct kipc_completion *x,
					       unsigned long timeout);
long kipc_wait_for_completion_interruptible_timeout(struct kipc_completion *x,
						    unsigned long timeout);
bool kipc_try_wait_for_completion(struct kipc_completion *x);
bool kipc_completion_done(struct kipc_completion *x);
void kipc_complete(struct kipc_completion *x);
void kipc_complete_all(struct kipc_completion *x);

KIPC_INLINE void kipc_init_completion(struct kipc_completion *x)
{
	kipc_init_completion_flags(x, 0);
}

#endif /* KIPC_COMPLETION_H */
