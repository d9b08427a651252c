// SPDX-License-Identifier: MIT
/*
 * A lock-free FIFO semaphore with direct hand-off; the contract is in
 * <kipc/semaphore.h>, the argument in docs/semaphore.md.
 *
 * state = count | tail << 32 | head << 48, one 64-bit word:
 *   count  free units (KIPC__SEM_ALL: infinite, for complete_all())
 *   tail   the next ticket to give a waiter
 *   head   the oldest ticket not yet decided
 * Tickets head..tail-1 are waiters in arrival order; whenever one exists the
 * count is 0, because up() hands its unit to the head instead of counting it.
 *
 * Each ticket t is decided exactly once, in slot[t % N], by whichever
 * compare-exchange comes first: up() writes GRANT(t) (the unit is t's), a
 * waiter giving up writes CANCEL(t) (t left; up() skips it).  Then head moves
 * past t, by the decider or by anyone who finds the slot decided and helps,
 * so a process killed between the two steps stalls no one.  A granted
 * waiter acknowledges with TAKEN(t); a grant whose waiter died first is
 * RECLAIMED(t) and passed on.  At most N tickets are outstanding (tail - head < N), so a slot
 * is never reused before its ticket is decided, and a downer waits for a
 * grant to be taken or reclaimed before it reuses its slot; extra waiters
 * sleep until a ticket frees.  A slot therefore holds, while its ticket t is undecided, the
 * decision of an older ticket (at most 2N older), which is how an up() that
 * read a stale head tells that the slot is no longer that head's.
 *
 * Ordering: a unit passes from up() to down() either through the count
 * (compare-exchange of state, release in up, acquire in down) or through the
 * slot (release compare-exchange in up, acquire load in the waiter), so what
 * the upper did before up() happens before what the downer does after.
 */
#include <errno.h>
#include <limits.h>
#include <kipc/barrier.h>
#include "futex.h"
#include "sem.h"
#include "spin.h"
#include "task.h"
#include "timeout.h"

/* How long a waiter spins before it sleeps. */
#define SPIN_NS 5000
/* How often a waiter on a shared semaphore looks again while it sleeps. */
#define PROBE_NS 100000000ull
/* How often a downer looks at a slot whose last grant is not yet taken. */
#define REUSE_POLL_NS 1000000ull

#define N KIPC_SEM_FIFO_WAITERS

#define COUNT(s)  ((uint32_t)(s))
#define TAIL(s)   ((uint16_t)((s) >> 32))
#define HEAD(s)   ((uint16_t)((s) >> 48))
#define STATE(c, t, h) ((uint64_t)(c) | (uint64_t)(uint16_t)(t) << 32 | \
			(uint64_t)(uint16_t)(h) << 48)

/* Slot values: a ticket and what became of it; 0: never used. */
#define GRANT(t)     ((uint32_t)(uint16_t)(t) << 3 | 1u)	/* the unit is t's */
#define CANCEL(t)    ((uint32_t)(uint16_t)(t) << 3 | 2u)	/* t gave up */
#define TAKEN(t)     ((uint32_t)(uint16_t)(t) << 3 | 3u)	/* t has its unit */
#define RECLAIMED(t) ((uint32_t)(uint16_t)(t) << 3 | 4u)	/* t died granted */
#define TICKET(v)    ((uint16_t)((v) >> 3))
#define KIND(v)      ((v) & 7u)
/*
 * Set by a waiter on its undecided slot before it sleeps there: only then
 * does the granter pay for a FUTEX_WAKE.  A spinning waiter costs no syscall.
 */
#define SLEEPER      0x80000000u

/*
 * Tickets count modulo TICKETS, the largest multiple of N that fits in 16
 * bits, so that ticket t's slot, t % N, is the same across the wrap (with
 * 2^16 tickets and 12 slots, ticket 0 would share ticket 65532's slot).
 */
#define TICKETS KIPC__SEM_TICKETS

