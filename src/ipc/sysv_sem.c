// SPDX-License-Identifier: MIT
/*
 * System V semaphore sets (seed 004) on object files; see docs/sysv.md.
 *
 * A set file holds the meta (a robust mutex, the waiters' futex word, a
 * table of waiting tasks for GETNCNT/GETZCNT, times), then the semaphores
 * (value, last operator), then a table of undo records: a process (PID and
 * start time) and its adjustment per semaphore.  semop() checks every
 * operation against a copy of the values and applies them all under the
 * mutex, or none.  A process's undo record is applied when it is dead (it
 * exited, or was killed): by whoever next looks at the set's values, and
 * by the watchdog for waiters, so a waiter blocked on a value a dead
 * process held is woken within KIPC__WATCH_MS.  Values are single stores
 * under the mutex: a holder that dies leaves nothing half-applied but an
 * undo record, which is applied or cleared whole.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <kipc/sem.h>
#include "futex.h"
#include "ipc/describe.h"
#include "ipc/fail.h"
#include "ipc/sysv.h"
#include "ipc/sysv_cache.h"
#include "ipc/watch.h"
#include "spin.h"
#include "task.h"

#define NWAITERS 256

union kipc_semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	void *info;
};

struct sem_waiter {
	uint32_t tid;			/* 0: free */
	uint32_t semnum;
	uint64_t start;
	uint32_t zero;			/* waits for zero, else for an increase */
	uint32_t reserved;
};

struct sem_meta {
	uint32_t nsems;			/* fixed, checked at open */
	uint32_t undo_size;		/* bytes per undo record */
	struct kipc_mutex lock;
	uint32_t seq;			/* futex: waiters sleep on it */
	uint32_t sleepers;
	uint32_t nundo;			/* undo records in use (a hint) */
	uint32_t version;		/* changes with every value change */
	int64_t otime;
	struct sem_waiter waiter[NWAITERS];
	/*
	 * The journal of the semop being applied: what it changes, as it was.
	 * jn is set (release) before the first change and cleared after the
	 * last; a holder that dies in between left jn set, and the next
	 * locker rolls the changes back, so a semop is applied whole or not
	 * at all even when its process is killed in the middle.
	 */
	uint32_t jn;
	uint32_t jundo;			/* the undo record changed, or NO_UNDO */
	struct sem_journal {
		uint16_t semnum;
		int16_t adj;		/* the undo adjustment, as it was */
		int32_t val;		/* the value, as it was */
		uint32_t pid;		/* its last operator, as it was */
	} journal[KIPC_SEMOPM];
};

#define NO_UNDO UINT32_MAX

/* A semaphore: its value and last operator change together (set_sem). */
union sem_one {
	struct {
		int32_t val;
		uint32_t pid;		/* last operator */
	};
	uint64_t word;
};

struct sem_undo {
	uint32_t pid;			/* 0: free */
	uint32_t reserved;
	uint64_t start;
	int16_t adj[];			/* nsems of them */
};

struct set {
	struct kipc__sysv_ref *ref;
	struct sem_meta *m;
	union sem_one *sem;
	char *undo;
	uint32_t nsems, undo_size;
};

static uint32_t undo_size(uint32_t nsems)
{
	return (uint32_t)((sizeof(struct sem_undo) + 2u * nsems + 7) & ~7u);
}

static void sem_geom(uint32_t nsems, struct kipc__obj_geom *g)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	*g = (struct kipc__obj_geom){ .type = KIPC__OBJ_SYSV_SEM, .nelem = nsems };
	g->meta_size = (sizeof(struct kipc__obj_hdr) + sizeof(struct sem_meta) + page - 1) &
		       ~(page - 1);
	g->data_off = g->meta_size;
	g->data_size = (uint64_t)nsems * sizeof(union sem_one) +
		       (uint64_t)KIPC_SEM_UNDO_PROCS * undo_size(nsems);
	g->file_size = g->data_off + g->data_size;
}

