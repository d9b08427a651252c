// SPDX-License-Identifier: MIT
/*
 * System V message queues (seed 002/003's struct msg_queue) on object
 * files; see docs/sysv.md.
 *
 * A queue file holds the meta (struct msqid_ds's figures, a robust mutex,
 * the sleepers' futex words, and the blocks' free-list links), then
 * KIPC_MSG_MAXQNUM message descriptors, then the text blocks.  A message is
 * a descriptor (type, length, send sequence, first block) on the queue's
 * arrival list, and its text a chain of 64-byte blocks.  Receiving with a
 * msgtyp walks the arrival list as the kernel does.  Descriptor state is
 * written last on send; the lists are an index over the descriptors and
 * are rebuilt from them (in send order) when a holder of the mutex dies.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <unistd.h>
#include <kipc/msg.h>
#include "futex.h"
#include "ipc/describe.h"
#include "ipc/fail.h"
#include "ipc/sysv.h"
#include "ipc/sysv_cache.h"
#include "ipc/watch.h"
#include "spin.h"
#include "task.h"

#define BLOCK		64u
#define NBLOCKS		(KIPC_MSGMNB / BLOCK + KIPC_MSG_MAXQNUM)
#define DESC_FREE	0u
#define DESC_FULL	0x4d534756u	/* "MSGV" */
#define NONE		UINT32_MAX

struct msg_desc {
	uint32_t state;
	uint32_t len;
	int64_t mtype;
	uint64_t seq;
	uint32_t first;			/* first text block */
	uint32_t next;			/* arrival list, or free list */
};

struct msg_meta {
	uint32_t maxqnum, nblocks;	/* fixed, checked at open */
	struct kipc_mutex lock;
	uint64_t qbytes;		/* msg_qbytes */
	uint64_t cbytes;		/* msg_cbytes */
	uint32_t qnum;			/* msg_qnum */
	uint32_t head, tail;		/* arrival list */
	uint32_t free_desc, free_block, nfree_blocks;
	uint64_t next_seq;
	uint32_t lspid, lrpid;
	int64_t stime, rtime;
	uint32_t rseq, rsleep;		/* futex and count: waiting receivers */
	uint32_t sseq, ssleep;		/* the same for senders */
	uint32_t arrivals, departures;	/* counters spinners and sleepers watch */
	uint32_t fresh;			/* new: the index is still to be built */
	uint32_t bnext[NBLOCKS];	/* block chains and the free list */
};

static void msg_geom(struct kipc__obj_geom *g)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	*g = (struct kipc__obj_geom){ .type = KIPC__OBJ_SYSV_MSG, .nelem = KIPC_MSG_MAXQNUM };
	g->meta_size = (sizeof(struct kipc__obj_hdr) + sizeof(struct msg_meta) + page - 1) &
		       ~(page - 1);
	g->data_off = g->meta_size;
	g->data_size = (uint64_t)KIPC_MSG_MAXQNUM * sizeof(struct msg_desc) +
		       (uint64_t)NBLOCKS * BLOCK;
	g->file_size = g->data_off + g->data_size;
}

int kipc__sysv_msg_check(const void *file, struct kipc__obj_geom *g)
{
	const struct msg_meta *m = (const void *)((const char *)file +
						  sizeof(struct kipc__obj_hdr));
	struct kipc__obj_geom want;

	msg_geom(&want);
	if (g->meta_size != want.meta_size || g->data_off != want.data_off ||
	    g->data_size != want.data_size || g->file_size != want.file_size ||
	    __atomic_load_n(&m->maxqnum, __ATOMIC_RELAXED) != KIPC_MSG_MAXQNUM ||
	    __atomic_load_n(&m->nblocks, __ATOMIC_RELAXED) != NBLOCKS)
		return -EBADMSG;
	g->nelem = KIPC_MSG_MAXQNUM;
	return 0;
}

struct queue {
	struct kipc__sysv_ref *ref;
	struct msg_meta *m;
	struct msg_desc *d;
	char *blocks;
};

static void view(struct kipc__sysv_ref *ref, struct queue *q)
{
	q->ref = ref;
	q->m = ref->meta;
	q->d = (struct msg_desc *)ref->data;
	q->blocks = ref->data + (size_t)KIPC_MSG_MAXQNUM * sizeof(struct msg_desc);
}

