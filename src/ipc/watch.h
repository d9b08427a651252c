/* SPDX-License-Identifier: MIT */
/*
 * Waiting for an event that a dead process would never cause.
 *
 * A thread sleeping on a futex until a peer writes (a pipe's reader, a
 * queue's receiver) must also wake if every peer that could write dies.
 * Sleeping with a timeout to look now and then would do, but a timed
 * futex wait returns EINTR for every signal handler, SA_RESTART or not,
 * and the POSIX calls must restart under SA_RESTART.  So waiters sleep
 * without a timeout, and a watchdog thread (one per process, started on
 * first use, asleep while nobody waits) looks for them every
 * KIPC__WATCH_MS: when a watch's check says the peers are gone, it wakes
 * the sleepers on the watch's futex word.
 *
 *   kipc__watch_add(w) / kipc__watch_del(w)
 *       a sleeper registers its watch before sleeping and removes it after;
 *       w->gone(w) is called from the watchdog; if it returns true, the
 *       watchdog increments *w->word and wakes all its sleepers
 *
 * The same watchdog covers a peer killed between changing what a sleeper
 * waits for and waking it, or while holding the object's lock: a watch
 * that also compares a counter with the value the sleeper saw, and asks
 * whether the lock's holder is dead (kipc__watch_moved), wakes the sleeper
 * to look again within KIPC__WATCH_MS, where no peer would ever wake it.
 */
#ifndef KIPC_IPC_WATCH_H
#define KIPC_IPC_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#define KIPC__WATCH_MS 50

struct kipc__watch {
	struct kipc__watch *next, *prev;
	bool (*gone)(struct kipc__watch *w);
	uint32_t *word;			/* futex, process-shared */
	void *arg;
};

int kipc__watch_add(struct kipc__watch *w);
void kipc__watch_del(struct kipc__watch *w);

struct kipc_mutex;

/* A counter that moved from seen, or a lock whose holder died (lock may be NULL). */
bool kipc__watch_moved(const uint32_t *counter, uint32_t seen, struct kipc_mutex *lock);

#endif
