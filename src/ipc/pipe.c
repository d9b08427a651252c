// SPDX-License-Identifier: MIT
/*
 * Pipes and socket pairs: rings in a shared file, ends as open file
 * descriptions with OFD locks (pipe.h), the protocol in docs/pipe.md.
 *
 * A read or write takes its side's robust lock, moves bytes, publishes the
 * new tail or head with a release store, and unlocks; the other side's
 * sleepers are woken only if they said they sleep.  Waiting spins briefly
 * (a reply often comes within a microsecond) and then sleeps on a futex
 * without a timeout, so that the kernel restarts it under SA_RESTART; the
 * watchdog (watch.h) wakes it if every peer dies meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <kipc/barrier.h>
#include <kipc/pipe.h>
#include "futex.h"
#include "ipc/describe.h"
#include "ipc/fail.h"
#include "ipc/pipe.h"
#include "ipc/watch.h"
#include "spin.h"

/* A writer re-checks that some reader lives this often (a killed reader). */
#define PROBE_EVERY_NS 100000000ull

/* ---- the file ---- */

int kipc__pipe_geom(uint32_t nchan, struct kipc__obj_geom *g)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	*g = (struct kipc__obj_geom){ .type = KIPC__OBJ_FIFO, .nelem = nchan };
	g->meta_size = (sizeof(struct kipc__obj_hdr) + sizeof(struct kipc__pipe_meta) +
			page - 1) & ~(page - 1);
	g->data_off = g->meta_size;
	g->data_size = (uint64_t)nchan * KIPC__PIPE_MAX;
	g->file_size = g->data_off + g->data_size;
	/* The default capacity of the first ring now; more as F_SETPIPE_SZ asks. */
	g->alloc_size = g->data_off + KIPC__PIPE_DEFAULT;
	return 0;
}

int kipc__pipe_check(const void *file, struct kipc__obj_geom *g)
{
	const struct kipc__pipe_meta *m = (const void *)((const char *)file +
							 sizeof(struct kipc__obj_hdr));
	uint32_t nchan, max_cap;

	if (g->meta_size < sizeof(struct kipc__obj_hdr) + sizeof(*m))
		return -EBADMSG;
	nchan = __atomic_load_n(&m->nchan, __ATOMIC_RELAXED);
	max_cap = __atomic_load_n(&m->max_cap, __ATOMIC_RELAXED);
	if ((nchan != 1 && nchan != 2) || max_cap != KIPC__PIPE_MAX ||
	    __atomic_load_n(&m->packet, __ATOMIC_RELAXED) > KIPC__PIPE_DIRECT ||
	    g->data_size != (uint64_t)nchan * max_cap ||
	    g->data_off + g->data_size != g->file_size)
		return -EBADMSG;
	g->nelem = nchan;
	return 0;
}

void kipc__pipe_init(struct kipc__obj *obj, uint32_t nchan, uint32_t packet)
{
	struct kipc__pipe_meta *m = kipc__obj_meta(obj);

	m->nchan = nchan;
	m->packet = packet;
	m->max_cap = KIPC__PIPE_MAX;
	for (uint32_t c = 0; c < 2; c++) {
		struct kipc__chan *ch = &m->chan[c];

		kipc_mutex_init_flags(&ch->wlock, KIPC_PSHARED);
		kipc_mutex_init_flags(&ch->rlock, KIPC_PSHARED);
		ch->cap = KIPC__PIPE_DEFAULT;
		ch->small_pos = KIPC__PIPE_NOSMALL;
		ch->role_state[0] = ch->role_state[1] = KIPC__ROLE_NONE;
	}
}

/* Map the whole file; obj's fd becomes the process's probe descriptor. */
int kipc__pipe_attach(struct kipc__obj *obj, struct kipc__pipe **pp)
{
	struct kipc__pipe *p = calloc(1, sizeof(*p));
	void *base;

	if (!p)
		return -ENOMEM;
	base = mmap(NULL, obj->geom.file_size, PROT_READ | PROT_WRITE, MAP_SHARED, obj->fd, 0);
	if (base == MAP_FAILED) {
		free(p);
		return -errno;
	}
	kipc_atomic_set(&p->refs, 1);
	p->probe_fd = obj->fd;
	p->base = base;
	p->map_len = obj->geom.file_size;
	p->m = (void *)((char *)base + sizeof(struct kipc__obj_hdr));
	p->nchan = obj->geom.nelem;
	p->max_cap = KIPC__PIPE_MAX;
	p->packet = __atomic_load_n(&p->m->packet, __ATOMIC_RELAXED);
	p->data_off = obj->geom.data_off;
	/* The fd is p's now; the meta mapping is not needed beside ours. */
	obj->fd = -1;
	kipc__obj_close(obj);
	*pp = p;
	return 0;
}

void kipc__pipe_put(struct kipc__pipe *p)
{
	if (kipc_atomic_dec_and_test(&p->refs)) {
		munmap(p->base, p->map_len);
		close(p->probe_fd);
		free(p);
	}
}

/* ---- who is there: OFD locks on role bytes ---- */