static uint32_t blocks_for(uint32_t len)
{
	return len ? (len + BLOCK - 1) / BLOCK : 0;
}

/*
 * Rebuild the lists from the descriptors: after a holder died, or when
 * they do not hold together.  A message is a full descriptor whose block
 * chain is whole, in range, and shared with no other message.
 */
static void rebuild(struct queue *q)
{
	struct msg_meta *m = q->m;
	uint32_t order[KIPC_MSG_MAXQNUM], n = 0;
	static __thread uint8_t used[NBLOCKS];

	memset(used, 0, sizeof(used));
	m->qnum = 0;
	m->cbytes = 0;
	for (uint32_t i = 0; i < KIPC_MSG_MAXQNUM; i++) {
		struct msg_desc *d = &q->d[i];
		uint32_t b = d->first, k;

		if (d->state != DESC_FULL || d->len > KIPC_MSGMAX || d->mtype < 1)
			goto drop;
		for (k = 0; k < blocks_for(d->len); k++) {
			if (b >= NBLOCKS || used[b])
				break;
			used[b] = 1;
			b = m->bnext[b];
		}
		if (k == blocks_for(d->len)) {
			order[n++] = i;
			continue;
		}
		/* A broken chain: free what it claimed. */
		for (b = d->first; k-- > 0; b = m->bnext[b])
			used[b] = 0;
drop:
		d->state = DESC_FREE;
	}
	/* Arrival order is send order: insertion sort, n is small and mostly sorted. */
	for (uint32_t i = 1; i < n; i++)
		for (uint32_t j = i; j > 0 && q->d[order[j]].seq < q->d[order[j - 1]].seq; j--) {
			uint32_t t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	m->head = m->tail = NONE;
	for (uint32_t i = 0; i < n; i++) {
		struct msg_desc *d = &q->d[order[i]];

		d->next = NONE;
		if (m->tail == NONE)
			m->head = order[i];
		else
			q->d[m->tail].next = order[i];
		m->tail = order[i];
		m->qnum++;
		m->cbytes += d->len;
		if (d->seq >= m->next_seq)
			m->next_seq = d->seq + 1;
	}
	m->free_desc = NONE;
	for (uint32_t i = KIPC_MSG_MAXQNUM; i-- > 0;)
		if (q->d[i].state != DESC_FULL) {
			q->d[i].next = m->free_desc;
			m->free_desc = i;
		}
	m->free_block = NONE;
	m->nfree_blocks = 0;
	for (uint32_t b = NBLOCKS; b-- > 0;)
		if (!used[b]) {
			m->bnext[b] = m->free_block;
			m->free_block = b;
			m->nfree_blocks++;
		}
}

static bool index_ok(const struct queue *q)
{
	const struct msg_meta *m = q->m;

	return m->qnum <= KIPC_MSG_MAXQNUM && m->nfree_blocks <= NBLOCKS &&
	       (m->head == NONE || m->head < KIPC_MSG_MAXQNUM) &&
	       (m->tail == NONE || m->tail < KIPC_MSG_MAXQNUM) &&
	       (m->free_desc == NONE || m->free_desc < KIPC_MSG_MAXQNUM) &&
	       (m->free_block == NONE || m->free_block < NBLOCKS) &&
	       (m->head == NONE) == (m->qnum == 0);
}

static int lock_queue(struct queue *q)
{
	int err = kipc_mutex_lock(&q->m->lock);

	if (err == -EOWNERDEAD) {
		rebuild(q);
		err = kipc_mutex_consistent(&q->m->lock);
	}
	if (err)
		return -EIDRM;
	if (q->m->fresh || !index_ok(q)) {
		rebuild(q);
		q->m->fresh = 0;
	}
	return 0;
}


static bool removed(const struct queue *q)
{
	return kipc__sysv_removed(q->ref);
}

/* The cached queue for id, or -EINVAL / -EIDRM. */
static int hold(int id, struct queue *q)
{
	struct kipc__sysv_ref *ref;
	int err = kipc__sysv_hold(KIPC__OBJ_SYSV_MSG, id, &ref);

	if (!err)
		view(ref, q);
	return err;
}

/* ---- msgget ---- */

static void msg_init(struct kipc__obj *obj, void *arg)
{
	struct msg_meta *m = kipc__obj_meta(obj);

	(void)arg;
	m->maxqnum = KIPC_MSG_MAXQNUM;
	m->nblocks = NBLOCKS;
	kipc_mutex_init_flags(&m->lock, KIPC_PSHARED);
	m->qbytes = KIPC_MSGMNB;
	/* Descriptors are zero (free); the lists are made by the first lock. */
	m->head = m->tail = m->free_desc = m->free_block = NONE;
	m->fresh = 1;
}

int kipc_msgget(key_t key, int msgflg)
{
	struct kipc__obj_geom g;
	union kipc__obj_peek buf;
	struct kipc__obj obj;
	int err, id;

	msg_geom(&g);
	err = kipc__sysv_get(KIPC__OBJ_SYSV_MSG, key, msgflg, &g, msg_init, NULL, &obj, &buf);
	if (err)
		return kipc__fail(err);
	id = obj.hdr->id;
	kipc__obj_close(&obj);
	return id;
}

/* ---- msgsnd ---- */

/* Lock held: room for a message of len bytes, as the kernel counts it. */
static bool room(const struct queue *q, size_t len)
{
	const struct msg_meta *m = q->m;

	return m->cbytes + len <= m->qbytes && m->qnum + 1 <= m->qbytes &&
	       m->free_desc != NONE && m->nfree_blocks >= blocks_for((uint32_t)len);
}

static void put_text(struct queue *q, struct msg_desc *d, const char *text, size_t len)
{
	struct msg_meta *m = q->m;
	uint32_t *link = &d->first;

	for (size_t off = 0; off < len; off += BLOCK) {
		uint32_t b = m->free_block;

		m->free_block = m->bnext[b];
		m->nfree_blocks--;
		memcpy(q->blocks + (size_t)b * BLOCK, text + off, len - off < BLOCK ? len - off : BLOCK);
		*link = b;
		link = &m->bnext[b];
	}
	*link = NONE;
}

struct msg_watch {
	struct kipc__watch w;
	struct queue *q;
	const uint32_t *counter;
	uint32_t seen;
};

static bool msg_moved(struct kipc__watch *w)
{
	struct msg_watch *mw = (struct msg_watch *)w;

	return kipc__watch_moved(mw->counter, mw->seen, &mw->q->m->lock);
}

/*
 * Sleep on *word (read as s under the lock, with *sleepers counted) until
 * woken; -EINTR, -EIDRM (the queue was removed meanwhile), or 0.  The
 * watchdog wakes us if *counter moved from seen (a peer killed before its
 * wake-up call) or the lock's holder died.
 */
static int sleep_on(struct queue *q, uint32_t *word, uint32_t s, uint32_t *sleepers,
		    const uint32_t *counter, uint32_t seen)
{
	struct msg_watch mw = { .q = q, .counter = counter, .seen = seen };
	struct timespec never;
	int err;

	/* Timed, so that every handler interrupts it: msgsnd/msgrcv never restart. */
	kipc__sysv_deadline(&never, NULL);
	mw.w.gone = msg_moved;
	mw.w.word = word;
	err = kipc__watch_add(&mw.w);
	if (!err) {
		err = kipc__futex_wait(word, s, &never, KIPC__FUTEX_SHARED | KIPC__FUTEX_ABS);
		kipc__watch_del(&mw.w);
	}
	__atomic_fetch_sub(sleepers, 1, __ATOMIC_RELAXED);
	if (removed(q))
		return -EIDRM;
	return err == -EINTR ? err : 0;
}

/*
 * The queue's lock held, a message just came (went): count it in *counter,
 * which the other side's waiters watch, unlock, and wake the other side's
 * sleepers on *word if *sleepers says there are any.
 */
static void moved(struct msg_meta *m, uint32_t *counter, uint32_t *sleepers, uint32_t *word)
{
	bool wake;

	__atomic_store_n(counter, *counter + 1, __ATOMIC_RELEASE);
	wake = *sleepers != 0;
	kipc_mutex_unlock(&m->lock);
	if (wake)
		kipc__futex_bump_wake(word);
}

/*
 * The queue's lock held, and the call must wait for *counter to move: unlock
 * and spin, unannounced so that no peer makes a wake-up call for us, while
 * the wait's budget lasts; then count ourselves in *sleepers and sleep on
 * *word.  0 to try again, -EINTR or -EIDRM.
 */
static int wait_turn(struct queue *q, struct kipc__ipc_spin *sp, uint32_t *word,
		     uint32_t *sleepers, uint32_t *counter)
{
	uint32_t s = __atomic_load_n(word, __ATOMIC_RELAXED), seen = *counter;

	if (!kipc__ipc_spin_spent(sp)) {
		kipc_mutex_unlock(&q->m->lock);
		kipc__ipc_spin(sp, counter, seen);
		return 0;
	}
	kipc__ipc_spin_reset(sp);
	__atomic_fetch_add(sleepers, 1, __ATOMIC_RELAXED);
	kipc_mutex_unlock(&q->m->lock);
	return sleep_on(q, word, s, sleepers, counter, seen);
}

int kipc_msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg)
{
	const struct kipc_msgbuf_hdr *hdr = msgp;
	struct kipc__ipc_spin sp = KIPC__IPC_SPIN_INIT;
	struct queue q;
	long mtype;
	int err;

	if (msgsz > KIPC_MSGMAX)
		return kipc__fail(-EINVAL);
	if (!msgp)
		return kipc__fail(-EFAULT);
	mtype = hdr->mtype;
	if (mtype < 1)
		return kipc__fail(-EINVAL);
	err = hold(msqid, &q);
	if (err)
		return kipc__fail(err);
	for (;;) {
		struct msg_meta *m = q.m;

		err = lock_queue(&q);
		if (err)
			break;
		if (removed(&q)) {
			err = -EIDRM;
			kipc_mutex_unlock(&m->lock);
			break;
		}
		if (room(&q, msgsz)) {
			uint32_t i = m->free_desc;
			struct msg_desc *d = &q.d[i];

			m->free_desc = d->next;
			put_text(&q, d, (const char *)msgp + sizeof(long), msgsz);
			d->len = (uint32_t)msgsz;
			d->mtype = mtype;
			d->seq = m->next_seq++;
			d->next = NONE;
			/* Last: a descriptor is a message once this store is done. */
			__atomic_store_n(&d->state, DESC_FULL, __ATOMIC_RELEASE);
			if (m->tail == NONE)
				m->head = i;
			else
				q.d[m->tail].next = i;
			m->tail = i;
			m->qnum++;
			m->cbytes += msgsz;
			m->lspid = kipc__proc_self()->pid;
			m->stime = kipc__obj_now();
			moved(m, &m->arrivals, &m->rsleep, &m->rseq);
			break;
		}
		if (msgflg & IPC_NOWAIT) {
			kipc_mutex_unlock(&m->lock);
			err = -EAGAIN;
			break;
		}
		/* Room comes with a departure. */
		err = wait_turn(&q, &sp, &m->sseq, &m->ssleep, &m->departures);
		if (err)
			break;
	}
	kipc__sysv_release(q.ref);
	return err ? kipc__fail(err) : 0;
}

