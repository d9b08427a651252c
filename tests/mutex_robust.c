// SPDX-License-Identifier: MIT
/*
 * Robust process-shared mutexes (KIPC_PSHARED in MAP_SHARED memory): an
 * owner process killed with SIGKILL, or leaving with _exit() without
 * unlocking, hands the next locker -EOWNERDEAD holding the lock, within a
 * bounded time, also while the dead owner is still an unreaped zombie;
 * kipc_mutex_consistent() repairs it (and is -EINVAL on a healthy mutex);
 * unlocking without it leaves the mutex -ENOTRECOVERABLE for everyone.
 * Waiters asleep in other processes when the owner dies recover one after
 * the other; processes killed at random instants while hammering the mutex
 * never wedge it; an owner thread that exits is noticed too.
 *
 * Every fork() happens before this process creates a thread
 * (ThreadSanitizer does not support fork() after threads).
 */
#include <kipc/mutex.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "testutil.h"

/* The owner word's "someone sleeps" bit (src/sync/mutex.c); only waited for. */
#define OWNER_WAITERS 0x80000000u

/* How soon a dead owner must be noticed: KIPC_MUTEX_PROBE_MS, generously. */
#define RECOVER_S 2.0

#define NWAITERS 3

struct area {
	struct kipc_mutex m;
	volatile int inside;		/* the "protected state": 1 while held */
	long counter;			/* under m */
	int stop;
	int ready[NWAITERS];
	int result[NWAITERS];
	int consistent[NWAITERS];
	double took[NWAITERS];
	long rounds[2];
	int bad[2];
	int recovered[2];
};

static struct area *area;

/* Waits until a (killed) child has died, without reaping it. */
static bool wait_dead_unreaped(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == pid;
}

static void reset_area(void)
{
	memset(area, 0, sizeof(*area));
	kipc_mutex_init_flags(&area->m, KIPC_PSHARED);
}

/*
 * A child that locks the mutex, marks the protected state busy, tells the
 * parent through a pipe, and then either waits to be killed (hold) or
 * leaves with _exit() still holding it.  Returns its pid once it holds the
 * lock, or -1.
 */
static pid_t spawn_owner(bool hold)
{
	int fds[2];
	pid_t pid;
	char c = 0;
	struct pollfd pfd;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		if (kipc_mutex_lock(&area->m) != 0)
			_exit(3);
		area->inside = 1;
		if (write(fds[1], "L", 1) != 1)
			_exit(4);
		if (hold)
			for (;;)
				pause();
		_exit(0);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	if (pid < 0 || poll(&pfd, 1, 5000) != 1 || read(fds[0], &c, 1) != 1 || c != 'L') {
		diag("the owner child did not take the mutex");
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		pid = -1;
	}
	close(fds[0]);
	return pid;
}

/* ------------------------------------------------------------------------ */

static void test_consistent_healthy(void)
{
	struct kipc_mutex priv;

	reset_area();
	is(kipc_mutex_consistent(&area->m), -EINVAL,
	   "consistent on a healthy unlocked mutex: -EINVAL");
	is(kipc_mutex_lock(&area->m), 0, "a healthy shared mutex: lock returns 0");
	is(kipc_mutex_consistent(&area->m), -EINVAL,
	   "consistent on a healthy mutex we hold: -EINVAL");
	kipc_mutex_unlock(&area->m);
	is(kipc_mutex_lock(&area->m), 0, "... and it did not change its state");
	kipc_mutex_unlock(&area->m);

	kipc_mutex_init(&priv);
	kipc_mutex_lock(&priv);
	is(kipc_mutex_consistent(&priv), -EINVAL, "consistent on a private mutex: -EINVAL");
	kipc_mutex_unlock(&priv);
}

