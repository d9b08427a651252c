// SPDX-License-Identifier: MIT
/*
 * RCU torture, in the manner of the kernel's rcutorture, bounded in wall
 * time (so a slow run, under a sanitizer or qemu, does fewer rounds rather
 * than taking longer); $KIPC_TEST_SCALE multiplies the budgets.
 *
 *  1. One published pointer: 3 readers loop rcu_read_lock,
 *     rcu_dereference, check the object (magic, a checksum of its sequence
 *     number, a payload derived from it), sometimes linger inside the section
 *     (nested sections, yields) and check it again, rcu_read_unlock.  2
 *     updaters replace the object under a mutex and retire the old one by a
 *     method chosen at random: synchronize_rcu then poison and free;
 *     call_rcu with a callback that poisons and frees; kfree_rcu; or a
 *     get_state_synchronize_rcu cookie, freeing (poisoned) once
 *     poll_state_synchronize_rcu says so.  Poison is a memset to 0x6b, as
 *     the kernel's slab poison: a reader that sees it, or a sequence number
 *     going backwards, proves a premature free.  Under AddressSanitizer any
 *     access to a freed object (kfree_rcu does not poison) is caught too.
 *  2. An RCU list and a hash table of hlists, the same entries on both: 3
 *     readers traverse with list_for_each_entry_rcu and look up buckets with
 *     hlist_for_each_entry_rcu, checking every entry they meet; 2 writers
 *     under a mutex add (list_add_rcu, list_add_tail_rcu, hlist_add_head_rcu,
 *     hlist_add_before_rcu, hlist_add_behind_rcu), remove (list_del_rcu,
 *     hlist_del_rcu) and replace (list_replace_rcu, hlist_replace_rcu)
 *     entries, retiring removed ones as above.
 *  3. 1 again, with the library's fallback for kernels without membarrier
 *     forced on (readers fence, grace periods only fence): last, since it
 *     is never switched off.
 *
 * Asserted: no poison seen, no sequence going backwards, no runaway list
 * walk, and every reader and updater made progress with every method.
 * The kernel's names throughout (<kipc/linux.h>).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kipc/linux.h>

#include "tap.h"
#include "testutil.h"

#define NREADERS  3
#define NUPDATERS 2
#define POISON    0x6b
#define MAGIC     0x52435574727565ull	/* "RCUtrue" */
#define CHECK     0x9e3779b97f4a7c15ull

enum { M_SYNC, M_CALL_RCU, M_KFREE_RCU, M_POLL, N_METHODS };
static const char *const method_name[N_METHODS] = {
	"synchronize_rcu", "call_rcu", "kfree_rcu", "polled cookie",
};

static unsigned int budget_ms = 1000;

static int stop;

static bool stopped(void)
{
	return __atomic_load_n(&stop, __ATOMIC_ACQUIRE);
}

