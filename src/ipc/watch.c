// SPDX-License-Identifier: MIT
/*
 * The watchdog; see watch.h.  The registry is a list under a mutex; the
 * thread sleeps on a condition variable while the list is empty, and scans
 * it every KIPC__WATCH_MS otherwise.  A fork child has no watchdog (threads
 * are not copied) and no sleepers: it starts afresh.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include "futex.h"
#include "ipc/watch.h"
#include "mutex_internal.h"

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_cond;
static struct kipc__watch head = { &head, &head, 0, 0, 0 };
static bool started;

static void *watchdog(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&watch_lock);
	for (;;) {
		struct timespec ts;

		while (head.next == &head)
			pthread_cond_wait(&watch_cond, &watch_lock);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += KIPC__WATCH_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&watch_cond, &watch_lock, &ts);
		for (struct kipc__watch *w = head.next; w != &head; w = w->next) {
			if (!w->gone(w))
				continue;
			kipc__futex_bump_wake(w->word);
		}
	}
	return NULL;
}

static int start(void)
{
	pthread_condattr_t ca;
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int err;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&watch_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Signals are the application's: the watchdog never takes one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t, &attr, watchdog, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err)
		return -err;
	started = true;
	return 0;
}

int kipc__watch_add(struct kipc__watch *w)
{
	int err = 0;

	pthread_mutex_lock(&watch_lock);
	if (!started)
		err = start();
	if (!err) {
		/* The watchdog sleeps untimed only on an empty list: wake it then. */
		if (head.next == &head)
			pthread_cond_signal(&watch_cond);
		w->next = &head;
		w->prev = head.prev;
		head.prev->next = w;
		head.prev = w;
	}
	pthread_mutex_unlock(&watch_lock);
	return err;
}

void kipc__watch_del(struct kipc__watch *w)
{
	pthread_mutex_lock(&watch_lock);
	w->prev->next = w->next;
	w->next->prev = w->prev;
	pthread_mutex_unlock(&watch_lock);
}

static void watch_fork_child(void)
{
	pthread_mutex_init(&watch_lock, NULL);
	head.next = head.prev = &head;
	started = false;
}

__attribute__((constructor)) static void watch_setup(void)
{
	pthread_atfork(NULL, NULL, watch_fork_child);
}

bool kipc__watch_moved(const uint32_t *counter, uint32_t seen, struct kipc_mutex *lock)
{
	return __atomic_load_n(counter, __ATOMIC_ACQUIRE) != seen ||
	       (lock && kipc__mutex_owner_dead(lock));
}
