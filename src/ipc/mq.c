// SPDX-License-Identifier: MIT
/*
 * POSIX message queues (mq_overview(7)) on object files; see docs/mq.md.
 *
 * A queue file is the header, the meta (attributes, a robust mutex, the
 * sleepers' futex words, the notification registration, and a binary heap
 * of slot numbers ordered by priority, then by send order), then maxmsg
 * slots of one message each.  Send and receive are O(log n) under the
 * mutex.  A slot's state is written last when a message is sent, and the
 * heap and free list are only an index over the slots: a process killed
 * holding the mutex leaves them to be rebuilt from the slots by the next
 * locker, so no message sent is lost, none is delivered twice, and no slot
 * leaks.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <kipc/mq.h>
#include "futex.h"
#include "ipc/describe.h"
#include "ipc/fail.h"
#include "ipc/fdtable.h"
#include "ipc/mq.h"
#include "ipc/watch.h"
#include "spin.h"
#include "task.h"

#define SLOT_FREE	0u
#define SLOT_FULL	0x4d534731u	/* "MSG1": anything else is free */
#define NO_SLOT		UINT32_MAX

struct mq_slot {
	uint32_t state;
	uint32_t prio;
	uint64_t seq;			/* send order, for FIFO within a priority */
	uint32_t len;
	uint32_t next;			/* free list */
};

struct mq_end {
	struct kipc__file f;
	int fd;
	char *base;
	size_t map_len;
	struct kipc__mq_meta *m;
	uint32_t maxmsg, msgsize, slot_size;	/* checked copies */
	uint64_t data_off;
};

static const struct kipc__file_ops mq_ops;

/* ---- the file ---- */

static uint32_t slot_size(uint32_t msgsize)
{
	return (uint32_t)((sizeof(struct mq_slot) + (uint64_t)msgsize + 7) & ~7ull);
}

static void mq_geom(uint32_t maxmsg, uint32_t msgsize, struct kipc__obj_geom *g)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	*g = (struct kipc__obj_geom){ .type = KIPC__OBJ_MQ, .nelem = maxmsg };
	g->meta_size = (sizeof(struct kipc__obj_hdr) + sizeof(struct kipc__mq_meta) +
			(uint64_t)maxmsg * sizeof(uint32_t) + page - 1) & ~(page - 1);
	g->data_off = g->meta_size;
	g->data_size = (uint64_t)maxmsg * slot_size(msgsize);
	g->file_size = g->data_off + g->data_size;
}

int kipc__mq_check(const void *file, struct kipc__obj_geom *g)
{
	const struct kipc__mq_meta *m = (const void *)((const char *)file +
						       sizeof(struct kipc__obj_hdr));
	struct kipc__obj_geom want;
	uint32_t maxmsg, msgsize;

	if (g->meta_size < sizeof(struct kipc__obj_hdr) + sizeof(*m))
		return -EBADMSG;
	maxmsg = __atomic_load_n(&m->maxmsg, __ATOMIC_RELAXED);
	msgsize = __atomic_load_n(&m->msgsize, __ATOMIC_RELAXED);
	if (maxmsg < 1 || maxmsg > KIPC_MQ_MAXMSG || msgsize < 1 || msgsize > KIPC_MQ_MSGSIZE_MAX ||
	    __atomic_load_n(&m->slot_size, __ATOMIC_RELAXED) != slot_size(msgsize))
		return -EBADMSG;
	mq_geom(maxmsg, msgsize, &want);
	if (g->meta_size != want.meta_size || g->data_off != want.data_off ||
	    g->data_size != want.data_size || g->file_size != want.file_size)
		return -EBADMSG;
	g->nelem = maxmsg;
	return 0;
}

static struct mq_slot *slot(const struct mq_end *q, uint32_t i)
{
	return (struct mq_slot *)(q->base + q->data_off + (uint64_t)i * q->slot_size);
}

/* ---- the index: a heap of full slots, a list of free ones ---- */

static bool before(const struct mq_end *q, uint32_t a, uint32_t b)
{
	const struct mq_slot *x = slot(q, a), *y = slot(q, b);

	return x->prio > y->prio || (x->prio == y->prio && x->seq < y->seq);
}

static void sift_up(struct mq_end *q, uint32_t i)
{
	uint32_t *h = q->m->heap;

	while (i > 0) {
		uint32_t parent = (i - 1) / 2, t;

		if (!before(q, h[i], h[parent]))
			break;
		t = h[i], h[i] = h[parent], h[parent] = t;
		i = parent;
	}
}