/* ---- msgrcv ---- */

/* Lock held: the message msgtyp selects, and the one before it (or NONE). */
static uint32_t select_msg(const struct queue *q, long msgtyp, int msgflg, uint32_t *prev)
{
	uint32_t best = NONE, best_prev = NONE, p = NONE, steps = 0;

	for (uint32_t i = q->m->head; i != NONE && steps++ < KIPC_MSG_MAXQNUM;
	     p = i, i = q->d[i].next) {
		int64_t t;

		if (i >= KIPC_MSG_MAXQNUM)
			break;
		t = q->d[i].mtype;
		if (msgtyp == 0 || (msgtyp > 0 && !(msgflg & MSG_EXCEPT) && t == msgtyp) ||
		    (msgtyp > 0 && (msgflg & MSG_EXCEPT) && t != msgtyp)) {
			*prev = p;
			return i;
		}
		/* Negative: the lowest type not above |msgtyp|, first of its type. */
		if (msgtyp < 0 && (msgtyp == LONG_MIN || t <= -(int64_t)msgtyp) &&
		    (best == NONE || t < q->d[best].mtype)) {
			best = i;
			best_prev = p;
		}
	}
	*prev = best_prev;
	return best;
}

/* Copy out (up to n bytes of) a message's text; the chain is untouched. */
static void take_text(const struct queue *q, const struct msg_desc *d, char *out, size_t n)
{
	uint32_t b = d->first;

	for (size_t off = 0; off < n; off += BLOCK) {
		memcpy(out + off, q->blocks + (size_t)b * BLOCK, n - off < BLOCK ? n - off : BLOCK);
		b = q->m->bnext[b];
	}
}