static void add(long *p, long v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------ */
/* 1, 2: one published pointer                                              */
/* ------------------------------------------------------------------------ */

#define PAYLOAD 48

struct tobj {
	uint64_t magic;
	uint64_t seq;
	uint64_t check;			/* seq ^ CHECK */
	unsigned char payload[PAYLOAD];	/* (seq + i) & 0xff */
	struct rcu_head rh;
	struct tobj *defer_next;	/* the updater's polled list */
	unsigned long cookie;
};

static struct tobj *gp;
static pthread_mutex_t update_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t cur_seq;		/* under update_lock */

static long poison_seen, backwards_seen, cb_freed;

static bool tobj_valid(const struct tobj *p)
{
	if (!p || p->magic != MAGIC || p->check != (p->seq ^ CHECK))
		return false;
	for (int i = 0; i < PAYLOAD; i++)
		if (p->payload[i] != (unsigned char)(p->seq + (uint64_t)i))
			return false;
	return true;
}

static struct tobj *tobj_new(void)
{
	struct tobj *p = malloc(sizeof(*p));

	if (!p)
		abort();
	memset(p, 0, sizeof(*p));
	p->magic = MAGIC;
	return p;
}

/* Under update_lock: give it the next sequence number. */
static void tobj_number(struct tobj *p)
{
	p->seq = ++cur_seq;
	p->check = p->seq ^ CHECK;
	for (int i = 0; i < PAYLOAD; i++)
		p->payload[i] = (unsigned char)(p->seq + (uint64_t)i);
}

static void poison_free(struct tobj *p)
{
	memset(p, POISON, sizeof(*p));
	free(p);
}

static void tobj_cb(struct rcu_head *rh)
{
	poison_free(container_of(rh, struct tobj, rh));
	add(&cb_freed, 1);
}

struct reader_stat {
	int id;
	unsigned int seed;
	/*
	 * Short sections that look at their object twice, a little apart,
	 * and never linger: a grace period ended early frees and poisons the
	 * object while the section still holds it, and the second look sees
	 * the poison (run_fast_path()).
	 */
	bool look_twice;
	long reads, lingers, poison, backwards;
};

static void *ptr_reader(void *arg)
{
	struct reader_stat *st = arg;
	uint64_t last = 0;

	while (!stopped()) {
		struct tobj *p;

		rcu_read_lock();
		p = rcu_dereference(gp);
		if (!tobj_valid(p)) {
			st->poison++;
		} else {
			if (p->seq < last)
				st->backwards++;
			last = p->seq;
			if (st->look_twice) {
				for (int i = 0; i < 32; i++)
					kipc_barrier();
				if (!tobj_valid(p))
					st->poison++;
			} else if ((rand_r(&st->seed) & 15) == 0) {
				/* Linger: a nested section, perhaps a yield. */
				struct tobj *q;

				rcu_read_lock();
				q = rcu_dereference(gp);
				if (!tobj_valid(q))
					st->poison++;
				else if (q->seq < last)
					st->backwards++;
				else
					last = q->seq;
				if ((rand_r(&st->seed) & 3) == 0)
					sched_yield();
				for (int i = 0; i < 200; i++)
					kipc_barrier();
				rcu_read_unlock();
				if (!tobj_valid(p))	/* still in the outer section */
					st->poison++;
				st->lingers++;
			}
		}
		rcu_read_unlock();
		st->reads++;
	}
	add(&poison_seen, st->poison);
	add(&backwards_seen, st->backwards);
	return NULL;
}

struct updater_stat {
	int id;
	unsigned int seed;
	long updates, by_method[N_METHODS], poll_unfinished;
};

static void *ptr_updater(void *arg)
{
	struct updater_stat *st = arg;
	struct tobj *deferred = NULL, **dtail = &deferred;

	while (!stopped()) {
		struct tobj *n = tobj_new(), *old;
		int m = (int)(rand_r(&st->seed) % N_METHODS);

		pthread_mutex_lock(&update_lock);
		tobj_number(n);
		if (rand_r(&st->seed) & 1) {
			old = rcu_replace_pointer(gp, n, 1);
		} else {
			old = rcu_dereference_protected(gp, 1);
			rcu_assign_pointer(gp, n);
		}
		pthread_mutex_unlock(&update_lock);

		switch (m) {
		case M_SYNC:
			synchronize_rcu();
			poison_free(old);
			break;
		case M_CALL_RCU:
			call_rcu(&old->rh, tobj_cb);
			break;
		case M_KFREE_RCU:
			kfree_rcu(old, rh);
			break;
		case M_POLL:
			old->cookie = get_state_synchronize_rcu();
			old->defer_next = NULL;
			*dtail = old;
			dtail = &old->defer_next;
			break;
		}
		st->by_method[m]++;
		st->updates++;
		/* Retire what the polled cookies allow, oldest first. */
		while (deferred && poll_state_synchronize_rcu(deferred->cookie)) {
			struct tobj *p = deferred;

			deferred = p->defer_next;
			if (!deferred)
				dtail = &deferred;
			poison_free(p);
		}
	}
	/* After a full grace period every cookie must have completed. */
	synchronize_rcu();
	while (deferred) {
		struct tobj *p = deferred;

		deferred = p->defer_next;
		if (!poll_state_synchronize_rcu(p->cookie))
			st->poll_unfinished++;
		poison_free(p);
	}
	return NULL;
}

static void run_pointer_torture(const char *phase, unsigned long seed, unsigned int ms)
{
	pthread_t rt[NREADERS], ut[NUPDATERS];
	struct reader_stat rs[NREADERS];
	struct updater_stat us[NUPDATERS];
	long total_reads = 0, total_updates = 0, by_method[N_METHODS] = { 0 };
	long call_rcu_used, unfinished = 0;
	bool readers_ran = true, updaters_ran = true;

	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	poison_seen = backwards_seen = cb_freed = 0;
	gp = tobj_new();
	pthread_mutex_lock(&update_lock);
	tobj_number(gp);
	pthread_mutex_unlock(&update_lock);

	for (int i = 0; i < NREADERS; i++) {
		memset(&rs[i], 0, sizeof(rs[i]));
		rs[i].id = i;
		rs[i].seed = (unsigned int)(seed * 31 + (unsigned long)i);
		pthread_create(&rt[i], NULL, ptr_reader, &rs[i]);
	}
	for (int i = 0; i < NUPDATERS; i++) {
		memset(&us[i], 0, sizeof(us[i]));
		us[i].id = i;
		us[i].seed = (unsigned int)(seed * 17 + 1000 + (unsigned long)i);
		pthread_create(&ut[i], NULL, ptr_updater, &us[i]);
	}
	sleep_ms(ms);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NUPDATERS; i++)
		pthread_join(ut[i], NULL);
	for (int i = 0; i < NREADERS; i++)
		pthread_join(rt[i], NULL);
	rcu_barrier();

	for (int i = 0; i < NREADERS; i++) {
		total_reads += rs[i].reads;
		readers_ran = readers_ran && rs[i].reads > 0;
		diag("%s: reader %d: %ld sections, %ld lingering", phase, i, rs[i].reads,
		     rs[i].lingers);
	}
	for (int i = 0; i < NUPDATERS; i++) {
		total_updates += us[i].updates;
		updaters_ran = updaters_ran && us[i].updates > 0;
		unfinished += us[i].poll_unfinished;
		for (int m = 0; m < N_METHODS; m++)
			by_method[m] += us[i].by_method[m];
		diag("%s: updater %d: %ld updates (sync %ld, call_rcu %ld, kfree_rcu %ld, poll %ld)",
		     phase, i, us[i].updates, us[i].by_method[M_SYNC],
		     us[i].by_method[M_CALL_RCU], us[i].by_method[M_KFREE_RCU],
		     us[i].by_method[M_POLL]);
	}
	call_rcu_used = by_method[M_CALL_RCU];

	is(poison_seen, 0, "%s: no reader saw a poisoned (freed) object", phase);
	is(backwards_seen, 0, "%s: no reader saw the sequence go backwards", phase);
	ok(readers_ran && total_reads > 0, "%s: every reader made progress (%ld sections)",
	   phase, total_reads);
	ok(updaters_ran && total_updates > 0, "%s: every updater made progress (%ld updates)",
	   phase, total_updates);
	{
		bool all = true;

		for (int m = 0; m < N_METHODS; m++)
			if (by_method[m] == 0) {
				all = false;
				diag("%s: method %s never chosen", phase, method_name[m]);
			}
		ok(all, "%s: every retirement method was used", phase);
	}
	is(__atomic_load_n(&cb_freed, __ATOMIC_RELAXED), call_rcu_used,
	   "%s: after rcu_barrier every call_rcu callback has run", phase);
	is(unfinished, 0, "%s: every polled cookie completed after synchronize_rcu", phase);

	poison_free(gp);
	gp = NULL;
}