static off_t role_base(int chan, int role)
{
	return KIPC__PIPE_LOCK_BASE + (off_t)(chan * 2 + role) * KIPC__PIPE_SLOTS;
}

/* The first lock held in [start, start + len) by another description, or -1. */
static off_t held_in(int fd, off_t start, off_t len)
{
	struct flock fl = {
		.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len,
	};

	/* An error (none expected) counts as held: never a false EOF/EPIPE. */
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return start;
	return fl.l_type == F_UNLCK ? -1 : fl.l_start;
}

int kipc__pipe_role_live(struct kipc__pipe *p, int chan, int role)
{
	return held_in(p->probe_fd, role_base(chan, role), KIPC__PIPE_SLOTS) >= 0;
}

static int count_in(int fd, off_t start, off_t end)
{
	off_t at;

	if (start >= end || (at = held_in(fd, start, end - start)) < 0)
		return 0;
	return 1 + count_in(fd, start, at) + count_in(fd, at + 1, end);
}

/* Open ends of a role: locked bytes, each one open file description. */
int kipc__pipe_role_count(struct kipc__pipe *p, int chan, int role)
{
	off_t base = role_base(chan, role);

	return count_in(p->probe_fd, base, base + KIPC__PIPE_SLOTS);
}

/*
 * Whether a role is gone (no end open anywhere), remembered in its state
 * word so that the fast paths need one load, not a system call.  NONE is
 * set only if no opener advanced the word since it was read: an opener
 * locks its byte before advancing, so one we did not see locked has not
 * advanced yet, and the CAS fails.
 */