int kipc__sysv_sem_check(const void *file, struct kipc__obj_geom *g)
{
	const struct sem_meta *m = (const void *)((const char *)file +
						  sizeof(struct kipc__obj_hdr));
	struct kipc__obj_geom want;
	uint32_t nsems;

	if (g->meta_size < sizeof(struct kipc__obj_hdr) + 8)
		return -EBADMSG;
	nsems = __atomic_load_n(&m->nsems, __ATOMIC_RELAXED);
	if (nsems < 1 || nsems > KIPC_SEMMSL ||
	    __atomic_load_n(&m->undo_size, __ATOMIC_RELAXED) != undo_size(nsems))
		return -EBADMSG;
	sem_geom(nsems, &want);
	if (g->meta_size != want.meta_size || g->data_off != want.data_off ||
	    g->data_size != want.data_size || g->file_size != want.file_size)
		return -EBADMSG;
	g->nelem = nsems;
	return 0;
}

static void view(struct kipc__sysv_ref *ref, struct set *s)
{
	s->ref = ref;
	s->m = ref->meta;
	s->nsems = ref->geom.nelem;
	s->undo_size = undo_size(s->nsems);
	s->sem = (union sem_one *)ref->data;
	s->undo = ref->data + (size_t)s->nsems * sizeof(union sem_one);
}

static struct sem_undo *undo_rec(const struct set *s, uint32_t i)
{
	return (struct sem_undo *)(s->undo + (size_t)i * s->undo_size);
}

/*
 * A semaphore's value, clamped: the file is shared memory anyone who can
 * open it can write, and a value outside [0, SEMVMX] is corrupt.
 */
static int32_t value(const struct set *s, uint32_t k)
{
	int32_t v = s->sem[k].val;

	return v < 0 ? 0 : v > KIPC_SEMVMX ? KIPC_SEMVMX : v;
}

/*
 * One 64-bit store (the array is page-aligned in the file): a holder killed
 * around it leaves the old value and operator or the new ones, never a mix.
 */
static void set_sem(struct set *s, uint32_t k, int32_t val, uint32_t pid)
{
	union sem_one one;

	one.val = val;
	one.pid = pid;
	__atomic_store_n(&s->sem[k].word, one.word, __ATOMIC_RELAXED);
}

static bool removed(const struct set *s)
{
	return kipc__sysv_removed(s->ref);
}

static void wake_all(struct set *s)
{
	kipc__futex_bump_wake(&s->m->seq);
}

/*
 * Lock held: apply and clear the undo records of dead processes, as the
 * kernel's exit_sem() would have at their exit: each value moves by the
 * adjustment, clamped to [0, SEMVMX].  True if a value changed.
 */
static bool reap_undo(struct set *s)
{
	bool changed = false;

	if (!s->m->nundo)
		return false;
	for (uint32_t i = 0; i < KIPC_SEM_UNDO_PROCS; i++) {
		struct sem_undo *u = undo_rec(s, i);

		if (!u->pid || kipc__proc_alive(u->pid, u->start))
			continue;
		for (uint32_t k = 0; k < s->nsems; k++) {
			int32_t v = value(s, k) + u->adj[k];

			if (!u->adj[k])
				continue;
			set_sem(s, k, v < 0 ? 0 : v > KIPC_SEMVMX ? KIPC_SEMVMX : v, u->pid);
			changed = true;
		}
		memset(u->adj, 0, 2u * s->nsems);
		u->pid = 0;
		s->m->nundo--;
	}
	if (changed)
		__atomic_store_n(&s->m->version, s->m->version + 1, __ATOMIC_RELEASE);
	return changed;
}

/* A dead holder's half-applied semop, undone from the journal (newest first). */
static void roll_back(struct set *s)
{
	struct sem_meta *m = s->m;
	uint32_t n = m->jn;
	struct sem_undo *u = m->jundo < KIPC_SEM_UNDO_PROCS ? undo_rec(s, m->jundo) : NULL;

	if (n > KIPC_SEMOPM)
		n = 0;	/* not a journal we wrote */
	while (n-- > 0) {
		const struct sem_journal *j = &m->journal[n];

		if (j->semnum >= s->nsems)
			continue;
		set_sem(s, j->semnum, j->val, j->pid);
		if (u)
			u->adj[j->semnum] = j->adj;
	}
	__atomic_store_n(&m->jn, 0, __ATOMIC_RELEASE);
}