static void sift_down(struct mq_end *q, uint32_t i)
{
	uint32_t *h = q->m->heap, n = q->m->heap_n;

	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, best = i, t;

		if (l < n && before(q, h[l], h[best]))
			best = l;
		if (r < n && before(q, h[r], h[best]))
			best = r;
		if (best == i)
			return;
		t = h[i], h[i] = h[best], h[best] = t;
		i = best;
	}
}

/*
 * Rebuild the index from the slots: after a holder of the lock died, or
 * when the index does not hold together (the file is shared memory: it may
 * hold anything).  A slot is a message if its state says so and its
 * priority and length are possible; everything else is free.
 */
static void rebuild(struct mq_end *q)
{
	struct kipc__mq_meta *m = q->m;
	uint64_t bytes = 0, seq = 0;

	m->heap_n = 0;
	m->free_head = NO_SLOT;
	for (uint32_t i = q->maxmsg; i-- > 0;) {
		struct mq_slot *s = slot(q, i);

		if (s->state == SLOT_FULL && s->prio < KIPC_MQ_PRIO_MAX && s->len <= q->msgsize) {
			m->heap[m->heap_n++] = i;
			bytes += s->len;
			if (s->seq >= seq)
				seq = s->seq + 1;
		} else {
			s->state = SLOT_FREE;
			s->next = m->free_head;
			m->free_head = i;
		}
	}
	for (uint32_t i = m->heap_n / 2; i-- > 0;)
		sift_down(q, i);
	m->curmsgs = m->heap_n;
	m->qsize = bytes;
	if (m->next_seq < seq)
		m->next_seq = seq;
}

/* The index holds together enough to use: else rebuild it. */
static void check_index(struct mq_end *q)
{
	struct kipc__mq_meta *m = q->m;
	uint32_t n = m->heap_n;

	if (n > q->maxmsg || m->curmsgs != n ||
	    (n && (m->heap[0] >= q->maxmsg || slot(q, m->heap[0])->state != SLOT_FULL)) ||
	    (n < q->maxmsg && (m->free_head >= q->maxmsg ||
			       slot(q, m->free_head)->state != SLOT_FREE)))
		rebuild(q);
}

static int lock_queue(struct mq_end *q)
{
	int err = kipc_mutex_lock(&q->m->lock);

	if (err == -EOWNERDEAD) {
		rebuild(q);
		err = kipc_mutex_consistent(&q->m->lock);
	}
	if (err)
		return -EBADMSG;
	check_index(q);
	return 0;
}

static void unlock_queue(struct mq_end *q)
{
	kipc_mutex_unlock(&q->m->lock);
}


/* ---- notification ---- */

struct notice {
	int kind;			/* SIGEV_* to deliver, or -1: none */
	uint32_t pid;
	int signo;
	union sigval value;
};

/*
 * Lock held, a message just arrived on an empty queue with no receiver
 * waiting: take the registration (one-shot) for delivery after unlocking.
 */
static void take_notice(struct mq_end *q, struct notice *n)
{
	struct kipc__mq_meta *m = q->m;

	n->kind = -1;
	if (!m->nt_registered)
		return;
	if (kipc__proc_alive(m->nt_pid, m->nt_start)) {
		n->kind = m->nt_notify;
		n->pid = m->nt_pid;
		n->signo = m->nt_signo;
		n->value.sival_ptr = (void *)(uintptr_t)m->nt_value;
		/* Fired before unregistered: the waiter must never see neither. */
		if (n->kind == SIGEV_THREAD)
			__atomic_store_n(&m->nt_fired_gen, m->nt_gen, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&m->nt_registered, 0, __ATOMIC_RELEASE);
}

/* Lock held: a receiver is asleep in the queue (alive: a killed one is not). */
static bool receiver_blocked(const struct kipc__mq_meta *m)
{
	if (!__atomic_load_n(&m->rsleep, __ATOMIC_RELAXED))
		return false;
	for (unsigned int i = 0; i < sizeof(m->rwait) / sizeof(m->rwait[0]); i++)
		if (m->rwait[i].tid && kipc__task_alive(m->rwait[i].tid, m->rwait[i].start))
			return true;
	return false;
}

/* Lock held: this thread sleeps as a receiver (-1: the table is full). */
static int note_receiver(struct kipc__mq_meta *m)
{
	/* A free entry first; the dead are looked for (in /proc) only if none is. */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned int i = 0; i < sizeof(m->rwait) / sizeof(m->rwait[0]); i++) {
			if (m->rwait[i].tid && (!pass || kipc__task_alive(m->rwait[i].tid,
									  m->rwait[i].start)))
				continue;
			m->rwait[i].start = kipc__thread_start();
			m->rwait[i].tid = kipc__gettid();
			return (int)i;
		}
	}
	/* Uncounted: then a blocked receiver may be missed, never invented. */
	return -1;
}