static uint16_t next_ticket(uint16_t t)
{
	return t + 1u == TICKETS ? 0 : (uint16_t)(t + 1u);
}

/* a - b, counting modulo TICKETS. */
static uint16_t dist(uint16_t a, uint16_t b)
{
	return (uint16_t)(((uint32_t)a + TICKETS - b) % TICKETS);
}

/*
 * Ticket a is after ticket b: for tickets within half a round of each other,
 * as a slot's and the head are when grant_head() checks (it re-reads head).
 */
static bool after(uint16_t a, uint16_t b)
{
	uint16_t d = dist(a, b);

	return d != 0 && d < TICKETS / 2;
}

static int futex_flags(const struct kipc_semaphore *sem)
{
	return (sem->flags & KIPC_PSHARED) ? KIPC__FUTEX_SHARED : 0;
}

/* The 32-bit half of state that holds tail and head: a futex word. */
static uint32_t *tickets_word(struct kipc_semaphore *sem)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (uint32_t *)(void *)&sem->state + 1;
#else
	return (uint32_t *)(void *)&sem->state;
#endif
}

static uint64_t load_state(struct kipc_semaphore *sem)
{
	return __atomic_load_n(&sem->state, __ATOMIC_ACQUIRE);
}

static bool cas_state(struct kipc_semaphore *sem, uint64_t old, uint64_t new)
{
	return __atomic_compare_exchange_n(&sem->state, &old, new, 0,
					   __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

void kipc_sema_init_flags(struct kipc_semaphore *sem, int val, unsigned int flags)
{
	*sem = (struct kipc_semaphore)KIPC__SEMAPHORE_INITIALIZER(val < 0 ? 0 : val);
	sem->flags = flags & KIPC_PSHARED;
}

uint32_t kipc__sem_count(const struct kipc_semaphore *sem)
{
	return COUNT(__atomic_load_n(&sem->state, __ATOMIC_RELAXED));
}

/* Ticket t is decided: move head past it, unless someone already has. */
static void advance(struct kipc_semaphore *sem, uint16_t t, uint64_t s)
{
	while (HEAD(s) == t) {
		/*
		 * Sequentially consistent, the exchange and the load of
		 * overflow: against the full barrier in wait_overflow(), either
		 * we see its count, or its futex wait sees the new head.  (A
		 * locked cmpxchg then a plain load on x86, casal or stlxr then
		 * ldar on arm64: no separate fence.)
		 */
		if (__atomic_compare_exchange_n(&sem->state, &s,
						STATE(COUNT(s), TAIL(s), next_ticket(t)), 0,
						__ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
			if (__atomic_load_n(&sem->overflow, __ATOMIC_SEQ_CST))
				kipc__futex_wake(tickets_word(sem), INT_MAX, futex_flags(sem));
			return;
		}
		s = load_state(sem);
	}
}

/*
 * A granted ticket whose waiter died before taking its unit (shared
 * semaphores): take the grant back and give the unit to the next in line.
 * The record names the ticket and a TID written just before the ticket
 * was taken: a neighbour that raced for the same ticket may have written
 * last.  If that neighbour lives, nothing happens (the unit stays lost if
 * the real waiter died); if it died, a live waiter's grant may be taken
 * back, but then its acknowledgement fails and it queues again.
 */
static void reclaim(struct kipc_semaphore *sem, uint32_t v)
{
	uint64_t who = __atomic_load_n(&sem->waiter[TICKET(v) % N], __ATOMIC_RELAXED);
	uint32_t tid = (uint32_t)who;

	if (KIND(v) != 1u || (uint16_t)(who >> 32) != TICKET(v) || !tid ||
	    kipc__task_alive(tid, 0))
		return;
	if (__atomic_compare_exchange_n(&sem->slot[TICKET(v) % N], &v, RECLAIMED(TICKET(v)), 0,
					__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		kipc__sem_up(sem);
}

/* Every granted, untaken slot: its waiter may have died (shared only). */
static void reclaim_all(struct kipc_semaphore *sem)
{
	for (unsigned int i = 0; i < N; i++)
		reclaim(sem, __atomic_load_n(&sem->slot[i], __ATOMIC_ACQUIRE));
}

/*
 * Take the unit granted to ticket t: 1 taken, -1 reclaimed meanwhile (the
 * caller must queue again).  The acknowledgement lets the slot be reused,
 * and on a shared semaphore it is a compare-exchange, because reclaim()
 * may judge a live waiter dead (its record names a neighbour that raced for
 * the same ticket and died): the exchange then fails and the waiter queues
 * again, so a unit is never used twice.  A private semaphore reclaims
 * nothing: a plain store, which does not hold the waiter up while the line
 * comes back.  Head is not moved here: up() moves it right after its grant,
 * and if that up() died in between, the next up() finds the slot decided
 * and moves it (grant_head()).
 */
static int take_grant(struct kipc_semaphore *sem, uint16_t t)
{
	uint32_t v = GRANT(t);

	if (!(sem->flags & KIPC_PSHARED)) {
		__atomic_store_n(&sem->slot[t % N], TAKEN(t), __ATOMIC_RELEASE);
		return 1;
	}
	if (__atomic_compare_exchange_n(&sem->slot[t % N], &v, TAKEN(t), 0,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return 1;
	return v == RECLAIMED(t) ? -1 : 1;
}

/*
 * Ticket t granted?  1 yes (unit taken), 0 not yet, -1 the grant was
 * reclaimed (the caller must queue again).  Returns in *v the slot value
 * read first, so that a sleep on it is woken by any decision made after the
 * check.  Every grant is written in the slot (complete_all() too) and the
 * slot keeps it until acknowledged, so a waiter that finds head past t
 * reads its slot again: GRANT(t) is its unit, anything else means the
 * grant was reclaimed and the slot, now final, may already serve another.
 */
static int granted(struct kipc_semaphore *sem, uint16_t t, uint32_t *v)
{
	uint32_t *slot = &sem->slot[t % N], w;

	*v = w = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (w != GRANT(t) && w != RECLAIMED(t)) {
		if (!after(HEAD(load_state(sem)), t))
			return 0;
		w = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	}
	return w == GRANT(t) ? take_grant(sem, t) : -1;
}

/*
 * Give up ticket t.  Returns true if it is withdrawn, false if it was
 * granted first (the caller then holds the unit).
 */
static bool cancel(struct kipc_semaphore *sem, uint16_t t)
{
	for (;;) {
		uint32_t v;
		int g = granted(sem, t, &v);

		if (g)
			return g < 0;
		if (__atomic_compare_exchange_n(&sem->slot[t % N], &v, CANCEL(t), 0,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			break;
	}
	advance(sem, t, load_state(sem));	/* we may be the head: do not wait for an up() */
	return true;
}

/*
 * Sleeps on word while it holds val.  The kernel restarts a futex wait
 * without a timeout after a handler installed with SA_RESTART, so an
 * interruptible wait would never see -EINTR; a wait with a timeout is never
 * restarted (the handler makes it return -EINTR).  So an interruptible wait
 * without a deadline gets one that never comes.
 */
static int sleep_on(struct kipc_semaphore *sem, uint32_t *word, uint32_t val,
		    const struct timespec *deadline, bool interruptible)
{
	static const struct timespec never = { .tv_sec = INT_MAX };
	struct timespec probe;
	const struct timespec *dl = deadline;
	int r;

	if (sem->flags & KIPC_PSHARED) {
		/*
		 * A process killed between deciding our slot and waking it
		 * would leave us asleep with the unit: look again now and then.
		 */
		kipc__deadline_after(&probe, PROBE_NS);
		if (!dl || kipc__ts_before(&probe, dl))
			dl = &probe;
	} else if (!dl && interruptible) {
		dl = &never;
	}
	r = kipc__futex_wait(word, val, dl, futex_flags(sem) | (dl ? KIPC__FUTEX_ABS : 0));
	/* Only the probe expired: -EALREADY asks the caller to look around. */
	return r == -ETIMEDOUT && dl == &probe ? -EALREADY : r;
}

static int wait_ticket(struct kipc_semaphore *sem, uint16_t t,
		       const struct timespec *deadline, bool interruptible)
{
	uint32_t *slot = &sem->slot[t % N];
	struct kipc__spinwait w;
	uint32_t v;

	/*
	 * Spin briefly first: when the other side is running, its up() comes
	 * within microseconds, and a futex sleep and wake-up costs tens.
	 */
	kipc__spinwait_init(&w);
	while (kipc__spinwait_elapsed(&w) < SPIN_NS) {
		/*
		 * The slot alone, mostly: every grant is written there, and
		 * reading state too at each turn would pull the line back
		 * and forth while up() writes it.
		 */
		v = __atomic_load_n(slot, __ATOMIC_RELAXED);
		if (v == GRANT(t) || v == RECLAIMED(t) || w.steps % 64 == 63) {
			int g = granted(sem, t, &v);

			if (g)
				return g > 0 ? 0 : -EAGAIN;
		}
		kipc__spinwait_relax(&w);
	}
	for (;;) {
		int g = granted(sem, t, &v), r;

		if (g)
			return g > 0 ? 0 : -EAGAIN;
		/* Say we sleep; a decision made meanwhile fails the exchange. */
		if (!(v & SLEEPER) &&
		    !__atomic_compare_exchange_n(slot, &v, v | SLEEPER, 0,
						 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			continue;
		r = sleep_on(sem, slot, v | SLEEPER, deadline, interruptible);
		if (r == -ETIMEDOUT || (r == -EINTR && interruptible))
			return cancel(sem, t) ? r : 0;
		if (r == -EALREADY)
			reclaim_all(sem);
	}
}

/* More than N waiters: sleep until head moves and a ticket frees. */
static int wait_overflow(struct kipc_semaphore *sem, uint64_t s,
			 const struct timespec *deadline, bool interruptible)
{
	int r;

	__atomic_fetch_add(&sem->overflow, 1, __ATOMIC_RELAXED);
	kipc_smp_mb();	/* see advance() */
	r = sleep_on(sem, tickets_word(sem), (uint32_t)(s >> 32), deadline, interruptible);
	__atomic_fetch_sub(&sem->overflow, 1, __ATOMIC_RELAXED);
	if (r == -ETIMEDOUT || (r == -EINTR && interruptible))
		return r;
	if (r == -EALREADY)
		reclaim_all(sem);
	return 0;
}

/*
 * The slot of the next ticket still holds an older grant not yet taken:
 * wait for its waiter to take it (or, shared, reclaim it from the dead).
 */
static int wait_reuse(struct kipc_semaphore *sem, uint32_t v,
		      const struct timespec *deadline, bool interruptible)
{
	struct timespec poll;
	int r;

	if (sem->flags & KIPC_PSHARED)
		reclaim(sem, v);
	kipc__deadline_after(&poll, REUSE_POLL_NS);
	if (deadline && kipc__ts_before(deadline, &poll))
		poll = *deadline;
	r = kipc__futex_wait(&sem->slot[TICKET(v) % N], v, &poll,
			     futex_flags(sem) | KIPC__FUTEX_ABS);
	if ((r == -ETIMEDOUT && deadline && !kipc__ts_before(&poll, deadline)) ||
	    (r == -EINTR && interruptible))
		return r;
	return 0;
}

int kipc__sem_trydown(struct kipc_semaphore *sem)
{
	uint64_t s = load_state(sem);

	for (;;) {
		uint32_t c = COUNT(s);

		if (c == KIPC__SEM_ALL)
			return 1;
		if (c == 0 || TAIL(s) != HEAD(s))
			return 0;
		if (cas_state(sem, s, STATE(c - 1, TAIL(s), HEAD(s))))
			return 1;
		s = load_state(sem);
	}
}

/* Out of line, so that the uncontended down and up need no stack frame. */
__attribute__((noinline))
static int down_slow(struct kipc_semaphore *sem, const struct timespec *deadline,
		     bool interruptible)
{
	for (;;) {
		uint64_t s = load_state(sem);
		uint32_t c = COUNT(s), v;
		uint16_t t = TAIL(s), h = HEAD(s);
		int r;

		if (c == KIPC__SEM_ALL)
			return 0;
		if (c > 0 && t == h) {
			if (cas_state(sem, s, STATE(c - 1, t, h)))
				return 0;
			continue;
		}
		if (dist(t, h) >= N) {
			r = wait_overflow(sem, s, deadline, interruptible);
			if (r)
				return r;
			continue;
		}
		v = __atomic_load_n(&sem->slot[t % N], __ATOMIC_ACQUIRE);
		if (KIND(v) == 1u) {
			r = wait_reuse(sem, v, deadline, interruptible);
			if (r)
				return r;
			continue;
		}
		/*
		 * Whose ticket t is, written before it is ours: a waiter killed
		 * right after taking it is then found (reclaim()).  A neighbour
		 * racing for the same ticket may write last; see reclaim().
		 */
		if (sem->flags & KIPC_PSHARED)
			__atomic_store_n(&sem->waiter[t % N], (uint64_t)t << 32 | kipc__gettid(),
					 __ATOMIC_RELAXED);
		if (cas_state(sem, s, STATE(c, next_ticket(t), h))) {
			r = wait_ticket(sem, t, deadline, interruptible);
			if (r != -EAGAIN)
				return r;
			/* Our grant was reclaimed: queue again. */
		}
	}
}

/*
 * The uncontended down: a free unit and nobody queued, one compare-exchange
 * (everything else is down_slow(), which starts over from a fresh load).
 * Inlined, the slow loop made this path save six registers and open a
 * stack frame, a tenth of a down+up pair here.  Not kipc__sem_trydown()
 * inlined: its retry loop measured 3-5% slower on down+up.
 */
int kipc__sem_down(struct kipc_semaphore *sem, const struct timespec *deadline,
		   bool interruptible)
{
	uint64_t s = load_state(sem);
	uint32_t c = COUNT(s);

	if (kipc_likely(c != KIPC__SEM_ALL && c > 0 && TAIL(s) == HEAD(s) &&
			cas_state(sem, s, STATE(c - 1, TAIL(s), HEAD(s)))))
		return 0;
	return down_slow(sem, deadline, interruptible);
}

/*
 * Hand a unit to the head ticket of s.  Returns false if s was stale or the
 * head was decided already (the caller reloads and tries again).
 */
static bool grant_head(struct kipc_semaphore *sem, uint64_t s)
{
	uint16_t h = HEAD(s);
	uint32_t *slot = &sem->slot[h % N];
	uint32_t v = __atomic_load_n(slot, __ATOMIC_ACQUIRE), d = v & ~SLEEPER;

	if (d && TICKET(d) == h) {
		/* Decided already (a waiter that left, or another up). */
		advance(sem, h, load_state(sem));
		return false;
	}
	/*
	 * s may be stale: h long decided and the slot reused by a later
	 * ticket.  Only a slot holding an older ticket's decision (or none) is
	 * h's to decide, and only while h is still the head once the slot is
	 * read (acquire: the reload comes after): s may be so old that the
	 * tickets went half round and after() would misjudge the slot.  The
	 * exchange then succeeds only on the value read while h was the head.
	 */
	if (d && !after(h, TICKET(d)))
		return false;
	s = load_state(sem);
	if (HEAD(s) != h)
		return false;
	if (!__atomic_compare_exchange_n(slot, &v, GRANT(h), 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return false;
	advance(sem, h, s);
	if (v & SLEEPER)
		kipc__futex_wake(slot, INT_MAX, futex_flags(sem));
	return true;
}

/* No waiter in s: count the unit (saturating short of "infinite"). */
static bool count_unit(struct kipc_semaphore *sem, uint64_t s)
{
	uint32_t c = COUNT(s);

	return cas_state(sem, s, STATE(c + 1 == KIPC__SEM_ALL ? c : c + 1, HEAD(s), HEAD(s)));
}

__attribute__((noinline))
static void up_slow(struct kipc_semaphore *sem)
{
	for (;;) {
		uint64_t s = load_state(sem);
		uint32_t c = COUNT(s);
		uint16_t h = HEAD(s);

		if (c == KIPC__SEM_ALL)
			return;
		if (TAIL(s) == h) {
			if (count_unit(sem, s))
				return;
			continue;
		}
		if (grant_head(sem, s))
			return;
	}
}

/* The uncontended up, as kipc__sem_down(): nobody queued, one compare-exchange. */
void kipc__sem_up(struct kipc_semaphore *sem)
{
	uint64_t s = load_state(sem);

	if (kipc_likely(COUNT(s) != KIPC__SEM_ALL && TAIL(s) == HEAD(s) && count_unit(sem, s)))
		return;
	up_slow(sem);
}

void kipc__sem_up_all(struct kipc_semaphore *sem)
{
	uint64_t s = load_state(sem);

	/* Infinite count: no new waiter queues ... */
	while (!cas_state(sem, s, STATE(KIPC__SEM_ALL, TAIL(s), HEAD(s))))
		s = load_state(sem);
	/* ... and every queued one gets a grant of its own. */
	for (s = load_state(sem); TAIL(s) != HEAD(s); s = load_state(sem))
		grant_head(sem, s);
	kipc_smp_mb();	/* see advance() */
	if (__atomic_load_n(&sem->overflow, __ATOMIC_RELAXED))
		kipc__futex_wake(tickets_word(sem), INT_MAX, futex_flags(sem));
}

void kipc__sem_reset(struct kipc_semaphore *sem)
{
	uint64_t s = load_state(sem);

	while (!cas_state(sem, s, STATE(0, TAIL(s), HEAD(s))))
		s = load_state(sem);
}

void kipc__jiffies_deadline(struct timespec *ts, long jiffies)
{
	kipc__deadline_after(ts, jiffies < 0 ? 0 : (uint64_t)jiffies * (1000000000u / KIPC_HZ));
}

long kipc__jiffies_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(deadline->tv_sec - now.tv_sec) * 1000000000LL +
	     (deadline->tv_nsec - now.tv_nsec);
	return ns <= 0 ? 0 : (long)((ns + 999999) / 1000000);
}

/* ---- the kernel API ---- */

void kipc_down(struct kipc_semaphore *sem)
{
	kipc__sem_down(sem, NULL, false);
}

int kipc_down_interruptible(struct kipc_semaphore *sem)
{
	return kipc__sem_down(sem, NULL, true);
}

int kipc_down_killable(struct kipc_semaphore *sem)
{
	return kipc__sem_down(sem, NULL, true);
}

int kipc_down_trylock(struct kipc_semaphore *sem)
{
	return !kipc__sem_trydown(sem);
}

int kipc_down_timeout(struct kipc_semaphore *sem, long jiffies)
{
	struct timespec deadline;

	if (jiffies == KIPC_MAX_SCHEDULE_TIMEOUT) {
		kipc_down(sem);
		return 0;
	}
	kipc__jiffies_deadline(&deadline, jiffies);
	return kipc__sem_down(sem, &deadline, false) ? -ETIME : 0;
}

void kipc_up(struct kipc_semaphore *sem)
{
	kipc__sem_up(sem);
}