static int lock_set(struct set *s)
{
	int err = kipc_mutex_lock(&s->m->lock);

	if (err == -EOWNERDEAD) {
		roll_back(s);
		err = kipc_mutex_consistent(&s->m->lock);
	}
	if (err)
		return -EIDRM;
	if (s->m->nundo > KIPC_SEM_UNDO_PROCS)
		s->m->nundo = KIPC_SEM_UNDO_PROCS;
	return 0;
}

static int hold(int id, struct set *s)
{
	struct kipc__sysv_ref *ref;
	int err = kipc__sysv_hold(KIPC__OBJ_SYSV_SEM, id, &ref);

	if (!err)
		view(ref, s);
	return err;
}

/* ---- semget ---- */

static void sem_init(struct kipc__obj *obj, void *arg)
{
	struct sem_meta *m = kipc__obj_meta(obj);

	m->nsems = *(uint32_t *)arg;
	m->undo_size = undo_size(m->nsems);
	kipc_mutex_init_flags(&m->lock, KIPC_PSHARED);
}

int kipc_semget(key_t key, int nsems, int semflg)
{
	struct kipc__obj_geom g, *geom = &g;
	union kipc__obj_peek buf;
	struct kipc__obj obj;
	uint32_t n = (uint32_t)nsems;
	int err, id;

	if (nsems < 0 || nsems > KIPC_SEMMSL)
		return kipc__fail(-EINVAL);
	sem_geom(n ? n : 1, &g);
	if (nsems == 0) {
		/* Only an existing set may be looked up with no size. */
		if (key == IPC_PRIVATE)
			return kipc__fail(-EINVAL);
		geom = NULL;
	}
	err = kipc__sysv_get(KIPC__OBJ_SYSV_SEM, key, semflg, geom, sem_init, &n, &obj, &buf);
	if (err == -ENOENT && !geom && (semflg & IPC_CREAT))
		err = -EINVAL;
	if (err)
		return kipc__fail(err);
	if ((uint32_t)nsems > obj.geom.nelem) {
		kipc__obj_close(&obj);
		return kipc__fail(-EINVAL);
	}
	id = obj.hdr->id;
	kipc__obj_close(&obj);
	return id;
}

/* ---- semop ---- */

/* Lock held: this process's undo record, made if need be; NULL when full. */
static struct sem_undo *my_undo(struct set *s, bool make)
{
	const struct kipc__proc *self = kipc__proc_self();
	struct sem_undo *spare = NULL;

	for (uint32_t i = 0; i < KIPC_SEM_UNDO_PROCS; i++) {
		struct sem_undo *u = undo_rec(s, i);

		if (u->pid == self->pid && u->start == self->start)
			return u;
		if (!u->pid && !spare)
			spare = u;
	}
	if (!make)
		return NULL;
	if (!spare && reap_undo(s))
		wake_all(s);
	for (uint32_t i = 0; !spare && i < KIPC_SEM_UNDO_PROCS; i++)
		if (!undo_rec(s, i)->pid)
			spare = undo_rec(s, i);
	if (spare) {
		memset(spare->adj, 0, 2u * s->nsems);
		spare->start = self->start;
		spare->pid = self->pid;
		s->m->nundo++;
	}
	return spare;
}

/*
 * Lock held: apply a semop of several changes.  Journal first (see struct
 * sem_meta), then every change, then done.
 */
static void journal_ops(struct set *s, const struct sembuf *sops, size_t nsops,
			struct sem_undo *u, const int32_t *val, uint32_t pid)
{
	for (size_t i = 0; i < nsops; i++) {
		struct sem_journal *j = &s->m->journal[i];

		j->semnum = sops[i].sem_num;
		j->val = s->sem[j->semnum].val;
		j->pid = s->sem[j->semnum].pid;
		j->adj = u ? u->adj[j->semnum] : 0;
	}
	s->m->jundo = u ? (uint32_t)(((char *)u - s->undo) / s->undo_size) : NO_UNDO;
	__atomic_store_n(&s->m->jn, (uint32_t)nsops, __ATOMIC_RELEASE);
	for (size_t i = 0; i < nsops; i++) {
		if (u && (sops[i].sem_flg & SEM_UNDO))
			u->adj[sops[i].sem_num] -= sops[i].sem_op;
		/* The last value computed for each semaphore is its new value. */
		set_sem(s, sops[i].sem_num, val[i], pid);
	}
	__atomic_store_n(&s->m->jn, 0, __ATOMIC_RELEASE);
}