static bool role_gone(struct kipc__pipe *p, int chan, int role)
{
	uint32_t *st = &p->m->chan[chan].role_state[role];
	uint32_t v = __atomic_load_n(st, __ATOMIC_ACQUIRE);

	if (v & KIPC__ROLE_NONE)
		return true;
	if (kipc__pipe_role_live(p, chan, role))
		return false;
	return __atomic_compare_exchange_n(st, &v, v | KIPC__ROLE_NONE, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
	       (v & KIPC__ROLE_NONE);
}

static void role_arrive(struct kipc__chan *ch, int role)
{
	uint32_t v = __atomic_load_n(&ch->role_state[role], __ATOMIC_RELAXED);

	while (!__atomic_compare_exchange_n(&ch->role_state[role], &v,
					    (v + 2) & ~KIPC__ROLE_NONE, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		;
}

static int take_slot(struct kipc__pipe *p, int fd, int chan, int role)
{
	struct kipc__chan *ch = &p->m->chan[chan];
	uint32_t start = __atomic_fetch_add(&ch->slot_hint[role], 1, __ATOMIC_RELAXED);

	for (uint32_t i = 0; i < KIPC__PIPE_SLOTS; i++) {
		struct flock fl = {
			.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1,
			.l_start = role_base(chan, role) + (start + i) % KIPC__PIPE_SLOTS,
		};

		if (fcntl(fd, F_OFD_SETLK, &fl) == 0) {
			role_arrive(ch, role);
			return 0;
		}
		if (errno != EAGAIN && errno != EACCES)
			return -errno;
	}
	return -EMFILE;
}

/* ---- ends ---- */

static struct kipc__chan *chan(const struct kipc__pipe_end *e, int c)
{
	return &e->p->m->chan[c];
}

static void end_release(struct kipc__file *f)
{
	struct kipc__pipe_end *e = (struct kipc__pipe_end *)f;
	struct kipc__pipe *p = e->p;

	/* Our locks go with the description's last descriptor, anywhere. */
	close(e->lock_fd);
	/* If that made a role empty, its peers learn now: EOF or EPIPE. */
	if (e->chan[0] >= 0 && role_gone(p, e->chan[0], KIPC__ROLE_READ))
		kipc__futex_bump_wake(&chan(e, e->chan[0])->tseq);
	if (e->chan[1] >= 0 && role_gone(p, e->chan[1], KIPC__ROLE_WRITE))
		kipc__futex_bump_wake(&chan(e, e->chan[1])->hseq);
	kipc__pipe_put(p);
}

const struct kipc__file_ops kipc__pipe_ops = {
	.name = "pipe",
	.release = end_release,
};

/*
 * A new end reading rchan and/or writing wchan (-1: not), as a descriptor.
 * Its own open file description is a reopening of the probe's file.
 */
int kipc__pipe_end_open(struct kipc__pipe *p, int rchan, int wchan, int flags)
{
	struct kipc__pipe_end *e = calloc(1, sizeof(*e));
	char self[32];
	int err, fd;

	if (!e)
		return -ENOMEM;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", p->probe_fd);
	e->lock_fd = open(self, O_RDWR | O_CLOEXEC);
	if (e->lock_fd < 0) {
		err = -errno;
		free(e);
		return err;
	}
	e->p = p;
	e->chan[0] = rchan;
	e->chan[1] = wchan;
	err = 0;
	if (rchan >= 0)
		err = take_slot(p, e->lock_fd, rchan, KIPC__ROLE_READ);
	if (!err && wchan >= 0)
		err = take_slot(p, e->lock_fd, wchan, KIPC__ROLE_WRITE);
	if (err)
		goto fail;
	e->f.ops = &kipc__pipe_ops;
	kipc_atomic_set(&e->f.refs, 1);
	kipc_atomic_set(&e->f.flags, flags & (O_ACCMODE | O_NONBLOCK));
	kipc_atomic_inc(&p->refs);
	fd = kipc__fd_install(&e->f);
	if (fd >= 0)
		return fd;
	kipc_atomic_dec(&p->refs);
	err = fd;
fail:
	close(e->lock_fd);
	free(e);
	return err;
}

/* ---- moving bytes ---- */

static char *ring(const struct kipc__pipe_end *e, int c)
{
	return e->p->base + e->p->data_off + (uint64_t)c * e->p->max_cap;
}

static void ring_put(char *r, uint32_t cap, uint64_t pos, const void *src, size_t n)
{
	size_t off = pos & (cap - 1), first = n < cap - off ? n : cap - off;

	memcpy(r + off, src, first);
	memcpy(r, (const char *)src + first, n - first);
}

static void ring_get(const char *r, uint32_t cap, uint64_t pos, void *dst, size_t n)
{
	size_t off = pos & (cap - 1), first = n < cap - off ? n : cap - off;

	memcpy(dst, r + off, first);
	memcpy((char *)dst + first, r, n - first);
}

/*
 * The copy of a small write beside head, a seqlock whose sequence is the
 * copy's position: writers (under their lock) mark it absent, rewrite the
 * words, then give the new position, before they publish head; a reader
 * uses the copy only if the position it read before the words is still
 * there after them.  Positions only grow, so an unchanged one means an
 * unchanged copy.  The words are relaxed atomics: racing reads are allowed
 * and then discarded.
 */
static void small_put(struct kipc__chan *ch, uint64_t pos, const void *src, size_t n)
{
	uint64_t w[KIPC__PIPE_SMALL / 8] = { 0 };

	memcpy(w, src, n);
	__atomic_store_n(&ch->small_pos, KIPC__PIPE_NOSMALL, __ATOMIC_RELAXED);
	/* The mark before the words (dmb ishst on arm64, free on x86). */
	kipc_smp_wmb();
	for (size_t i = 0; i < (n + 7) / 8; i++)
		__atomic_store_n(&ch->small[i], w[i], __ATOMIC_RELAXED);
	__atomic_store_n(&ch->small_len, (uint32_t)n, __ATOMIC_RELAXED);
	/* The words before the position: pairs with small_get()'s acquire. */
	__atomic_store_n(&ch->small_pos, pos, __ATOMIC_RELEASE);
}

/* Bytes [t, t + n) from the copy beside head: true if it held them whole. */
static bool small_get(struct kipc__chan *ch, uint64_t t, void *dst, size_t n)
{
	uint64_t w[KIPC__PIPE_SMALL / 8], pos = __atomic_load_n(&ch->small_pos, __ATOMIC_ACQUIRE);
	uint32_t len = __atomic_load_n(&ch->small_len, __ATOMIC_RELAXED), off;

	if (pos == KIPC__PIPE_NOSMALL || t < pos || len > KIPC__PIPE_SMALL ||
	    t - pos > len || n > len - (t - pos))
		return false;
	off = (uint32_t)(t - pos);
	for (uint32_t i = 0; i < (off + n + 7) / 8; i++)
		w[i] = __atomic_load_n(&ch->small[i], __ATOMIC_RELAXED);
	/* The words before the second look (dmb ishld on arm64, free on x86). */
	kipc_smp_rmb();
	if (__atomic_load_n(&ch->small_pos, __ATOMIC_RELAXED) != pos)
		return false;
	memcpy(dst, (const char *)w + off, n);
	return true;
}

/* The ring's capacity, checked: shared memory may hold anything. */
static int checked_cap(const struct kipc__pipe_end *e, struct kipc__chan *ch, uint32_t *cap)
{
	uint32_t c = __atomic_load_n(&ch->cap, __ATOMIC_RELAXED);

	if (c < 64 || (c & (c - 1)) || c > e->p->max_cap)
		return -EIO;
	*cap = c;
	return 0;
}

static int lock_side(struct kipc_mutex *lock)
{
	int err = kipc_mutex_lock(lock);

	/* Head and tail move after the bytes: a dead holder left no half record. */
	if (err == -EOWNERDEAD)
		err = kipc_mutex_consistent(lock);
	return err ? -EIO : 0;
}

struct role_watch {
	struct kipc__watch w;
	struct kipc__pipe *p;
	int chan, role;
};

static bool watch_gone(struct kipc__watch *w)
{
	struct role_watch *rw = (struct role_watch *)w;

	return role_gone(rw->p, rw->chan, rw->role);
}

/*
 * Wait until *pos moves from seen or the peer role dies: spin for spin_ns,
 * then sleep on word after announcing it in *sleepers.  -EINTR if a handler without
 * SA_RESTART ran (the kernel restarts the futex wait for the others).
 */
static int wait_move(struct kipc__pipe_end *e, int c, uint64_t *pos, uint64_t seen,
		     uint32_t *word, uint32_t *sleepers, int peer, uint64_t spin_ns)
{
	struct role_watch rw = { .p = e->p, .chan = c, .role = peer };
	struct kipc__spinwait sw;
	uint32_t s;
	int err = 0;

	kipc__spinwait_init(&sw);
	while (kipc__spinwait_elapsed(&sw) < spin_ns) {
		if (__atomic_load_n(pos, __ATOMIC_ACQUIRE) != seen)
			return 0;
		kipc__spinwait_relax(&sw);
	}
	/* SB pattern: sleepers++ then load pos, against store pos, mb, load sleepers. */
	__atomic_fetch_add(sleepers, 1, __ATOMIC_SEQ_CST);
	s = __atomic_load_n(word, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(pos, __ATOMIC_SEQ_CST) == seen && !role_gone(e->p, c, peer)) {
		rw.w.gone = watch_gone;
		rw.w.word = word;
		err = kipc__watch_add(&rw.w);
		if (!err) {
			err = kipc__futex_wait(word, s, NULL, KIPC__FUTEX_SHARED);
			kipc__watch_del(&rw.w);
		}
		if (err == -EAGAIN)
			err = 0;
	}
	__atomic_fetch_sub(sleepers, 1, __ATOMIC_SEQ_CST);
	return err;
}

/*
 * After moving a position and unlocking: wake the other side if it sleeps.
 * The Dekker pair of wait_move(): we store the position, then load the
 * sleepers count; the sleeper increments it, then loads the position; a
 * full barrier on each side, so one sees the other.  Ours is the unlock's
 * compare-exchange (a locked instruction, a full barrier on x86; elsewhere
 * smp_mb__after_atomic() is a real fence), which spares a separate fence
 * on every read and write.
 */
static void wake_after_unlock(uint32_t *word, uint32_t *sleepers)
{
	kipc_smp_mb__after_atomic();
	if (__atomic_load_n(sleepers, __ATOMIC_RELAXED))
		kipc__futex_bump_wake(word);
}

/* Copy out of a ring holding avail bytes at t; lock held. */
static ssize_t take(struct kipc__pipe_end *e, int c, uint32_t cap, uint64_t t,
		    uint64_t avail, void *buf, size_t n, uint64_t *consumed)
{
	const char *r = ring(e, c);
	uint32_t len;

	if (!e->p->packet) {
		size_t k = n < avail ? n : (size_t)avail;

		if (!small_get(chan(e, c), t, buf, k))
			ring_get(r, cap, t, buf, k);
		*consumed = k;
		return (ssize_t)k;
	}
	/* A message: its length, then its bytes; what does not fit is dropped. */
	if (avail < sizeof(len))
		return -EIO;
	ring_get(r, cap, t, &len, sizeof(len));
	if (len > avail - sizeof(len))
		return -EIO;
	ring_get(r, cap, t + sizeof(len), buf, n < len ? n : len);
	*consumed = sizeof(len) + len;
	return n < len ? (ssize_t)n : (ssize_t)len;
}

/*
 * One attempt at a read: bytes read, 0 at EOF, -EAGAIN if the ring is
 * empty while a writer may live (*seen: the head it saw), or -errno.
 * The emptiness test comes first and without the lock: a reader waiting
 * for a reply spins here, and taking a lock each time would only move
 * the lock's cache line to and fro.
 */
static ssize_t try_read(struct kipc__pipe_end *e, void *buf, size_t n, uint64_t *seen)
{
	int c = e->chan[0];
	struct kipc__chan *ch = chan(e, c);
	uint64_t t, h, consumed;
	uint32_t cap;
	ssize_t ret;

	h = __atomic_load_n(&ch->head, __ATOMIC_ACQUIRE);
	if (h != __atomic_load_n(&ch->tail, __ATOMIC_RELAXED)) {
		ret = lock_side(&ch->rlock);
		if (ret)
			return ret;
		t = ch->tail;
		h = __atomic_load_n(&ch->head, __ATOMIC_ACQUIRE);
		ret = checked_cap(e, ch, &cap);
		if (!ret && h - t > cap)
			ret = -EIO;
		if (!ret && h != t) {
			bool moved;

			ret = n ? take(e, c, cap, t, h - t, buf, n, &consumed) : 0;
			moved = ret > 0 || (e->p->packet && ret == 0 && n);
			if (moved)
				__atomic_store_n(&ch->tail, t + consumed, __ATOMIC_RELEASE);
			kipc_mutex_unlock(&ch->rlock);
			if (moved)
				wake_after_unlock(&ch->tseq, &ch->wsleep);
			return ret;
		}
		kipc_mutex_unlock(&ch->rlock);
		if (ret)
			return ret;
	}
	*seen = h;
	/* Empty.  EOF is known here only when recorded; sleepers look harder. */
	if (!n || (e->chan[1] != c &&
		   (__atomic_load_n(&ch->role_state[KIPC__ROLE_WRITE], __ATOMIC_ACQUIRE) &
		    KIPC__ROLE_NONE)))
		return 0;
	return -EAGAIN;
}

/* No reader left: EPIPE, and SIGPIPE to the writing thread, as the kernel. */
static ssize_t broken_pipe(void)
{
	pthread_kill(pthread_self(), SIGPIPE);
	return -EPIPE;
}

/* Readers gone?  The state word, and now and then the locks themselves. */
static bool readers_gone(struct kipc__pipe_end *e, int c)
{
	struct timespec ts;
	uint64_t now;

	if (e->chan[0] == c)
		return false;
	if (__atomic_load_n(&chan(e, c)->role_state[KIPC__ROLE_READ], __ATOMIC_ACQUIRE) &
	    KIPC__ROLE_NONE)
		return true;
	/* A killed reader closes nothing: look at the locks every 100 ms. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (now < __atomic_load_n(&e->probe_after, __ATOMIC_RELAXED))
		return false;
	__atomic_store_n(&e->probe_after, now + PROBE_EVERY_NS, __ATOMIC_RELAXED);
	return role_gone(e->p, c, KIPC__ROLE_READ);
}

/*
 * The ring space the rest of a write wants now: a stream write of at most
 * PIPE_BUF goes in whole, a longer one as room appears (want = what is
 * left); a SOCK_SEQPACKET message goes in whole, length first; an O_DIRECT
 * pipe's write goes in packets of at most PIPE_BUF, as the kernel's.
 */
static uint64_t want(const struct kipc__pipe_end *e, uint32_t cap, size_t n, size_t done)
{
	size_t chunk;

	switch (e->p->packet) {
	case KIPC__PIPE_SEQPACKET:
		return sizeof(uint32_t) + n;
	case KIPC__PIPE_DIRECT:
		chunk = n - done < PIPE_BUF ? n - done : PIPE_BUF;
		/* A ring smaller than a packet takes smaller packets. */
		if (chunk > cap - sizeof(uint32_t))
			chunk = cap - sizeof(uint32_t);
		return sizeof(uint32_t) + chunk;
	}
	return n <= PIPE_BUF ? n : n - done;
}

/*
 * Room for a write, lock held: the bytes to put now, 0 to wait, or -errno.
 * Only a long stream write goes in piecemeal.
 */
static int64_t room(const struct kipc__pipe_end *e, uint32_t cap, uint64_t used,
		    size_t n, size_t done)
{
	uint64_t space = cap - used, need = want(e, cap, n, done);

	if (e->p->packet || n <= PIPE_BUF) {
		if (need > cap)
			return -EMSGSIZE;
		return space >= need ? (int64_t)need : 0;
	}
	return (int64_t)(space < need ? space : need);
}

/*
 * Put what room allows of the rest of buf, lock held: *done advances; the
 * head moves once, after all the bytes are in.
 */
static uint64_t put(struct kipc__pipe_end *e, char *r, uint32_t cap, uint64_t h, uint64_t t,
		    const void *buf, size_t n, size_t *done)
{
	uint64_t start = h;
	int64_t k;

	while ((k = room(e, cap, h - t, n, *done)) > 0) {
		if (e->p->packet) {
			uint32_t len = (uint32_t)(k - (int64_t)sizeof(len));

			ring_put(r, cap, h, &len, sizeof(len));
			ring_put(r, cap, h + sizeof(len), (const char *)buf + *done, len);
			*done += len;
		} else {
			ring_put(r, cap, h, (const char *)buf + *done, (size_t)k);
			*done += (size_t)k;
		}
		h += (uint64_t)k;
		/* Only O_DIRECT pipes loop: the rest write once. */
		if (e->p->packet != KIPC__PIPE_DIRECT || *done == n)
			break;
	}
	return h - start;
}

/*
 * One attempt at writing what is left of buf: *done advances by what went
 * in; 0 if there was no room (*seen: the tail it saw), 1 if the write is
 * complete, or -errno.
 */
static int try_write(struct kipc__pipe_end *e, const void *buf, size_t n, size_t *done,
		     uint64_t *seen)
{
	int c = e->chan[1];
	struct kipc__chan *ch = chan(e, c);
	uint64_t h, t, k = 0;
	uint32_t cap;
	int64_t r;
	int err;

	if (readers_gone(e, c))
		return -EPIPE;
	err = lock_side(&ch->wlock);
	if (err)
		return err;
	h = ch->head;
	err = checked_cap(e, ch, &cap);
	/*
	 * The tail is the readers' cache line: read it only when the tail last
	 * seen leaves less room than the write wants (the real one is never
	 * behind it), so a stream of small writes does not pull that line
	 * over at every write.
	 */
	t = ch->wtail;
	if (err || h - t > cap || cap - (h - t) < want(e, cap, n, *done)) {
		t = __atomic_load_n(&ch->tail, __ATOMIC_ACQUIRE);
		ch->wtail = t;
	}
	r = err ? err : h - t > cap ? -EIO : room(e, cap, h - t, n, *done);
	if (r > 0) {
		size_t before = *done;

		k = put(e, ring(e, c), cap, h, t, buf, n, done);
		/*
		 * A small stream write goes beside head too; any other drops
		 * the copy, which might hold bytes a writer killed before its
		 * publish left at the positions now written.
		 */
		if (!e->p->packet && k <= KIPC__PIPE_SMALL)
			small_put(ch, h, (const char *)buf + before, (size_t)k);
		else if (__atomic_load_n(&ch->small_pos, __ATOMIC_RELAXED) != KIPC__PIPE_NOSMALL)
			__atomic_store_n(&ch->small_pos, KIPC__PIPE_NOSMALL, __ATOMIC_RELAXED);
		__atomic_store_n(&ch->head, h + k, __ATOMIC_RELEASE);
	}
	kipc_mutex_unlock(&ch->wlock);
	if (r > 0)
		wake_after_unlock(&ch->hseq, &ch->rsleep);
	*seen = t;
	if (r < 0)
		return (int)r;
	return *done == n && (k || !n) ? 1 : 0;
}

/*
 * The end for fd, if it reads (want 0) or writes (want 1), inside the
 * caller's RCU read section; NULL with errno EBADF if not.
 */
static struct kipc__pipe_end *lookup_end(int fd, int want)
{
	struct kipc__pipe_end *e = (struct kipc__pipe_end *)kipc__fd_lookup_rcu(fd, &kipc__pipe_ops);

	if (!e || e->chan[want] < 0) {
		errno = EBADF;
		return NULL;
	}
	return e;
}

/*
 * Leave the RCU read section holding a reference to e instead, to sleep;
 * false if e was closed meanwhile (EBADF, as the kernel's fdget would).
 */
static bool hold(struct kipc__pipe_end *e)
{
	bool ok = kipc_atomic_inc_not_zero(&e->f.refs);

	kipc_rcu_read_unlock();
	return ok;
}

/*
 * read(): a first attempt and a short spin inside an RCU read section (no
 * reference counting on the fast path); then, holding a reference, sleep
 * and retry until there are bytes, EOF, or an error.
 */
ssize_t kipc_read(int fd, void *buf, size_t n)
{
	struct kipc__pipe_end *e;
	struct kipc__chan *ch;
	struct kipc__spinwait sw;
	uint64_t seen;
	ssize_t ret;

	kipc_rcu_read_lock();
	e = lookup_end(fd, 0);
	if (!e) {
		kipc_rcu_read_unlock();
		return -1;
	}
	ch = chan(e, e->chan[0]);
	ret = try_read(e, buf, n, &seen);
	if (ret == -EAGAIN && !(kipc_atomic_read(&e->f.flags) & O_NONBLOCK)) {
		kipc__spinwait_init(&sw);
		while (ret == -EAGAIN && kipc__spinwait_elapsed(&sw) < KIPC__IPC_SPIN_NS) {
			kipc__spinwait_relax(&sw);
			if (__atomic_load_n(&ch->head, __ATOMIC_RELAXED) != seen)
				ret = try_read(e, buf, n, &seen);
		}
	}
	if (ret == -EAGAIN && !(kipc_atomic_read(&e->f.flags) & O_NONBLOCK)) {
		if (!hold(e))
			return kipc__fail(-EBADF);
		while (ret == -EAGAIN) {
			/* Spun already: sleep at once. */
			ret = wait_move(e, e->chan[0], &ch->head, seen, &ch->hseq, &ch->rsleep,
					KIPC__ROLE_WRITE, 0);
			if (!ret)
				ret = try_read(e, buf, n, &seen);
		}
		kipc__fd_put(&e->f);
	} else {
		/* Non-blocking and empty: is it EOF?  Only the locks can say. */
		if (ret == -EAGAIN && e->chan[1] != e->chan[0] &&
		    role_gone(e->p, e->chan[0], KIPC__ROLE_WRITE))
			ret = 0;
		kipc_rcu_read_unlock();
	}
	return ret < 0 ? kipc__fail((int)ret) : ret;
}

ssize_t kipc_write(int fd, const void *buf, size_t n)
{
	struct kipc__pipe_end *e;
	struct kipc__chan *ch;
	size_t done = 0;
	uint64_t seen;
	int ret;

	kipc_rcu_read_lock();
	e = lookup_end(fd, 1);
	if (!e) {
		kipc_rcu_read_unlock();
		return -1;
	}
	/* Nothing to write: no bytes, and on a pipe (even O_DIRECT) no packet. */
	if (!n && e->p->packet != KIPC__PIPE_SEQPACKET) {
		kipc_rcu_read_unlock();
		return 0;
	}
	ch = chan(e, e->chan[1]);
	ret = try_write(e, buf, n, &done, &seen);
	if (ret == 0 && !(kipc_atomic_read(&e->f.flags) & O_NONBLOCK)) {
		if (!hold(e))
			return kipc__fail(-EBADF);
		do {
			ret = wait_move(e, e->chan[1], &ch->tail, seen, &ch->tseq, &ch->wsleep,
					KIPC__ROLE_READ, KIPC__IPC_SPIN_NS);
			if (!ret)
				ret = try_write(e, buf, n, &done, &seen);
		} while (ret == 0);
		kipc__fd_put(&e->f);
	} else {
		kipc_rcu_read_unlock();
	}
	/*
	 * Bytes that went in are reported, the error next time; but SIGPIPE
	 * comes now, as the kernel sends it even after a partial write.
	 */
	if (ret == -EPIPE)
		broken_pipe();
	if (done)
		return (ssize_t)done;
	if (ret == 0)
		ret = -EAGAIN;
	return ret < 0 ? kipc__fail(ret) : 0;
}

/* ---- fcntl ---- */

static uint32_t round_cap(unsigned long size)
{
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE), cap = page;

	while (cap < size && cap < KIPC__PIPE_MAX * 2u)
		cap *= 2;
	return cap;
}

/* Both locks held: move the buffered bytes to where the new mask puts them. */
static int resize(struct kipc__pipe_end *e, int c, uint32_t newcap)
{
	struct kipc__chan *ch = chan(e, c);
	uint64_t t = ch->tail, used = ch->head - t;
	uint32_t cap;
	char *tmp;
	int err = checked_cap(e, ch, &cap);

	if (err || used > cap)
		return -EIO;
	if (used > newcap)
		return -EBUSY;
	if (newcap > cap) {
		err = -posix_fallocate(e->p->probe_fd,
				       (off_t)(e->p->data_off + (uint64_t)c * e->p->max_cap),
				       newcap);
		if (err)
			return err == -ENOSPC ? -ENOMEM : err;
	}
	tmp = malloc(used ? used : 1);
	if (!tmp)
		return -ENOMEM;
	ring_get(ring(e, c), cap, t, tmp, used);
	ring_put(ring(e, c), newcap, t, tmp, used);
	free(tmp);
	__atomic_store_n(&ch->cap, newcap, __ATOMIC_RELAXED);
	return 0;
}

static int set_pipe_size(struct kipc__pipe_end *e, unsigned long size)
{
	uint32_t cap = round_cap(size);
	int ret = 0;

	/* As the kernel: beyond 2^31 is no size at all, beyond the limit not ours. */
	if (size > (1ul << 31))
		return -EINVAL;
	if (cap > KIPC__PIPE_MAX)
		return -EPERM;
	/* Every ring this end touches, writer lock first, as everywhere. */
	for (int i = 0; i < 2 && !ret; i++) {
		int c = e->chan[i];
		struct kipc__chan *ch;

		if (c < 0 || (i == 1 && c == e->chan[0]))
			continue;
		ch = chan(e, c);
		if (lock_side(&ch->wlock))
			return -EIO;
		if (lock_side(&ch->rlock)) {
			kipc_mutex_unlock(&ch->wlock);
			return -EIO;
		}
		ret = resize(e, c, cap);
		kipc_mutex_unlock(&ch->rlock);
		kipc_mutex_unlock(&ch->wlock);
		/* More room: writers waiting for it try again. */
		if (!ret)
			kipc__futex_bump_wake(&ch->tseq);
	}
	return ret ? ret : (int)cap;
}

int kipc_fcntl(int fd, int cmd, ...)
{
	struct kipc__file *f = kipc__fd_get(fd, NULL);
	struct kipc__pipe_end *e = (struct kipc__pipe_end *)f;
	unsigned long arg;
	va_list ap;
	int ret;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (!f)
		return -1;
	switch (cmd) {
	case F_GETFL:
		ret = kipc_atomic_read(&f->flags);
		break;
	case F_SETFL: {
		/* Only O_NONBLOCK can change, as for a kernel pipe's access mode. */
		int old = kipc_atomic_read(&f->flags);

		while (!kipc_atomic_try_cmpxchg(&f->flags, &old,
						(old & ~O_NONBLOCK) | ((int)arg & O_NONBLOCK)))
			;
		ret = 0;
		break;
	}
	case F_GETPIPE_SZ:
	case F_SETPIPE_SZ:
		if (f->ops != &kipc__pipe_ops || e->p->nchan != 1) {
			ret = -EBADF;
			break;
		}
		if (cmd == F_GETPIPE_SZ) {
			uint32_t cap;
			int c = e->chan[0] >= 0 ? e->chan[0] : e->chan[1];

			ret = checked_cap(e, chan(e, c), &cap);
			if (!ret)
				ret = (int)cap;
		} else {
			ret = set_pipe_size(e, arg);
		}
		break;
	default:
		ret = -EINVAL;
	}
	kipc__fd_put(f);
	return ret < 0 ? (int)kipc__fail(ret) : ret;
}

/* ---- making pipes ---- */

/* A new unnamed object with nchan rings, attached. */
static int make(uint32_t nchan, uint32_t packet, struct kipc__pipe **pp)
{
	struct kipc__obj_geom g;
	struct kipc__obj obj;
	int err;

	kipc__pipe_geom(nchan, &g);
	err = kipc__obj_create(KIPC__NS_NKINDS, &g, 0600, &obj);
	if (err)
		return err;
	if (nchan == 2) {
		err = -posix_fallocate(obj.fd, (off_t)(g.data_off + KIPC__PIPE_MAX),
				       KIPC__PIPE_DEFAULT);
		if (err) {
			kipc__obj_close(&obj);
			return err;
		}
	}
	kipc__pipe_init(&obj, nchan, packet);
	__atomic_store_n(&obj.hdr->state, KIPC__OBJ_LIVE, __ATOMIC_RELEASE);
	return kipc__pipe_attach(&obj, pp);
}

/* Two ends of p as descriptors: (r0, w0) and (r1, w1). */
static int two_ends(struct kipc__pipe *p, int fds[2], int r0, int w0, int r1, int w1,
		    int flags0, int flags1)
{
	int a = kipc__pipe_end_open(p, r0, w0, flags0), b;

	if (a < 0)
		return a;
	b = kipc__pipe_end_open(p, r1, w1, flags1);
	if (b < 0) {
		kipc_close(a);
		return b;
	}
	fds[0] = a;
	fds[1] = b;
	return 0;
}

int kipc_pipe2(int fds[2], int flags)
{
	struct kipc__pipe *p;
	int err;

	if (!fds)
		return (int)kipc__fail(-EFAULT);
	if (flags & ~(O_NONBLOCK | O_CLOEXEC | O_DIRECT))
		return (int)kipc__fail(-EINVAL);
	err = make(1, flags & O_DIRECT ? KIPC__PIPE_DIRECT : KIPC__PIPE_STREAM, &p);
	if (!err) {
		err = two_ends(p, fds, 0, -1, -1, 0, O_RDONLY | (flags & O_NONBLOCK),
			       O_WRONLY | (flags & O_NONBLOCK));
		kipc__pipe_put(p);
	}
	return err ? (int)kipc__fail(err) : 0;
}

int kipc_pipe(int fds[2])
{
	return kipc_pipe2(fds, 0);
}

int kipc_socketpair(int domain, int type, int protocol, int sv[2])
{
	int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	int flags = O_RDWR | (type & SOCK_NONBLOCK ? O_NONBLOCK : 0);
	struct kipc__pipe *p;
	int err;

	if (!sv)
		return (int)kipc__fail(-EFAULT);
	if (domain != AF_UNIX)
		return (int)kipc__fail(-EAFNOSUPPORT);
	if (kind != SOCK_STREAM && kind != SOCK_SEQPACKET)
		return (int)kipc__fail(-EOPNOTSUPP);
	if (protocol != 0)
		return (int)kipc__fail(-EPROTONOSUPPORT);
	err = make(2, kind == SOCK_SEQPACKET ? KIPC__PIPE_SEQPACKET : KIPC__PIPE_STREAM, &p);
	if (!err) {
		/* End 0 reads ring 0 and writes ring 1; end 1 the other way. */
		err = two_ends(p, sv, 0, 1, 1, 0, flags, flags);
		kipc__pipe_put(p);
	}
	return err ? (int)kipc__fail(err) : 0;
}

/* ---- FIFO open rules (fifo.c) ---- */

void kipc__pipe_announce(struct kipc__pipe *p, int role)
{
	kipc__futex_bump_wake(&p->m->chan[0].open_seq[role]);
}

int kipc__pipe_open_wait(struct kipc__pipe *p, int role, uint32_t seen)
{
	uint32_t *seq = &p->m->chan[0].open_seq[role];

	for (;;) {
		int err;

		if (__atomic_load_n(seq, __ATOMIC_ACQUIRE) != seen ||
		    kipc__pipe_role_live(p, 0, role))
			return 0;
		/* Untimed: SA_RESTART restarts it, as the kernel's open. */
		err = kipc__futex_wait(seq, seen, NULL, KIPC__FUTEX_SHARED);
		if (err == -EINTR)
			return err;
	}
}

/* ---- what kipc ls shows ---- */

int kipc__pipe_describe(struct kipc__obj *obj, struct kipc__desc *d)
{
	const struct kipc__pipe_meta *m = kipc__obj_meta(obj);
	const struct kipc__chan *ch = &m->chan[0];
	off_t rb = role_base(0, KIPC__ROLE_READ), wb = role_base(0, KIPC__ROLE_WRITE);
	uint64_t used = __atomic_load_n(&ch->head, __ATOMIC_ACQUIRE) -
			__atomic_load_n(&ch->tail, __ATOMIC_ACQUIRE);

	kipc__desc_add(d, "bytes", KIPC__DESC_LIVE, "%llu", (unsigned long long)used);
	kipc__desc_add(d, "capacity", KIPC__DESC_LIVE, "%u", ch->cap);
	kipc__desc_add(d, "readers", KIPC__DESC_LIVE, "%d",
		       count_in(obj->fd, rb, rb + KIPC__PIPE_SLOTS));
	kipc__desc_add(d, "writers", KIPC__DESC_LIVE, "%d",
		       count_in(obj->fd, wb, wb + KIPC__PIPE_SLOTS));
	kipc__desc_add(d, "packet", 0, "%s", m->packet ? "yes" : "no");
	d->size = used;
	return 0;
}