static void deliver(struct mq_end *q, const struct notice *n)
{
	/* Signal 0 registers and is consumed, but sends nothing (as the kernel). */
	if (n->kind == SIGEV_SIGNAL && n->signo) {
		siginfo_t info;

		/* What the kernel sends: SI_MESGQ, the sender, the value. */
		memset(&info, 0, sizeof(info));
		info.si_signo = n->signo;
		info.si_code = SI_MESGQ;
		info.si_pid = getpid();
		info.si_uid = getuid();
		info.si_value = n->value;
		syscall(SYS_rt_sigqueueinfo, (pid_t)n->pid, n->signo, &info);
	} else if (n->kind == SIGEV_THREAD) {
		kipc__futex_bump_wake(&q->m->nt_fired);
	}
}

/* ---- send and receive ---- */

static bool valid_timeout(const struct timespec *ts)
{
	return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

static struct mq_end *get_queue(kipc_mqd_t fd)
{
	return (struct mq_end *)kipc__fd_get(fd, &mq_ops);
}

struct mq_watch {
	struct kipc__watch w;
	struct kipc__mq_meta *m;
	uint32_t count;			/* curmsgs when it went to sleep */
};

/* A sender killed before its wake-up call, or a holder of the lock killed. */
static bool mq_moved(struct kipc__watch *w)
{
	struct mq_watch *mw = (struct mq_watch *)w;

	return kipc__watch_moved(&mw->m->curmsgs, mw->count, &mw->m->lock);
}

/*
 * Sleep until *word changes from s (or abs passes); the caller announced
 * itself in *sleepers under the lock, and saw count messages.  0,
 * -ETIMEDOUT or -EINTR.
 */
static int sleep_on(struct kipc__mq_meta *m, uint32_t *word, uint32_t s, uint32_t *sleepers,
		    uint32_t count, const struct timespec *abs)
{
	struct mq_watch mw = { .m = m, .count = count };
	int err;

	mw.w.gone = mq_moved;
	mw.w.word = word;
	err = kipc__watch_add(&mw.w);
	if (!err) {
		err = kipc__futex_wait(word, s, abs, KIPC__FUTEX_SHARED |
				       (abs ? KIPC__FUTEX_ABS | KIPC__FUTEX_REALTIME : 0));
		kipc__watch_del(&mw.w);
	}
	__atomic_fetch_sub(sleepers, 1, __ATOMIC_RELAXED);
	return err == -EAGAIN ? 0 : err;
}

/*
 * Lock held, and the send (receive) cannot go on while the queue holds
 * stuck messages: -EAGAIN under O_NONBLOCK, else spin (unannounced, so the
 * other side makes no wake-up call for us) or sleep on word; unlocks.  0
 * to try again, or -ETIMEDOUT / -EINTR.
 */
static int wait_turn(struct mq_end *q, struct kipc__ipc_spin *sp, uint32_t *word,
		     uint32_t *sleepers, uint32_t stuck, const struct timespec *abs, bool receiver)
{
	struct kipc__mq_meta *m = q->m;
	int sleeper = -1, err;
	uint32_t s;

	if (kipc_atomic_read(&q->f.flags) & O_NONBLOCK) {
		unlock_queue(q);
		return -EAGAIN;
	}
	if (!kipc__ipc_spin_spent(sp)) {
		unlock_queue(q);
		kipc__ipc_spin(sp, &m->curmsgs, stuck);
		return 0;
	}
	kipc__ipc_spin_reset(sp);
	__atomic_fetch_add(sleepers, 1, __ATOMIC_RELAXED);
	if (receiver)
		sleeper = note_receiver(m);
	s = __atomic_load_n(word, __ATOMIC_RELAXED);
	unlock_queue(q);
	err = sleep_on(m, word, s, sleepers, stuck, abs);
	if (sleeper >= 0 && m->rwait[sleeper].tid == kipc__gettid())
		__atomic_store_n(&m->rwait[sleeper].tid, 0, __ATOMIC_RELAXED);
	return err;
}

int kipc_mq_timedsend(kipc_mqd_t fd, const char *msg, size_t len, unsigned int prio,
		      const struct timespec *abs)
{
	struct mq_end *q;
	struct notice n = { .kind = -1 };
	struct kipc__ipc_spin sp = KIPC__IPC_SPIN_INIT;
	int err;

	if (prio >= KIPC_MQ_PRIO_MAX)
		return kipc__fail(-EINVAL);
	if (abs && !valid_timeout(abs))
		return kipc__fail(-EINVAL);
	q = get_queue(fd);
	if (!q)
		return -1;
	err = -EBADF;
	if ((kipc_atomic_read(&q->f.flags) & O_ACCMODE) == O_RDONLY)
		goto out;
	err = -EMSGSIZE;
	if (len > q->msgsize)
		goto out;
	for (;;) {
		struct kipc__mq_meta *m = q->m;

		err = lock_queue(q);
		if (err)
			goto out;
		if (m->curmsgs < q->maxmsg) {
			uint32_t i = m->free_head;
			struct mq_slot *sl = slot(q, i);
			bool was_empty = m->curmsgs == 0, wake;

			m->free_head = sl->next;
			memcpy(sl + 1, msg, len);
			sl->prio = prio;
			sl->len = (uint32_t)len;
			sl->seq = m->next_seq++;
			/* Last: a slot is a message once this store is done. */
			__atomic_store_n(&sl->state, SLOT_FULL, __ATOMIC_RELEASE);
			m->heap[m->heap_n] = i;
			sift_up(q, m->heap_n++);
			m->qsize += len;
			__atomic_store_n(&m->curmsgs, m->curmsgs + 1, __ATOMIC_RELEASE);
			wake = __atomic_load_n(&m->rsleep, __ATOMIC_RELAXED) != 0;
			if (was_empty && !receiver_blocked(m))
				take_notice(q, &n);
			unlock_queue(q);
			if (wake)
				kipc__futex_bump_wake(&m->rseq);
			deliver(q, &n);
			err = 0;
			goto out;
		}
		err = wait_turn(q, &sp, &m->sseq, &m->ssleep, q->maxmsg, abs, false);
		if (err)
			goto out;
	}
out:
	kipc__fd_put(&q->f);
	return err ? kipc__fail(err) : 0;
}

int kipc_mq_send(kipc_mqd_t fd, const char *msg, size_t len, unsigned int prio)
{
	return kipc_mq_timedsend(fd, msg, len, prio, NULL);
}

ssize_t kipc_mq_timedreceive(kipc_mqd_t fd, char *buf, size_t len, unsigned int *prio,
			     const struct timespec *abs)
{
	struct mq_end *q;
	struct kipc__ipc_spin sp = KIPC__IPC_SPIN_INIT;
	ssize_t ret;
	int err;

	if (abs && !valid_timeout(abs))
		return kipc__fail(-EINVAL);
	q = get_queue(fd);
	if (!q)
		return -1;
	err = -EBADF;
	if ((kipc_atomic_read(&q->f.flags) & O_ACCMODE) == O_WRONLY)
		goto out;
	err = -EMSGSIZE;
	if (len < q->msgsize)
		goto out;
	for (;;) {
		struct kipc__mq_meta *m = q->m;

		err = lock_queue(q);
		if (err)
			goto out;
		if (m->heap_n) {
			uint32_t i = m->heap[0];
			struct mq_slot *sl = slot(q, i);
			bool wake;

			ret = sl->len;
			memcpy(buf, sl + 1, sl->len);
			if (prio)
				*prio = sl->prio;
			m->heap[0] = m->heap[--m->heap_n];
			sift_down(q, 0);
			m->qsize -= sl->len;
			__atomic_store_n(&sl->state, SLOT_FREE, __ATOMIC_RELAXED);
			sl->next = m->free_head;
			m->free_head = i;
			__atomic_store_n(&m->curmsgs, m->curmsgs - 1, __ATOMIC_RELEASE);
			wake = __atomic_load_n(&m->ssleep, __ATOMIC_RELAXED) != 0;
			unlock_queue(q);
			if (wake)
				kipc__futex_bump_wake(&m->sseq);
			kipc__fd_put(&q->f);
			return ret;
		}
		err = wait_turn(q, &sp, &m->rseq, &m->rsleep, 0, abs, true);
		if (err)
			goto out;
	}
out:
	kipc__fd_put(&q->f);
	return kipc__fail(err);
}

ssize_t kipc_mq_receive(kipc_mqd_t fd, char *buf, size_t len, unsigned int *prio)
{
	return kipc_mq_timedreceive(fd, buf, len, prio, NULL);
}

/* ---- attributes ---- */

int kipc_mq_getattr(kipc_mqd_t fd, struct mq_attr *attr)
{
	struct mq_end *q = get_queue(fd);

	if (!q)
		return -1;
	if (!attr) {
		kipc__fd_put(&q->f);
		return kipc__fail(-EFAULT);
	}
	memset(attr, 0, sizeof(*attr));
	attr->mq_flags = kipc_atomic_read(&q->f.flags) & O_NONBLOCK;
	attr->mq_maxmsg = q->maxmsg;
	attr->mq_msgsize = q->msgsize;
	attr->mq_curmsgs = __atomic_load_n(&q->m->curmsgs, __ATOMIC_RELAXED);
	kipc__fd_put(&q->f);
	return 0;
}

int kipc_mq_setattr(kipc_mqd_t fd, const struct mq_attr *attr, struct mq_attr *old)
{
	struct mq_end *q;
	int flags;

	if (!attr)
		return kipc__fail(-EFAULT);
	if (attr->mq_flags & ~(long)O_NONBLOCK)
		return kipc__fail(-EINVAL);
	if (kipc_mq_getattr(fd, old ? old : &(struct mq_attr){ 0 }) < 0)
		return -1;
	q = get_queue(fd);
	if (!q)
		return -1;
	/* Only O_NONBLOCK, the one flag mq_setattr() may change. */
	flags = kipc_atomic_read(&q->f.flags);
	while (!kipc_atomic_try_cmpxchg(&q->f.flags, &flags,
					(flags & ~O_NONBLOCK) | (int)(attr->mq_flags & O_NONBLOCK)))
		;
	kipc__fd_put(&q->f);
	return 0;
}

/* ---- notification registration ---- */

struct notify_thread {
	int fd;				/* the waiter's own mapping of the queue */
	char *base;
	size_t map_len;
	struct kipc__mq_meta *m;
	uint32_t gen;
	void (*fn)(union sigval);
	union sigval value;
	pthread_attr_t attr;
	bool has_attr;
};

static void *run_notification(void *arg)
{
	struct notify_thread *t = arg;
	void (*fn)(union sigval) = t->fn;
	union sigval value = t->value;

	pthread_attr_destroy(&t->attr);
	free(t);
	fn(value);
	return NULL;
}

/* What pthread_attr_t holds, property by property: no shared pointers. */
static void copy_attr(pthread_attr_t *dst, const pthread_attr_t *src)
{
	struct sched_param sp;
	cpu_set_t cpus;
	size_t size;
	int v;

	if (!pthread_attr_getstacksize(src, &size))
		pthread_attr_setstacksize(dst, size);
	if (!pthread_attr_getguardsize(src, &size))
		pthread_attr_setguardsize(dst, size);
	if (!pthread_attr_getscope(src, &v))
		pthread_attr_setscope(dst, v);
	if (!pthread_attr_getinheritsched(src, &v))
		pthread_attr_setinheritsched(dst, v);
	if (!pthread_attr_getschedpolicy(src, &v))
		pthread_attr_setschedpolicy(dst, v);
	if (!pthread_attr_getschedparam(src, &sp))
		pthread_attr_setschedparam(dst, &sp);
	if (!pthread_attr_getaffinity_np(src, sizeof(cpus), &cpus))
		pthread_attr_setaffinity_np(dst, sizeof(cpus), &cpus);
}

/*
 * SIGEV_THREAD: a thread of the registrant waits for its registration to
 * fire (the sender cannot make a thread in another process), then starts
 * the thread the caller asked for, as glibc's helper thread does.  It
 * leaves when the registration goes another way (unregistered, replaced).
 */
static void *notify_waiter(void *arg)
{
	struct notify_thread *t = arg;
	struct kipc__mq_meta *m = t->m;
	bool fire = false;

	for (;;) {
		uint32_t seen = __atomic_load_n(&m->nt_fired, __ATOMIC_ACQUIRE);

		if (__atomic_load_n(&m->nt_fired_gen, __ATOMIC_ACQUIRE) == t->gen) {
			fire = true;
			break;
		}
		if (__atomic_load_n(&m->nt_gen, __ATOMIC_ACQUIRE) != t->gen ||
		    !__atomic_load_n(&m->nt_registered, __ATOMIC_ACQUIRE))
			break;
		kipc__futex_wait(&m->nt_fired, seen, NULL, KIPC__FUTEX_SHARED);
	}
	munmap(t->base, t->map_len);
	if (fire) {
		pthread_t tid;
		struct notify_thread *run = t;

		/* Detached by its attributes (set in start_waiter). */
		if (pthread_create(&tid, &t->attr, run_notification, run)) {
			pthread_attr_destroy(&run->attr);
			free(run);
		}
	} else {
		pthread_attr_destroy(&t->attr);
		free(t);
	}
	return NULL;
}

static int start_waiter(struct mq_end *q, const struct sigevent *sev, uint32_t gen)
{
	struct notify_thread *t = calloc(1, sizeof(*t));
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t tid;
	int err;

	if (!t)
		return -ENOMEM;
	t->base = mmap(NULL, q->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, q->fd, 0);
	if (t->base == MAP_FAILED) {
		free(t);
		return -ENOMEM;
	}
	t->map_len = q->map_len;
	t->m = (void *)(t->base + sizeof(struct kipc__obj_hdr));
	t->gen = gen;
	t->fn = sev->sigev_notify_function;
	t->value = sev->sigev_value;
	/* A deep copy: the caller may destroy its attributes at once (glibc copies too). */
	pthread_attr_init(&t->attr);
	if (sev->sigev_notify_attributes)
		copy_attr(&t->attr, sev->sigev_notify_attributes);
	pthread_attr_setdetachstate(&t->attr, PTHREAD_CREATE_DETACHED);
	t->has_attr = true;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&tid, &attr, notify_waiter, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err) {
		munmap(t->base, t->map_len);
		pthread_attr_destroy(&t->attr);
		free(t);
		return -EAGAIN;
	}
	return 0;
}