/* What op can do to a semaphore worth v: 0 (go), -EAGAIN (wait), -ERANGE. */
static int check_op(int32_t v, const struct sembuf *op)
{
	if (op->sem_op == 0 ? v != 0 : v + op->sem_op < 0)
		return -EAGAIN;
	return v + op->sem_op > KIPC_SEMVMX ? -ERANGE : 0;
}

/* Lock held: a semop was applied. */
static void applied(struct set *s)
{
	s->m->otime = kipc__obj_now();
	__atomic_store_n(&s->m->version, s->m->version + 1, __ATOMIC_RELEASE);
}

/*
 * Lock held: try the operations on a copy of the values.  0 (applied),
 * -EAGAIN with *block the operation that must wait, -ERANGE, -ENOSPC.
 */
static int try_ops(struct set *s, const struct sembuf *sops, size_t nsops, size_t *block)
{
	uint32_t pid = kipc__proc_self()->pid;
	int32_t val[KIPC_SEMOPM];
	struct sem_undo *u = NULL;
	bool undo = false;
	int err;

	if (nsops == 1 && !(sops->sem_flg & SEM_UNDO)) {
		/* The common semop: one change, one store, no journal. */
		int32_t v = value(s, sops->sem_num);

		*block = 0;
		err = check_op(v, sops);
		if (err)
			return err;
		set_sem(s, sops->sem_num, v + sops->sem_op, pid);
		applied(s);
		return 0;
	}
	for (size_t i = 0; i < nsops; i++) {
		int32_t v = value(s, sops[i].sem_num);

		/* Earlier operations on the same semaphore count. */
		for (size_t j = 0; j < i; j++)
			if (sops[j].sem_num == sops[i].sem_num)
				v += sops[j].sem_op;
		*block = i;
		err = check_op(v, &sops[i]);
		if (err)
			return err;
		val[i] = v + sops[i].sem_op;
		if (sops[i].sem_flg & SEM_UNDO)
			undo = true;
	}
	if (undo) {
		u = my_undo(s, true);
		if (!u)
			return -ENOSPC;
		for (size_t i = 0; i < nsops; i++) {
			int32_t a = u->adj[sops[i].sem_num];

			if ((sops[i].sem_flg & SEM_UNDO) &&
			    (a - sops[i].sem_op > KIPC_SEMVMX || a - sops[i].sem_op < -KIPC_SEMVMX - 1))
				return -ERANGE;
		}
	}
	journal_ops(s, sops, nsops, u, val, pid);
	applied(s);
	return 0;
}

/*
 * Lock held: count this thread as waiting on op (GETNCNT/GETZCNT), in its
 * entry w if it has one already (it keeps it from the first time it must
 * wait until its semop is done, spinning or asleep).
 */
static struct sem_waiter *add_waiter(struct set *s, struct sem_waiter *w, const struct sembuf *op)
{
	if (w && w->tid == kipc__gettid()) {
		w->semnum = op->sem_num;
		w->zero = op->sem_op == 0;
		return w;
	}
	/* A free entry first; the dead are looked for (in /proc) only if none is. */
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < NWAITERS; i++) {
			w = &s->m->waiter[i];
			if (w->tid && (!pass || kipc__task_alive(w->tid, w->start)))
				continue;
			w->semnum = op->sem_num;
			w->zero = op->sem_op == 0;
			w->start = kipc__thread_start();
			w->tid = kipc__gettid();
			return w;
		}
	}
	return NULL;		/* uncounted, still correct */
}

/* Lock held: the semop is done waiting. */
static void drop_waiter(struct sem_waiter *w)
{
	if (w && w->tid == kipc__gettid())
		w->tid = 0;
}