/* ------------------------------------------------------------------------ */
/* 3: an RCU list and hlist hash table                                      */
/* ------------------------------------------------------------------------ */

#define NBUCKETS 16
#define LMAX     48
#define LMAGIC   0x4c697374456e74ull	/* "ListEnt" */
#define WALK_LIMIT 100000

struct lent {
	uint64_t magic;
	uint64_t key;
	uint64_t check;			/* key ^ CHECK */
	struct list_head node;
	struct hlist_node hnode;
	struct rcu_head rh;
};

static LIST_HEAD(lhead);
static struct hlist_head buckets[NBUCKETS];
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static int lcount;			/* under list_lock */
static uint64_t next_key;		/* under list_lock */
static long lcb_freed;

static bool lent_valid(const struct lent *e)
{
	return e->magic == LMAGIC && e->check == (e->key ^ CHECK);
}

/* Under list_lock. */
static struct lent *lent_new(void)
{
	struct lent *e = malloc(sizeof(*e));

	if (!e)
		abort();
	memset(e, 0, sizeof(*e));
	e->magic = LMAGIC;
	e->key = next_key++;
	e->check = e->key ^ CHECK;
	return e;
}

static void lent_poison_free(struct lent *e)
{
	memset(e, POISON, sizeof(*e));
	free(e);
}