/*
 * Give a received message's blocks back, after its descriptor is free: a
 * receiver killed before this only leaks blocks until the next rebuild,
 * where one killed while the chain is half-freed under a full descriptor
 * would bring the message back with another's text.
 */
static void free_text(struct queue *q, uint32_t first, uint32_t len)
{
	struct msg_meta *m = q->m;
	uint32_t b = first;

	for (uint32_t k = 0; k < blocks_for(len); k++) {
		uint32_t next = m->bnext[b];

		m->bnext[b] = m->free_block;
		m->free_block = b;
		m->nfree_blocks++;
		b = next;
	}
}

ssize_t kipc_msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg)
{
	struct kipc_msgbuf_hdr *hdr = msgp;
	struct kipc__ipc_spin sp = KIPC__IPC_SPIN_INIT;
	struct queue q;
	ssize_t ret = 0;
	int err;

	if (msgsz > (size_t)LONG_MAX)
		return kipc__fail(-EINVAL);
	if (msgflg & MSG_COPY)
		return kipc__fail(-ENOSYS);
	if (!msgp)
		return kipc__fail(-EFAULT);
	err = hold(msqid, &q);
	if (err)
		return kipc__fail(err);
	for (;;) {
		struct msg_meta *m = q.m;
		uint32_t i, prev;

		err = lock_queue(&q);
		if (err)
			break;
		if (removed(&q)) {
			err = -EIDRM;
			kipc_mutex_unlock(&m->lock);
			break;
		}
		i = select_msg(&q, msgtyp, msgflg, &prev);
		if (i != NONE) {
			struct msg_desc *d = &q.d[i];

			if (d->len > msgsz && !(msgflg & MSG_NOERROR)) {
				kipc_mutex_unlock(&m->lock);
				err = -E2BIG;
				break;
			}
			ret = d->len < msgsz ? d->len : (ssize_t)msgsz;
			hdr->mtype = (long)d->mtype;
			take_text(&q, d, (char *)msgp + sizeof(long), (size_t)ret);
			/* Received: from here the message is gone, then its blocks. */
			__atomic_store_n(&d->state, DESC_FREE, __ATOMIC_RELEASE);
			free_text(&q, d->first, d->len);
			if (prev == NONE)
				m->head = d->next;
			else
				q.d[prev].next = d->next;
			if (m->tail == i)
				m->tail = prev;
			d->next = m->free_desc;
			m->free_desc = i;
			m->qnum--;
			m->cbytes -= d->len;
			m->lrpid = kipc__proc_self()->pid;
			m->rtime = kipc__obj_now();
			moved(m, &m->departures, &m->ssleep, &m->sseq);
			break;
		}
		if (msgflg & IPC_NOWAIT) {
			kipc_mutex_unlock(&m->lock);
			err = -ENOMSG;
			break;
		}
		/* A message to take comes with an arrival. */
		err = wait_turn(&q, &sp, &m->rseq, &m->rsleep, &m->arrivals);
		if (err)
			break;
	}
	kipc__sysv_release(q.ref);
	return err ? kipc__fail(err) : ret;
}