struct sem_watch {
	struct kipc__watch w;
	struct set *s;
	uint32_t version;		/* the values' version when it slept */
};

/*
 * The watchdog's question for a sleeper: did the values change (a peer
 * killed before its wake-up call), did the holder of the lock die, or did
 * a process with undo adjustments die (their undo is for us to apply)?
 */
static bool sem_moved(struct kipc__watch *w)
{
	struct sem_watch *sw = (struct sem_watch *)w;
	struct set *s = sw->s;

	if (kipc__watch_moved(&s->m->version, sw->version, &s->m->lock))
		return true;
	if (!__atomic_load_n(&s->m->nundo, __ATOMIC_RELAXED))
		return false;
	for (uint32_t i = 0; i < KIPC_SEM_UNDO_PROCS; i++) {
		struct sem_undo *u = undo_rec(s, i);
		uint32_t pid = __atomic_load_n(&u->pid, __ATOMIC_RELAXED);

		if (pid && !kipc__proc_alive(pid, __atomic_load_n(&u->start, __ATOMIC_RELAXED)))
			return true;
	}
	return false;
}

int kipc_semtimedop(int semid, struct sembuf *sops, size_t nsops, const struct timespec *timeout)
{
	struct timespec deadline = { 0, 0 };
	struct kipc__ipc_spin sp = KIPC__IPC_SPIN_INIT;
	struct sem_waiter *w = NULL;
	struct set s;
	size_t block;
	int err;

	if (nsops < 1)
		return kipc__fail(-EINVAL);
	if (nsops > KIPC_SEMOPM)
		return kipc__fail(-E2BIG);
	if (!sops)
		return kipc__fail(-EFAULT);
	if (timeout && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
			timeout->tv_nsec >= 1000000000L))
		return kipc__fail(-EINVAL);
	err = hold(semid, &s);
	if (err)
		return kipc__fail(err);
	for (size_t i = 0; i < nsops; i++)
		if (sops[i].sem_num >= s.nsems) {
			kipc__sysv_release(s.ref);
			return kipc__fail(-EFBIG);
		}
	for (;;) {
		struct sem_watch sw = { .s = &s };
		uint32_t seq;

		err = lock_set(&s);
		if (err)
			break;
		if (removed(&s)) {
			kipc_mutex_unlock(&s.m->lock);
			err = -EIDRM;
			break;
		}
		err = try_ops(&s, sops, nsops, &block);
		if (err == -EAGAIN && reap_undo(&s)) {
			/* A dead process's undo changed the values: again. */
			wake_all(&s);
			err = try_ops(&s, sops, nsops, &block);
		}
		if (err != -EAGAIN || (sops[block].sem_flg & IPC_NOWAIT)) {
			bool wake = !err && __atomic_load_n(&s.m->sleepers, __ATOMIC_RELAXED);

			drop_waiter(w);
			w = NULL;
			kipc_mutex_unlock(&s.m->lock);
			if (wake)
				wake_all(&s);
			break;
		}
		w = add_waiter(&s, w, &sops[block]);
		if (!kipc__ipc_spin_spent(&sp)) {
			/* Unannounced, so the partner's semop makes no wake-up call. */
			uint32_t v = s.m->version;

			kipc_mutex_unlock(&s.m->lock);
			kipc__ipc_spin(&sp, &s.m->version, v);
			continue;
		}
		kipc__ipc_spin_reset(&sp);
		/*
		 * Always a deadline, made when first needed: a timed futex wait
		 * returns EINTR for every handler, and semop() is never
		 * restarted, SA_RESTART or not.
		 */
		if (!deadline.tv_sec)
			kipc__sysv_deadline(&deadline, timeout);
		__atomic_fetch_add(&s.m->sleepers, 1, __ATOMIC_RELAXED);
		seq = __atomic_load_n(&s.m->seq, __ATOMIC_RELAXED);
		sw.version = s.m->version;
		kipc_mutex_unlock(&s.m->lock);
		sw.w.gone = sem_moved;
		sw.w.word = &s.m->seq;
		err = kipc__watch_add(&sw.w);
		if (!err) {
			err = kipc__futex_wait(&s.m->seq, seq, &deadline,
					       KIPC__FUTEX_SHARED | KIPC__FUTEX_ABS);
			kipc__watch_del(&sw.w);
		}
		__atomic_fetch_sub(&s.m->sleepers, 1, __ATOMIC_RELAXED);
		if (removed(&s)) {
			err = -EIDRM;
			break;
		}
		if (err == -ETIMEDOUT && timeout) {
			err = -EAGAIN;	/* semtimedop's answer to a timeout */
			break;
		}
		if (err == -ETIMEDOUT) {
			kipc__sysv_deadline(&deadline, NULL);
			err = 0;
		}
		if (err == -EINTR)
			break;
	}
	/* Leaving while counted as a waiter (interrupted, timed out, removed). */
	if (w && !removed(&s) && lock_set(&s) == 0) {
		drop_waiter(w);
		kipc_mutex_unlock(&s.m->lock);
	}
	kipc__sysv_release(s.ref);
	return err ? kipc__fail(err) : 0;
}