/* The owner is killed and is a zombie: the parent's lock recovers it. */
static void test_killed_zombie(void)
{
	pid_t owner, other;
	double t0, dt;
	int r, status;

	reset_area();
	owner = spawn_owner(true);
	if (owner < 0) {
		ok(0, "killed owner: spawn");
		return;
	}
	ok(kipc_mutex_is_locked(&area->m), "killed owner: the child holds the mutex");
	kill(owner, SIGKILL);
	ok(wait_dead_unreaped(owner), "killed owner: the child died (not reaped yet)");
	ok(task_state(owner, owner) == 'Z', "killed owner: it is a zombie (state %c)",
	   task_state(owner, owner));

	t0 = now();
	r = kipc_mutex_lock(&area->m);
	dt = now() - t0;
	is(r, -EOWNERDEAD, "killed owner, zombie: lock returns -EOWNERDEAD");
	ok(dt < RECOVER_S, "killed owner, zombie: within %.0f ms", dt * 1e3);
	ok(kipc_mutex_is_locked(&area->m), "killed owner: the caller holds the mutex");
	ok(area->inside == 1, "killed owner: the protected state is as the owner left it");
	area->inside = 0;		/* the repair */
	is(kipc_mutex_consistent(&area->m), 0, "killed owner: consistent returns 0");
	is(kipc_mutex_consistent(&area->m), -EINVAL, "killed owner: a second consistent: -EINVAL");
	kipc_mutex_unlock(&area->m);
	ok(!kipc_mutex_is_locked(&area->m), "killed owner: unlocked after repair");

	t0 = now();
	r = kipc_mutex_lock(&area->m);
	dt = now() - t0;
	is(r, 0, "killed owner: after repair, lock returns 0");
	ok(dt < 0.5, "killed owner: at once (%.1f ms)", dt * 1e3);
	kipc_mutex_unlock(&area->m);
	is(kipc_mutex_trylock(&area->m), 1, "killed owner: trylock returns 1");
	kipc_mutex_unlock(&area->m);

	/* another process uses it normally too */
	other = fork();
	if (other == 0)
		_exit(kipc_mutex_lock(&area->m) == 0 && (kipc_mutex_unlock(&area->m), 1) ? 0 : 1);
	ok(child_exited_ok(child_status(other, 5.0)), "killed owner: another process locks it with 0");

	status = child_status(owner, 5.0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	   "killed owner: the child had died of SIGKILL (status %#x)", status);
}

/*
 * The parent sleeps in lock when the owner is killed (by a helper child);
 * the owner stays an unreaped zombie meanwhile.
 */
static void test_killed_while_waiting(void)
{
	pid_t owner, killer;
	double t0, dt;
	int r;

	reset_area();
	owner = spawn_owner(true);
	if (owner < 0) {
		ok(0, "killed while waiting: spawn");
		return;
	}
	killer = fork();
	if (killer == 0) {
		sleep_ms(200);
		kill(owner, SIGKILL);
		_exit(0);
	}
	t0 = now();
	r = kipc_mutex_lock_interruptible(&area->m);
	dt = now() - t0;
	is(r, -EOWNERDEAD, "killed while waiting: lock_interruptible returns -EOWNERDEAD");
	ok(dt > 0.1 && dt < 0.2 + RECOVER_S,
	   "killed while waiting: after the kill at 200 ms, at %.0f ms", dt * 1e3);
	ok(task_state(owner, owner) == 'Z', "killed while waiting: the owner was still a zombie");
	area->inside = 0;
	is(kipc_mutex_consistent(&area->m), 0, "killed while waiting: consistent returns 0");
	kipc_mutex_unlock(&area->m);
	is(kipc_mutex_lock(&area->m), 0, "killed while waiting: then lock returns 0");
	kipc_mutex_unlock(&area->m);
	ok(child_exited_ok(child_status(killer, 5.0)), "killed while waiting: the killer child exited");
	child_status(owner, 5.0);
}

/*
 * The owner leaves with _exit() holding the mutex and is reaped; the next
 * locker does not repair it, so the mutex becomes unrecoverable.
 */