static void lent_cb(struct rcu_head *rh)
{
	lent_poison_free(container_of(rh, struct lent, rh));
	add(&lcb_freed, 1);
}

struct lreader_stat {
	unsigned int seed;
	long walks, lookups, entries, poison, runaway, wrong_bucket;
};

static void *list_reader(void *arg)
{
	struct lreader_stat *st = arg;

	while (!stopped()) {
		struct lent *e;
		long n = 0;
		unsigned int b;

		rcu_read_lock();
		list_for_each_entry_rcu(e, &lhead, node) {
			if (!lent_valid(e)) {
				st->poison++;
				break;	/* its links are poison too */
			}
			if (++n > WALK_LIMIT) {
				st->runaway++;
				break;
			}
			if ((rand_r(&st->seed) & 63) == 0)
				sched_yield();	/* stand on this entry a while */
		}
		rcu_read_unlock();
		st->entries += n;
		st->walks++;

		b = (unsigned int)rand_r(&st->seed) % NBUCKETS;
		n = 0;
		rcu_read_lock();
		hlist_for_each_entry_rcu(e, &buckets[b], hnode) {
			if (!lent_valid(e)) {
				st->poison++;
				break;
			}
			if (e->key % NBUCKETS != b)
				st->wrong_bucket++;
			if (++n > WALK_LIMIT) {
				st->runaway++;
				break;
			}
		}
		rcu_read_unlock();
		st->lookups++;
	}
	return NULL;
}

enum { L_ADD, L_DEL, L_REPLACE, L_NOPS };

struct lwriter_stat {
	unsigned int seed;
	long ops[L_NOPS], by_method[N_METHODS];
};

/* Under list_lock: the k-th entry of the list. */
static struct lent *nth_entry(int k)
{
	struct lent *e;

	list_for_each_entry(e, &lhead, node)
		if (k-- == 0)
			return e;
	return NULL;
}

static void lent_retire(struct lwriter_stat *st, struct lent *e)
{
	int m = (int)(rand_r(&st->seed) % 3);	/* no polled method here */

	switch (m) {
	case M_SYNC:
		synchronize_rcu();
		lent_poison_free(e);
		break;
	case M_CALL_RCU:
		call_rcu(&e->rh, lent_cb);
		break;
	default:
		kfree_rcu(e, rh);
		break;
	}
	st->by_method[m]++;
}

/* Under list_lock: hash e into its bucket, one of three ways. */
static void hash_in(struct lwriter_stat *st, struct lent *e)
{
	struct hlist_head *h = &buckets[e->key % NBUCKETS];
	struct hlist_node *first = h->first;

	switch (first ? rand_r(&st->seed) % 3 : 0) {
	case 0:
		hlist_add_head_rcu(&e->hnode, h);
		break;
	case 1:
		hlist_add_before_rcu(&e->hnode, first);
		break;
	default:
		hlist_add_behind_rcu(&e->hnode, first);
		break;
	}
}

static void *list_writer(void *arg)
{
	struct lwriter_stat *st = arg;

	while (!stopped()) {
		struct lent *victim = NULL, *e;
		int r = (int)(rand_r(&st->seed) % 8);
		int op;

		pthread_mutex_lock(&list_lock);
		if (lcount < LMAX / 4)
			op = L_ADD;
		else if (lcount >= LMAX)
			op = (r & 1) ? L_DEL : L_REPLACE;
		else
			op = r < 3 ? L_ADD : r < 6 ? L_DEL : L_REPLACE;
		switch (op) {
		case L_ADD:
			e = lent_new();
			if (r & 1)
				list_add_rcu(&e->node, &lhead);
			else
				list_add_tail_rcu(&e->node, &lhead);
			hash_in(st, e);
			lcount++;
			break;
		case L_DEL:
			victim = nth_entry((int)((unsigned int)rand_r(&st->seed) % (unsigned int)lcount));
			list_del_rcu(&victim->node);
			hlist_del_rcu(&victim->hnode);
			lcount--;
			break;
		case L_REPLACE:
			victim = nth_entry((int)((unsigned int)rand_r(&st->seed) % (unsigned int)lcount));
			e = lent_new();
			if (r & 2) {
				/* Same bucket: the new key hashes where the old one did. */
				while (e->key % NBUCKETS != victim->key % NBUCKETS)
					e->key++;
				next_key = e->key + 1;
				e->check = e->key ^ CHECK;
			}
			list_replace_rcu(&victim->node, &e->node);
			if (r & 2) {
				hlist_replace_rcu(&victim->hnode, &e->hnode);
			} else {
				hlist_del_rcu(&victim->hnode);
				hash_in(st, e);
			}
			break;
		}
		pthread_mutex_unlock(&list_lock);
		st->ops[op]++;
		if (victim)
			lent_retire(st, victim);
		else
			sched_yield();	/* let readers see the list grow */
	}
	return NULL;
}