/* Lock held: drop the registration (waking a SIGEV_THREAD waiter to leave). */
static void unregister(struct kipc__mq_meta *m)
{
	m->nt_registered = 0;
	__atomic_fetch_add(&m->nt_gen, 1, __ATOMIC_RELEASE);
}

int kipc_mq_notify(kipc_mqd_t fd, const struct sigevent *sev)
{
	const struct kipc__proc *self = kipc__proc_self();
	struct kipc__mq_meta *m;
	struct mq_end *q;
	bool mine, taken;
	int err;

	if (sev) {
		if (sev->sigev_notify != SIGEV_NONE && sev->sigev_notify != SIGEV_SIGNAL &&
		    sev->sigev_notify != SIGEV_THREAD)
			return kipc__fail(-EINVAL);
		if (sev->sigev_notify == SIGEV_SIGNAL &&
		    (sev->sigev_signo < 0 || sev->sigev_signo > SIGRTMAX))
			return kipc__fail(-EINVAL);
		if (sev->sigev_notify == SIGEV_THREAD && !sev->sigev_notify_function)
			return kipc__fail(-EINVAL);
	}
	q = get_queue(fd);
	if (!q)
		return -1;
	m = q->m;
	err = lock_queue(q);
	if (err)
		goto out;
	mine = m->nt_registered && m->nt_pid == self->pid && m->nt_start == self->start;
	/* A registrant that died is no registrant (the kernel drops it at exit). */
	taken = m->nt_registered && !mine && kipc__proc_alive(m->nt_pid, m->nt_start);
	if (!sev) {
		if (mine)
			unregister(m);
	} else if (taken || mine) {
		err = -EBUSY;
	} else {
		uint32_t gen = __atomic_load_n(&m->nt_gen, __ATOMIC_RELAXED) + 1;

		__atomic_store_n(&m->nt_gen, gen, __ATOMIC_RELEASE);
		m->nt_pid = self->pid;
		m->nt_start = self->start;
		m->nt_uid = getuid();
		m->nt_notify = sev->sigev_notify;
		m->nt_signo = sev->sigev_notify == SIGEV_SIGNAL ? sev->sigev_signo : 0;
		m->nt_value = (uint64_t)(uintptr_t)sev->sigev_value.sival_ptr;
		/* Registered before the waiter starts: it must find itself registered. */
		__atomic_store_n(&m->nt_registered, 1, __ATOMIC_RELEASE);
		if (sev->sigev_notify == SIGEV_THREAD)
			err = start_waiter(q, sev, gen);
		if (err)
			unregister(m);
	}
	unlock_queue(q);
	if (!sev || err)
		kipc__futex_bump_wake(&m->nt_fired);
out:
	kipc__fd_put(&q->f);
	return err ? kipc__fail(err) : 0;
}