static void test_not_recovered(void)
{
	pid_t owner, other;
	double t0, dt;
	int r, status;

	reset_area();
	owner = spawn_owner(false);
	if (owner < 0) {
		ok(0, "exited owner: spawn");
		return;
	}
	status = child_status(owner, 5.0);
	ok(child_exited_ok(status), "exited owner: the child left with _exit(0) holding the mutex");
	ok(kipc_mutex_is_locked(&area->m), "exited owner: the mutex is still marked held");

	t0 = now();
	r = kipc_mutex_lock(&area->m);
	dt = now() - t0;
	is(r, -EOWNERDEAD, "exited owner, reaped: lock returns -EOWNERDEAD");
	ok(dt < RECOVER_S, "exited owner: within %.0f ms", dt * 1e3);
	/* unlock without kipc_mutex_consistent() */
	kipc_mutex_unlock(&area->m);

	t0 = now();
	is(kipc_mutex_lock(&area->m), -ENOTRECOVERABLE,
	   "not repaired: lock returns -ENOTRECOVERABLE");
	is(kipc_mutex_lock_interruptible(&area->m), -ENOTRECOVERABLE,
	   "not repaired: lock_interruptible returns -ENOTRECOVERABLE");
	is(kipc_mutex_trylock(&area->m), 0, "not repaired: trylock returns 0");
	is(kipc_mutex_lock(&area->m), -ENOTRECOVERABLE, "not repaired: and lock again too");
	is(kipc_mutex_consistent(&area->m), -EINVAL, "not repaired: consistent is -EINVAL");
	/* careless code unlocks whatever lock returned: that changes nothing */
	kipc_mutex_unlock(&area->m);
	is(kipc_mutex_lock(&area->m), -ENOTRECOVERABLE,
	   "not repaired: still -ENOTRECOVERABLE after an unlock that ignored it");
	dt = now() - t0;
	ok(dt < 0.5, "not repaired: all without waiting (%.1f ms)", dt * 1e3);

	other = fork();
	if (other == 0) {
		r = kipc_mutex_lock(&area->m);
		_exit(r == -ENOTRECOVERABLE ? 0 : r == 0 ? 1 : 2);
	}
	status = child_status(other, 5.0);
	ok(child_exited_ok(status), "not repaired: another process gets -ENOTRECOVERABLE too "
	   "(status %#x)", status);

	kipc_mutex_init_flags(&area->m, KIPC_PSHARED);
	is(kipc_mutex_lock(&area->m), 0, "initialised again: lock returns 0");
	kipc_mutex_unlock(&area->m);
}

/*
 * Waiters asleep in NWAITERS processes when the owner is killed: one gets
 * -EOWNERDEAD and repairs, the others get the mutex after, in turn.
 */