static void run_list_torture(unsigned long seed, unsigned int ms)
{
	pthread_t rt[NREADERS], wt[NUPDATERS];
	struct lreader_stat rs[NREADERS];
	struct lwriter_stat ws[NUPDATERS];
	long poison = 0, runaway = 0, wrong = 0, walks = 0, lookups = 0, entries = 0;
	long ops[L_NOPS] = { 0 }, methods[N_METHODS] = { 0 };
	bool readers_ran = true, writers_ran = true;
	struct lent *e, *tmp;

	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	for (int b = 0; b < NBUCKETS; b++)
		INIT_HLIST_HEAD(&buckets[b]);
	for (int i = 0; i < NREADERS; i++) {
		memset(&rs[i], 0, sizeof(rs[i]));
		rs[i].seed = (unsigned int)(seed * 7 + 2000 + (unsigned long)i);
		pthread_create(&rt[i], NULL, list_reader, &rs[i]);
	}
	for (int i = 0; i < NUPDATERS; i++) {
		memset(&ws[i], 0, sizeof(ws[i]));
		ws[i].seed = (unsigned int)(seed * 13 + 3000 + (unsigned long)i);
		pthread_create(&wt[i], NULL, list_writer, &ws[i]);
	}
	sleep_ms(ms);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NUPDATERS; i++)
		pthread_join(wt[i], NULL);
	for (int i = 0; i < NREADERS; i++)
		pthread_join(rt[i], NULL);
	rcu_barrier();

	for (int i = 0; i < NREADERS; i++) {
		poison += rs[i].poison;
		runaway += rs[i].runaway;
		wrong += rs[i].wrong_bucket;
		walks += rs[i].walks;
		lookups += rs[i].lookups;
		entries += rs[i].entries;
		readers_ran = readers_ran && rs[i].walks > 0 && rs[i].lookups > 0;
	}
	for (int i = 0; i < NUPDATERS; i++) {
		bool any = false;

		for (int k = 0; k < L_NOPS; k++) {
			ops[k] += ws[i].ops[k];
			any = any || ws[i].ops[k] > 0;
		}
		for (int m = 0; m < N_METHODS; m++)
			methods[m] += ws[i].by_method[m];
		writers_ran = writers_ran && any;
	}
	diag("list: %ld walks (%ld entries seen), %ld lookups; %ld adds, %ld deletes, "
	     "%ld replaces; retired by sync %ld, call_rcu %ld, kfree_rcu %ld",
	     walks, entries, lookups, ops[L_ADD], ops[L_DEL], ops[L_REPLACE],
	     methods[M_SYNC], methods[M_CALL_RCU], methods[M_KFREE_RCU]);

	is(poison, 0, "list: no reader met a poisoned (freed) entry");
	is(runaway, 0, "list: every walk ended");
	is(wrong, 0, "list: every hlist lookup stayed in its bucket");
	ok(readers_ran && entries > 0, "list: every reader walked and looked up (%ld walks)",
	   walks);
	ok(writers_ran && ops[L_ADD] > 0 && ops[L_DEL] > 0 && ops[L_REPLACE] > 0,
	   "list: the writers added, deleted and replaced");
	ok(methods[M_SYNC] > 0 && methods[M_CALL_RCU] > 0 && methods[M_KFREE_RCU] > 0,
	   "list: removed entries retired by synchronize_rcu, call_rcu and kfree_rcu");
	is(__atomic_load_n(&lcb_freed, __ATOMIC_RELAXED), methods[M_CALL_RCU],
	   "list: after rcu_barrier every call_rcu callback has run");

	/* What is left: consistent, then freed. */
	{
		int n = 0, hn = 0;
		bool good = true;

		list_for_each_entry(e, &lhead, node) {
			good = good && lent_valid(e) && !hlist_unhashed(&e->hnode);
			n++;
		}
		for (int b = 0; b < NBUCKETS; b++) {
			struct hlist_node **pprev = &buckets[b].first;

			hlist_for_each_entry(e, &buckets[b], hnode) {
				good = good && e->key % NBUCKETS == (uint64_t)b &&
				       e->hnode.pprev == pprev;
				pprev = &e->hnode.next;
				hn++;
			}
		}
		ok(good && n == lcount && hn == lcount,
		   "list: at the end the list and the hash table hold the same %d entries", lcount);
	}
	list_for_each_entry_safe(e, tmp, &lhead, node) {
		list_del(&e->node);
		hlist_del(&e->hnode);
		lent_poison_free(e);
	}
	lcount = 0;
}