/* ---- opening and closing ---- */

static void mq_release(struct kipc__file *f)
{
	struct mq_end *q = (struct mq_end *)f;
	const struct kipc__proc *self = kipc__proc_self();
	struct kipc__mq_meta *m = q->m;

	/* The registrant's close ends its registration (mqueue_flush_file). */
	if (__atomic_load_n(&m->nt_registered, __ATOMIC_ACQUIRE) && m->nt_pid == self->pid &&
	    lock_queue(q) == 0) {
		if (m->nt_registered && m->nt_pid == self->pid && m->nt_start == self->start)
			unregister(m);
		unlock_queue(q);
		kipc__futex_bump_wake(&m->nt_fired);
	}
	munmap(q->base, q->map_len);
	close(q->fd);
}

static const struct kipc__file_ops mq_ops = {
	.name = "mq",
	.release = mq_release,
};

static void mq_init(struct kipc__obj *obj, uint32_t maxmsg, uint32_t msgsize)
{
	struct kipc__mq_meta *m = kipc__obj_meta(obj);

	m->maxmsg = maxmsg;
	m->msgsize = msgsize;
	m->slot_size = slot_size(msgsize);
	kipc_mutex_init_flags(&m->lock, KIPC_PSHARED);
	/* Every slot free; the file is zeroed, so only the list needs making. */
	m->free_head = NO_SLOT;
}