static void test_sleeping_waiters(void)
{
	pid_t owner, w[NWAITERS];
	int i, dead = 0, zero = 0, clean = 0, asleep = 0, cons_ok = 0;
	double end, t_kill, worst = 0;

	reset_area();
	owner = spawn_owner(true);
	if (owner < 0) {
		ok(0, "sleeping waiters: spawn");
		return;
	}
	for (i = 0; i < NWAITERS; i++) {
		w[i] = fork();
		if (w[i] == 0) {
			int r;

			__atomic_store_n(&area->ready[i], 1, __ATOMIC_RELEASE);
			r = kipc_mutex_lock(&area->m);
			area->took[i] = now();
			area->result[i] = r;
			if (r == -EOWNERDEAD) {
				area->inside = 0;	/* repair */
				area->consistent[i] = kipc_mutex_consistent(&area->m);
			} else if (r != 0) {
				_exit(1);
			}
			if (area->inside)
				_exit(2);
			area->inside = 1;
			area->counter++;
			sleep_ms(10);		/* the others keep waiting meanwhile */
			area->inside = 0;
			kipc_mutex_unlock(&area->m);
			_exit(0);
		}
	}
	/* all asleep in kipc_mutex_lock before the owner dies */
	end = now() + 5.0;
	for (i = 0; i < NWAITERS && w[i] > 0; i++) {
		int streak = 0;

		while (now() < end && streak < 3) {
			if (__atomic_load_n(&area->ready[i], __ATOMIC_ACQUIRE) &&
			    (__atomic_load_n(&area->m.owner, __ATOMIC_RELAXED) & OWNER_WAITERS) &&
			    task_state(w[i], w[i]) == 'S')
				streak++;
			else
				streak = 0;
			sleep_ms(2);
		}
		asleep += streak >= 3;
	}
	sleep_ms(50);
	t_kill = now();
	kill(owner, SIGKILL);
	for (i = 0; i < NWAITERS; i++) {
		clean += child_exited_ok(child_status(w[i], 10.0));
		if (area->result[i] == -EOWNERDEAD) {
			dead++;
			cons_ok += area->consistent[i] == 0;
		}
		zero += area->result[i] == 0;
		if (area->took[i] - t_kill > worst)
			worst = area->took[i] - t_kill;
	}
	is(asleep, NWAITERS, "sleeping waiters: all %d were asleep in lock before the kill",
	   NWAITERS);
	ok(task_state(owner, owner) == 'Z',
	   "sleeping waiters: the owner is still an unreaped zombie");
	is(clean, NWAITERS, "sleeping waiters: all exited cleanly (no error, never two inside)");
	is(dead, 1, "sleeping waiters: exactly one got -EOWNERDEAD");
	is(cons_ok, 1, "sleeping waiters: its consistent returned 0");
	is(zero, NWAITERS - 1, "sleeping waiters: the others got 0");
	is(area->counter, NWAITERS, "sleeping waiters: each entered once");
	ok(worst < RECOVER_S + 0.1 * NWAITERS,
	   "sleeping waiters: the last one had it %.0f ms after the kill", worst * 1e3);
	is(kipc_mutex_lock(&area->m), 0, "sleeping waiters: then the parent locks with 0");
	kipc_mutex_unlock(&area->m);
	child_status(owner, 5.0);
}

/*
 * Two children hammer the mutex; one is killed at a random instant, inside
 * or outside the lock, again and again.  Whoever meets the dead owner
 * repairs the state; nothing ever wedges or lets two inside.
 */
static void hammer_child(int idx)
{
	while (!__atomic_load_n(&area->stop, __ATOMIC_RELAXED)) {
		int r = kipc_mutex_lock(&area->m);

		if (r == -EOWNERDEAD) {
			area->inside = 0;
			if (kipc_mutex_consistent(&area->m) != 0)
				area->bad[idx]++;
			area->recovered[idx]++;
		} else if (r != 0) {
			area->bad[idx]++;
			break;
		}
		if (area->inside)
			area->bad[idx]++;
		area->inside = 1;
		area->counter++;
		for (volatile int k = 0; k < 2000; k++)
			;
		area->inside = 0;
		kipc_mutex_unlock(&area->m);
		area->rounds[idx]++;
	}
	_exit(0);
}