int kipc_semop(int semid, struct sembuf *sops, size_t nsops)
{
	return kipc_semtimedop(semid, sops, nsops, NULL);
}

/* ---- semctl ---- */

static int count_waiters(struct set *s, uint32_t semnum, bool zero)
{
	int n = 0;

	for (uint32_t i = 0; i < NWAITERS; i++) {
		const struct sem_waiter *w = &s->m->waiter[i];

		if (w->tid && w->semnum == semnum && (w->zero != 0) == zero &&
		    kipc__task_alive(w->tid, w->start))
			n++;
	}
	return n;
}

/* A semaphore's value is set from outside: undo adjustments for it go. */
static void clear_adj(struct set *s, uint32_t semnum)
{
	for (uint32_t i = 0; i < KIPC_SEM_UNDO_PROCS; i++)
		undo_rec(s, i)->adj[semnum] = 0;
}

static void stat_set(const struct kipc__obj_hdr *h, const struct sem_meta *m, uint32_t nsems,
		     struct semid_ds *buf)
{
	memset(buf, 0, sizeof(*buf));
	buf->sem_perm.__key = h->key;
	buf->sem_perm.uid = h->uid;
	buf->sem_perm.gid = h->gid;
	buf->sem_perm.cuid = h->cuid;
	buf->sem_perm.cgid = h->cgid;
	buf->sem_perm.mode = h->mode & 0777;
	buf->sem_perm.__seq = (unsigned short)((unsigned int)h->id >> 15);
	buf->sem_otime = m->otime;
	buf->sem_ctime = h->ctime;
	buf->sem_nsems = nsems;
}

static int ctl_owner(int semid, int cmd, union kipc_semun arg)
{
	struct kipc__obj obj;
	struct set s;
	int err = kipc__sysv_open_owned(KIPC__OBJ_SYSV_SEM, semid, &obj);

	if (err)
		return err;
	if (cmd == IPC_SET && !arg.buf) {
		kipc__obj_close(&obj);
		return -EFAULT;
	}
	err = hold(semid, &s);
	if (!err)
		err = lock_set(&s);
	if (err) {
		kipc__obj_close(&obj);
		return err == -EIDRM ? -EINVAL : err;
	}
	if (cmd == IPC_SET) {
		err = kipc__sysv_set_perm(&obj, arg.buf->sem_perm.uid, arg.buf->sem_perm.gid,
					  arg.buf->sem_perm.mode);
		kipc_mutex_unlock(&s.m->lock);
		kipc__sysv_release(s.ref);
	} else {
		kipc__sysv_unpublish(&obj);
		kipc__sysv_destroy(&obj);
		kipc_mutex_unlock(&s.m->lock);
		wake_all(&s);
		kipc__sysv_forget(s.ref);
	}
	kipc__obj_close(&obj);
	return err;
}