/* An end for a validated, writable object: map it whole, install it. */
static int install(struct kipc__obj *obj, int oflag)
{
	struct mq_end *q = calloc(1, sizeof(*q));
	void *base;
	int fd;

	if (!q)
		return -ENOMEM;
	base = mmap(NULL, obj->geom.file_size, PROT_READ | PROT_WRITE, MAP_SHARED, obj->fd, 0);
	if (base == MAP_FAILED) {
		free(q);
		return -errno;
	}
	q->f.ops = &mq_ops;
	kipc_atomic_set(&q->f.refs, 1);
	kipc_atomic_set(&q->f.flags, oflag & (O_ACCMODE | O_NONBLOCK));
	q->fd = obj->fd;
	q->base = base;
	q->map_len = obj->geom.file_size;
	q->m = (void *)((char *)base + sizeof(struct kipc__obj_hdr));
	q->maxmsg = obj->geom.nelem;
	q->msgsize = __atomic_load_n(&q->m->msgsize, __ATOMIC_RELAXED);
	q->slot_size = slot_size(q->msgsize);
	q->data_off = obj->geom.data_off;
	obj->fd = -1;
	kipc__obj_close(obj);
	fd = kipc__fd_install(&q->f);
	if (fd < 0) {
		munmap(base, q->map_len);
		close(q->fd);
		free(q);
	}
	return fd;
}