static void test_random_kills(unsigned long seed)
{
	unsigned int rs = (unsigned int)seed;
	int rounds = 0, bad = 0, parent_dead = 0, survivor_clean = 0, hung = 0;
	int recovered = 0;
	double end = now() + 2.0;

	while (rounds < 40 && now() < end) {
		pid_t victim, survivor;
		double t0;
		int r;

		reset_area();
		victim = fork();
		if (victim == 0)
			hammer_child(0);
		survivor = fork();
		if (survivor == 0)
			hammer_child(1);
		t0 = now();
		while ((!area->rounds[0] || !area->rounds[1]) && now() - t0 < 5.0)
			sleep_ms(1);
		sleep_ms(1 + rand_r(&rs) % 20);
		kill(victim, SIGKILL);
		t0 = now();
		r = kipc_mutex_lock(&area->m);
		if (now() - t0 > RECOVER_S + 0.5)
			hung++;
		if (r == -EOWNERDEAD) {
			area->inside = 0;
			parent_dead++;
			if (kipc_mutex_consistent(&area->m) != 0)
				bad++;
		} else if (r != 0) {
			bad++;
		}
		if (area->inside)
			bad++;
		__atomic_store_n(&area->stop, 1, __ATOMIC_RELAXED);
		kipc_mutex_unlock(&area->m);
		survivor_clean += child_exited_ok(child_status(survivor, 10.0));
		child_status(victim, 5.0);
		bad += area->bad[0] + area->bad[1];
		recovered += area->recovered[1] + (r == -EOWNERDEAD);
		rounds++;
	}
	diag("random kills: %d rounds, %d recoveries (%d by the parent)", rounds, recovered,
	     parent_dead);
	ok(rounds >= 5, "random kills: %d rounds", rounds);
	is(bad, 0, "random kills: no error return, repair always accepted, never two inside");
	is(survivor_clean, rounds, "random kills: the surviving child always finished");
	is(hung, 0, "random kills: the parent's lock never waited past the bound");
	ok(recovered > 0, "random kills: some victims died holding the mutex (%d)", recovered);
}

/* ------------------------------------------------------------------------ */
/* An owner thread that exits without unlocking (threads: after the forks). */
/* ------------------------------------------------------------------------ */

#ifdef KIPC_TSAN
/*
 * ThreadSanitizer would still count the dead thread as the owner and report
 * the takeover as a double lock: it repairs a robust pthread mutex
 * internally (MutexRepair), but its annotation interface has no such call
 * for other locks.
 */
static void test_thread_exit(void)
{
	ok(1, "# SKIP exited owner thread: TSan cannot be told of the takeover");
}
#else
static void *exiting_owner(void *arg)
{
	struct kipc_mutex *m = arg;

	return (void *)(intptr_t)kipc_mutex_lock(m);
}

static void test_thread_exit(void)
{
	pthread_t th;
	void *res = (void *)1;
	double t0, dt;
	int r;

	reset_area();
	pthread_create(&th, NULL, exiting_owner, &area->m);
	pthread_join(th, &res);
	is((int)(intptr_t)res, 0, "exited thread: it took the mutex");
	ok(kipc_mutex_is_locked(&area->m), "exited thread: the mutex is still marked held");
	t0 = now();
	r = kipc_mutex_lock(&area->m);
	dt = now() - t0;
	is(r, -EOWNERDEAD, "exited thread: the next lock returns -EOWNERDEAD");
	ok(dt < RECOVER_S, "exited thread: within %.0f ms", dt * 1e3);
	is(kipc_mutex_consistent(&area->m), 0, "exited thread: consistent returns 0");
	kipc_mutex_unlock(&area->m);
	is(kipc_mutex_lock(&area->m), 0, "exited thread: then lock returns 0");
	kipc_mutex_unlock(&area->m);
}
#endif

int main(void)
{
	unsigned long seed = tap_seed();
	struct rlimit nocore = { 0, 0 };

	alarm(60);	/* a hang ends the run (SIGALRM) rather than the runner's timeout */

	setrlimit(RLIMIT_CORE, &nocore);
	area = mmap(NULL, sizeof(*area), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		    -1, 0);
	if (area == MAP_FAILED) {
		ok(0, "mmap: %s", strerror(errno));
		return done_testing();
	}
	test_consistent_healthy();
	test_killed_zombie();
	test_killed_while_waiting();
	test_not_recovered();
	test_sleeping_waiters();
	test_random_kills(seed);
	test_thread_exit();		/* the first thread: no fork after it */
	return done_testing();
}