/* ------------------------------------------------------------------------ */
/* 4: grace periods that end without membarrier                             */
/* ------------------------------------------------------------------------ */

extern unsigned long kipc__rcu_fast_gps;	/* src/sync/rcu.c */

/*
 * One reader and one updater that replaces, synchronizes and poisons: with
 * the reader entering sections on the other CPU, grace periods end on the
 * fast path (every reader seen with the new number, no membarrier), which
 * the runs above, with more threads than CPUs, rarely take.  A poisoned
 * object seen here means the fast path ended a grace period too early.
 */
static void run_fast_path(unsigned long seed, unsigned int ms)
{
	struct reader_stat rs = { .id = 0, .seed = (unsigned int)seed, .look_twice = true };
	unsigned long fast0 = kipc__rcu_fast_gps;
	long updates = 0;
	double end;
	pthread_t t;

	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	poison_seen = backwards_seen = 0;
	gp = tobj_new();
	pthread_mutex_lock(&update_lock);
	tobj_number(gp);
	pthread_mutex_unlock(&update_lock);
	pthread_create(&t, NULL, ptr_reader, &rs);
	for (end = now() + ms / 1000.0; now() < end; updates++) {
		struct tobj *n = tobj_new(), *old;

		pthread_mutex_lock(&update_lock);
		tobj_number(n);
		old = rcu_dereference_protected(gp, 1);
		rcu_assign_pointer(gp, n);
		pthread_mutex_unlock(&update_lock);
		synchronize_rcu();
		poison_free(old);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	poison_free(gp);
	gp = NULL;
	diag("fast path: %ld updates, %lu grace periods without membarrier, %ld sections",
	     updates, kipc__rcu_fast_gps - fast0, rs.reads);
	is(poison_seen, 0, "fast path: the reader never saw a poisoned (freed) object");
	is(backwards_seen, 0, "fast path: ... nor the sequence go backwards");
	ok(kipc__rcu_fast_gps - fast0 > 0,
	   "fast path: grace periods did end without membarrier (%lu of %ld)",
	   kipc__rcu_fast_gps - fast0, updates);
}

int main(void)
{
	const char *scale = getenv("KIPC_TEST_SCALE");
	unsigned long seed = tap_seed();
	double t0 = now();

	if (scale && strtod(scale, NULL) > 0)
		budget_ms = (unsigned int)(1000 * strtod(scale, NULL));
	if (budget_ms < 50)
		budget_ms = 50;
	alarm(60 + 10 * budget_ms / 1000);	/* a hang ends the run */
	diag("%u ms budget; %d readers, %d updaters; membarrier %s", budget_ms, NREADERS,
	     NUPDATERS, kipc_rcu_reader_fence ? "unavailable (readers fence)" : "in use");

	run_pointer_torture("pointer", seed, budget_ms);
	run_list_torture(seed, budget_ms * 7 / 10);
	if (!kipc_rcu_reader_fence)
		run_fast_path(seed, budget_ms * 5 / 10);
	else
		ok(1, "# SKIP fast path: membarrier unavailable (readers fence)");

	/*
	 * The library's fallback where membarrier(2) is unavailable: readers
	 * fence and grace periods do not call membarrier.  Forced on here (and
	 * left on: it is never switched off), no reader thread running.
	 */
	if (!kipc_rcu_reader_fence)
		__atomic_store_n(&kipc_rcu_reader_fence, true, __ATOMIC_SEQ_CST);
	run_pointer_torture("fallback (reader fence)", seed + 1, budget_ms * 4 / 10);

	diag("%.1f s", now() - t0);
	return done_testing();
}