/* ---- msgctl ---- */

static void stat_queue(const struct kipc__obj_hdr *h, const struct msg_meta *m,
		       struct msqid_ds *buf)
{
	bool gone = h->state == KIPC__OBJ_REMOVED;

	memset(buf, 0, sizeof(*buf));
	buf->msg_perm.__key = gone ? IPC_PRIVATE : h->key;
	buf->msg_perm.uid = h->uid;
	buf->msg_perm.gid = h->gid;
	buf->msg_perm.cuid = h->cuid;
	buf->msg_perm.cgid = h->cgid;
	buf->msg_perm.mode = h->mode & 0777;
	buf->msg_perm.__seq = (unsigned short)((unsigned int)h->id >> 15);
	buf->msg_stime = m->stime;
	buf->msg_rtime = m->rtime;
	buf->msg_ctime = h->ctime;
	buf->__msg_cbytes = m->cbytes;
	buf->msg_qnum = m->qnum;
	buf->msg_qbytes = m->qbytes;
	buf->msg_lspid = (pid_t)m->lspid;
	buf->msg_lrpid = (pid_t)m->lrpid;
}

int kipc_msgctl(int msqid, int cmd, struct msqid_ds *buf)
{
	struct kipc__obj obj;
	struct queue q;
	int err;

	if (cmd != IPC_STAT && cmd != IPC_SET && cmd != IPC_RMID)
		return kipc__fail(-EINVAL);
	if (cmd != IPC_RMID && !buf)
		return kipc__fail(-EFAULT);
	if (cmd == IPC_STAT) {
		/*
		 * Under the lock where we may write, so that counts a dead
		 * holder left half-done are rebuilt first; read access alone
		 * is enough to look, without it.
		 */
		err = kipc__sysv_open_id(KIPC__OBJ_SYSV_MSG, msqid, &obj);
		if (err)
			return kipc__fail(err);
		if (obj.writable && !hold(msqid, &q)) {
			err = lock_queue(&q);
			if (!err) {
				stat_queue(q.ref->hdr, q.m, buf);
				kipc_mutex_unlock(&q.m->lock);
			}
			kipc__sysv_release(q.ref);
		} else if (obj.hdr->state == KIPC__OBJ_REMOVED) {
			err = -EINVAL;
		} else {
			stat_queue(obj.hdr, kipc__obj_meta(&obj), buf);
		}
		kipc__obj_close(&obj);
		return err ? kipc__fail(err == -EIDRM ? -EINVAL : err) : 0;
	}
	err = kipc__sysv_open_owned(KIPC__OBJ_SYSV_MSG, msqid, &obj);
	if (err)
		return kipc__fail(err);
	err = hold(msqid, &q);
	if (!err)
		err = lock_queue(&q);
	if (err) {
		kipc__obj_close(&obj);
		return kipc__fail(err == -EIDRM ? -EINVAL : err);
	}
	if (cmd == IPC_SET) {
		if (buf->msg_qbytes > KIPC_MSGMNB && buf->msg_qbytes > q.m->qbytes)
			err = -EPERM;	/* as for an unprivileged caller */
		if (!err)
			err = kipc__sysv_set_perm(&obj, buf->msg_perm.uid, buf->msg_perm.gid,
						  buf->msg_perm.mode);
		if (!err)
			q.m->qbytes = buf->msg_qbytes;
		kipc_mutex_unlock(&q.m->lock);
		/* More room may let senders in. */
		kipc__futex_bump_wake(&q.m->sseq);
		kipc__sysv_release(q.ref);
	} else {
		kipc__sysv_unpublish(&obj);
		kipc__sysv_destroy(&obj);
		kipc_mutex_unlock(&q.m->lock);
		/* Every waiter wakes to EIDRM. */
		kipc__futex_bump_wake(&q.m->sseq);
		kipc__futex_bump_wake(&q.m->rseq);
		kipc__sysv_forget(q.ref);
	}
	kipc__obj_close(&obj);
	return err ? kipc__fail(err) : 0;
}

int kipc__sysv_msg_describe(struct kipc__obj *obj, struct kipc__desc *d)
{
	struct msqid_ds ds;

	stat_queue(obj->hdr, kipc__obj_meta(obj), &ds);
	d->size = ds.__msg_cbytes;
	kipc__desc_add(d, "qnum", KIPC__DESC_LIVE, "%lu", (unsigned long)ds.msg_qnum);
	kipc__desc_add(d, "cbytes", KIPC__DESC_LIVE, "%lu", (unsigned long)ds.__msg_cbytes);
	kipc__desc_add(d, "qbytes", KIPC__DESC_LIVE, "%lu", (unsigned long)ds.msg_qbytes);
	kipc__desc_add(d, "lspid", 0, "%d", ds.msg_lspid);
	kipc__desc_add(d, "lrpid", 0, "%d", ds.msg_lrpid);
	kipc__desc_add(d, "stime", 0, "%lld", (long long)ds.msg_stime);
	kipc__desc_add(d, "rtime", 0, "%lld", (long long)ds.msg_rtime);
	return 0;
}