int kipc_semctl(int semid, int semnum, int cmd, ...)
{
	union kipc_semun arg = { 0 };
	struct set s;
	int ret = 0, err;
	bool wake = false;
	va_list ap;

	switch (cmd) {
	case SETVAL: case GETALL: case SETALL: case IPC_STAT: case IPC_SET:
		va_start(ap, cmd);
		arg = va_arg(ap, union kipc_semun);
		va_end(ap);
		break;
	case GETVAL: case GETPID: case GETNCNT: case GETZCNT: case IPC_RMID:
		break;
	default:
		return kipc__fail(-EINVAL);
	}
	if (cmd == IPC_SET || cmd == IPC_RMID) {
		err = ctl_owner(semid, cmd, arg);
		return err ? kipc__fail(err) : 0;
	}
	/* The kernel's order: a negative id, then SETVAL's value, then the rest. */
	if (semid < 0)
		return kipc__fail(-EINVAL);
	if (cmd == SETVAL && (arg.val < 0 || arg.val > KIPC_SEMVMX))
		return kipc__fail(-ERANGE);
	err = hold(semid, &s);
	if (err)
		return kipc__fail(err);
	if ((cmd == GETVAL || cmd == SETVAL || cmd == GETPID || cmd == GETNCNT || cmd == GETZCNT) &&
	    (semnum < 0 || (uint32_t)semnum >= s.nsems)) {
		kipc__sysv_release(s.ref);
		return kipc__fail(-EINVAL);
	}
	if (((cmd == GETALL || cmd == SETALL) && !arg.array) || (cmd == IPC_STAT && !arg.buf)) {
		kipc__sysv_release(s.ref);
		return kipc__fail(-EFAULT);
	}
	if (cmd == SETALL)
		for (uint32_t k = 0; k < s.nsems; k++)
			if (arg.array[k] > KIPC_SEMVMX) {
				kipc__sysv_release(s.ref);
				return kipc__fail(-ERANGE);
			}
	err = lock_set(&s);
	if (err) {
		kipc__sysv_release(s.ref);
		return kipc__fail(err);
	}
	/* What a dead process's exit would have undone is undone first. */
	wake = reap_undo(&s);
	switch (cmd) {
	case GETVAL:
		ret = value(&s, (uint32_t)semnum);
		break;
	case GETPID:
		ret = (int)s.sem[semnum].pid;
		break;
	case GETNCNT:
		ret = count_waiters(&s, (uint32_t)semnum, false);
		break;
	case GETZCNT:
		ret = count_waiters(&s, (uint32_t)semnum, true);
		break;
	case GETALL:
		for (uint32_t k = 0; k < s.nsems; k++)
			arg.array[k] = (unsigned short)value(&s, k);
		break;
	case SETVAL:
		set_sem(&s, (uint32_t)semnum, arg.val, kipc__proc_self()->pid);
		clear_adj(&s, (uint32_t)semnum);
		s.ref->hdr->ctime = kipc__obj_now();
		__atomic_store_n(&s.m->version, s.m->version + 1, __ATOMIC_RELEASE);
		wake = true;
		break;
	case SETALL:
		for (uint32_t k = 0; k < s.nsems; k++) {
			set_sem(&s, k, arg.array[k], kipc__proc_self()->pid);
			clear_adj(&s, k);
		}
		s.ref->hdr->ctime = kipc__obj_now();
		__atomic_store_n(&s.m->version, s.m->version + 1, __ATOMIC_RELEASE);
		wake = true;
		break;
	case IPC_STAT:
		stat_set(s.ref->hdr, s.m, s.nsems, arg.buf);
		break;
	}
	kipc_mutex_unlock(&s.m->lock);
	if (wake)
		wake_all(&s);
	kipc__sysv_release(s.ref);
	return ret;
}

int kipc__sysv_sem_describe(struct kipc__obj *obj, struct kipc__desc *d)
{
	const struct sem_meta *m = kipc__obj_meta(obj);
	struct semid_ds ds;

	stat_set(obj->hdr, m, obj->geom.nelem, &ds);
	d->size = ds.sem_nsems;
	kipc__desc_add(d, "nsems", KIPC__DESC_LIVE, "%lu", (unsigned long)ds.sem_nsems);
	kipc__desc_add(d, "otime", 0, "%lld", (long long)ds.sem_otime);
	kipc__desc_add(d, "undo_procs", 0, "%u", m->nundo);
	return 0;
}