static int create(const char *leaf, mode_t mode, const struct mq_attr *attr, struct kipc__obj *obj)
{
	long maxmsg = attr ? attr->mq_maxmsg : 10, msgsize = attr ? attr->mq_msgsize : 8192;
	struct kipc__obj_geom g;
	int err;

	if (maxmsg <= 0 || msgsize <= 0 || maxmsg > KIPC_MQ_MAXMSG || msgsize > KIPC_MQ_MSGSIZE_MAX)
		return -EINVAL;
	mq_geom((uint32_t)maxmsg, (uint32_t)msgsize, &g);
	/* mq_open(3) honours the umask. */
	err = kipc__obj_create(KIPC__NS_MQ, &g, mode & ~kipc__ns_umask() & 0777, obj);
	if (err)
		return err;
	mq_init(obj, (uint32_t)maxmsg, (uint32_t)msgsize);
	{
		struct mq_end tmp = {
			.base = (char *)obj->hdr, .m = kipc__obj_meta(obj),
			.maxmsg = (uint32_t)maxmsg, .msgsize = (uint32_t)msgsize,
			.slot_size = slot_size((uint32_t)msgsize), .data_off = g.data_off,
		};
		void *all = mmap(NULL, g.file_size, PROT_READ | PROT_WRITE, MAP_SHARED, obj->fd, 0);

		if (all == MAP_FAILED) {
			kipc__obj_close(obj);
			return -ENOMEM;
		}
		tmp.base = all;
		tmp.m = (void *)((char *)all + sizeof(struct kipc__obj_hdr));
		rebuild(&tmp);
		munmap(all, g.file_size);
	}
	__atomic_store_n(&obj->hdr->state, KIPC__OBJ_LIVE, __ATOMIC_RELEASE);
	err = kipc__obj_link(obj, KIPC__NS_MQ, leaf);
	if (err)
		kipc__obj_close(obj);
	return err;
}

/*
 * mq_open(3)'s name rules as the kernel applies them: "/" alone names
 * nothing (ENOENT); another slash, or "." or "..", is EACCES (the kernel
 * looks the name up in its mqueue directory), and that before the length.
 */
static int check_name(const char *name)
{
	const char *rest;

	if (!name || name[0] != '/')
		return -EINVAL;
	rest = name + 1;
	if (!*rest)
		return -ENOENT;
	if (strchr(rest, '/') || !strcmp(rest, ".") || !strcmp(rest, ".."))
		return -EACCES;
	return strnlen(rest, NAME_MAX + 1) > NAME_MAX ? -ENAMETOOLONG : 0;
}

kipc_mqd_t kipc_mq_open(const char *name, int oflag, ...)
{
	struct mq_attr *attr = NULL;
	struct kipc__obj obj;
	mode_t mode = 0;
	int err = check_name(name);

	if (oflag & O_CREAT) {
		va_list ap;

		va_start(ap, oflag);
		mode = (mode_t)va_arg(ap, int);
		attr = va_arg(ap, struct mq_attr *);
		va_end(ap);
	}
	if (err)
		return kipc__fail(err);
	/* Other flags the kernel ignores, and so do we; both access bits are no mode. */
	if ((oflag & O_ACCMODE) == O_ACCMODE)
		return kipc__fail(-EINVAL);
	for (;;) {
		err = kipc__obj_open(KIPC__NS_MQ, name + 1, KIPC__OBJ_MQ, &obj);
		if (err == 0) {
			if ((oflag & O_CREAT) && (oflag & O_EXCL)) {
				kipc__obj_close(&obj);
				return kipc__fail(-EEXIST);
			}
			/* Every end moves the queue's state: it must write the file. */
			if (!obj.writable) {
				kipc__obj_close(&obj);
				return kipc__fail(-EACCES);
			}
			break;
		}
		if (err != -ENOENT || !(oflag & O_CREAT))
			return kipc__fail(err);
		err = create(name + 1, mode, attr, &obj);
		if (err == 0)
			break;
		if (err != -EEXIST || (oflag & O_EXCL))
			return kipc__fail(err);
		/* Another process created it first: open theirs. */
	}
	err = install(&obj, oflag);
	return err < 0 ? kipc__fail(err) : err;
}

int kipc_mq_close(kipc_mqd_t fd)
{
	struct kipc__file *f = kipc__fd_get(fd, &mq_ops);

	if (!f)
		return -1;
	kipc__fd_put(f);
	return kipc_close(fd);
}

int kipc_mq_unlink(const char *name)
{
	char path[PATH_MAX];
	int err = check_name(name);

	if (!err)
		err = kipc__ns_path(path, KIPC__NS_MQ, name + 1);
	if (!err && unlink(path) < 0)
		err = errno == EPERM ? -EACCES : -errno;
	return err ? kipc__fail(err) : 0;
}

/* ---- what kipc ls shows: the kernel's queue file line, and more ---- */

int kipc__mq_describe(struct kipc__obj *obj, struct kipc__desc *d)
{
	const struct kipc__mq_meta *m = kipc__obj_meta(obj);
	bool reg = __atomic_load_n(&m->nt_registered, __ATOMIC_ACQUIRE) &&
		   kipc__proc_alive(m->nt_pid, m->nt_start);

	kipc__desc_add(d, "QSIZE", KIPC__DESC_LIVE, "%llu", (unsigned long long)m->qsize);
	kipc__desc_add(d, "NOTIFY", KIPC__DESC_LIVE, "%d", reg ? m->nt_notify : 0);
	kipc__desc_add(d, "SIGNO", KIPC__DESC_LIVE, "%d", reg ? m->nt_signo : 0);
	kipc__desc_add(d, "NOTIFY_PID", KIPC__DESC_LIVE, "%u", reg ? m->nt_pid : 0);
	kipc__desc_add(d, "curmsgs", KIPC__DESC_LIVE, "%u", m->curmsgs);
	kipc__desc_add(d, "maxmsg", KIPC__DESC_LIVE, "%u", m->maxmsg);
	kipc__desc_add(d, "msgsize", KIPC__DESC_LIVE, "%u", m->msgsize);
	d->size = m->qsize;
	return 0;
}
