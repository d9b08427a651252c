// SPDX-License-Identifier: MIT
/*
 * The seed's deadlock, in user space: code takes a spinlock, an "interrupt"
 * arrives on the same CPU and its handler takes the same lock, and the CPU
 * spins on itself for ever.  Here the interrupt is a signal and the CPU a
 * thread.
 *
 * Each scenario runs in a forked child, watched by the parent:
 *
 *  - with the plain lock the child must hang: the handler is entered and
 *    never gets the lock; the parent sees that through a shared page, waits
 *    a further HANG_MS to be sure the child does not finish, then kills it;
 *  - with the _irqsave (or _irq) form the signal stays pending until the
 *    unlock, the handler then takes the lock, and the child exits 0.  An
 *    alarm() in the child and the parent's own deadline bound it, so a
 *    regression fails instead of hanging.
 *
 * The interrupting signal is SIGUSR1 raised by the thread itself, or, for an
 * interrupt that arrives at an arbitrary instant, a POSIX timer delivering
 * SIGRTMIN+1; the watchdog is SIGALRM (alarm) and the parent's SIGKILL.
 */
#include <kipc/kipc.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "testutil.h"

#define HANG_MS      1000	/* how long a deadlocked child must stay stuck */
#define DEADLINE_MS  15000	/* the parent's bound on anything else */

enum lock_kind {
	SPIN,		/* kipc_spin_lock in the interrupted code and the handler */
	RW_READ,	/* read_lock in the interrupted code, write_lock in the handler */
	RW_WRITE,	/* write_lock in the interrupted code, read_lock in the handler */
};

enum protect {
	PLAIN,		/* spin_lock / read_lock / write_lock */
	IRQSAVE,	/* the _irqsave forms */
	IRQ,		/* the _irq forms */
};

enum source {
	RAISE,		/* raise(SIGUSR1) inside the critical section */
	TIMER,		/* a timer signal arrives while the section runs */
};

/* What the child reports through shared memory. */
struct shared {
	kipc_spinlock_t spin;
	kipc_rwlock_t rw;
	int kind;
	int in_cs;		/* the interrupted code is inside its section */
	int handler_entered;
	int handler_got_lock;
	int entered_in_cs;	/* the handler ran while the section was held */
	int pending_in_cs;	/* the signal was seen pending inside the section */
	int handler_after;	/* the handler had run right after the unlock */
	int mask_restored;	/* the signal mask was the one from before */
};

static struct shared *sh;
static int the_signal;

static int get(int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void put(int *p, int v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* The "interrupt handler": takes the lock the interrupted code may hold. */
static void handler(int sig)
{
	(void)sig;
	/* in_cs first: the parent reads both as soon as it sees handler_entered. */
	if (get(&sh->in_cs))
		put(&sh->entered_in_cs, 1);
	put(&sh->handler_entered, 1);
	switch (sh->kind) {
	case SPIN:
		kipc_spin_lock(&sh->spin);
		kipc_spin_unlock(&sh->spin);
		break;
	case RW_READ:
		kipc_write_lock(&sh->rw);
		kipc_write_unlock(&sh->rw);
		break;
	default:
		kipc_read_lock(&sh->rw);
		kipc_read_unlock(&sh->rw);
		break;
	}
	put(&sh->handler_got_lock, 1);
}

static void take(enum lock_kind kind, enum protect how, unsigned long *flags)
{
	switch (how) {
	case PLAIN:
		if (kind == SPIN)
			kipc_spin_lock(&sh->spin);
		else if (kind == RW_READ)
			kipc_read_lock(&sh->rw);
		else
			kipc_write_lock(&sh->rw);
		break;
	case IRQSAVE:
		if (kind == SPIN)
			kipc_spin_lock_irqsave(&sh->spin, *flags);
		else if (kind == RW_READ)
			kipc_read_lock_irqsave(&sh->rw, *flags);
		else
			kipc_write_lock_irqsave(&sh->rw, *flags);
		break;
	case IRQ:
		if (kind == SPIN)
			kipc_spin_lock_irq(&sh->spin);
		else if (kind == RW_READ)
			kipc_read_lock_irq(&sh->rw);
		else
			kipc_write_lock_irq(&sh->rw);
		break;
	}
}

static void release(enum lock_kind kind, enum protect how, unsigned long flags)
{
	switch (how) {
	case PLAIN:
		if (kind == SPIN)
			kipc_spin_unlock(&sh->spin);
		else if (kind == RW_READ)
			kipc_read_unlock(&sh->rw);
		else
			kipc_write_unlock(&sh->rw);
		break;
	case IRQSAVE:
		if (kind == SPIN)
			kipc_spin_unlock_irqrestore(&sh->spin, flags);
		else if (kind == RW_READ)
			kipc_read_unlock_irqrestore(&sh->rw, flags);
		else
			kipc_write_unlock_irqrestore(&sh->rw, flags);
		break;
	case IRQ:
		if (kind == SPIN)
			kipc_spin_unlock_irq(&sh->spin);
		else if (kind == RW_READ)
			kipc_read_unlock_irq(&sh->rw);
		else
			kipc_write_unlock_irq(&sh->rw);
		break;
	}
}

static int is_pending(int sig)
{
	sigset_t p;

	sigpending(&p);
	return sigismember(&p, sig) == 1;
}

static int same_mask(const sigset_t *a)
{
	sigset_t m;

	pthread_sigmask(SIG_BLOCK, NULL, &m);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&m, sig) != sigismember(a, sig))
			return 0;
	return 1;
}

/* The child: lock, get interrupted, unlock, report. */
static void child(enum lock_kind kind, enum protect how, enum source src)
{
	struct sigaction sa;
	sigset_t before;
	unsigned long flags = 0;
	timer_t timer;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(10);	/* SIGALRM's default action ends a hung child */

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(the_signal, &sa, NULL);

	/* Start from a mask with something in it, to see it come back. */
	sigemptyset(&before);
	sigaddset(&before, SIGUSR2);
	sigaddset(&before, SIGRTMIN + 5);
	pthread_sigmask(SIG_SETMASK, &before, NULL);

	if (src == TIMER) {
		struct sigevent sev;
		struct itimerspec its;

		memset(&sev, 0, sizeof(sev));
		memset(&its, 0, sizeof(its));
		sev.sigev_notify = SIGEV_SIGNAL;
		sev.sigev_signo = the_signal;
		if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0)
			_exit(90);
		its.it_value.tv_nsec = 20 * 1000000L;	/* 20 ms after arming */
		take(kind, how, &flags);
		put(&sh->in_cs, 1);
		timer_settime(timer, 0, &its, NULL);
		/*
		 * A critical section that lasts until the signal has come:
		 * 300 ms, or less once the handler has run.  Sleeping is not
		 * what spinlock holders do, but it lets ThreadSanitizer (which
		 * defers asynchronous signals to the next libc call) deliver it.
		 */
		for (int i = 0; i < 300 && !get(&sh->handler_entered); i++)
			sleep_ms(1);
	} else {
		take(kind, how, &flags);
		put(&sh->in_cs, 1);
		raise(the_signal);
	}
	if (is_pending(the_signal))
		put(&sh->pending_in_cs, 1);
	put(&sh->in_cs, 0);
	release(kind, how, flags);
	put(&sh->handler_after, get(&sh->handler_got_lock));
	/* _irq enables everything, as local_irq_enable does; _irqsave restores. */
	if (how == IRQ) {
		sigset_t none;

		sigemptyset(&none);
		put(&sh->mask_restored, same_mask(&none));
	} else {
		put(&sh->mask_restored, same_mask(&before));
	}
	_exit(0);
}

/* Fork a child for the scenario; reset the shared page first. */
static pid_t start(enum lock_kind kind, enum protect how, enum source src)
{
	pid_t pid;

	memset(sh, 0, sizeof(*sh));
	kipc_spin_lock_init_flags(&sh->spin, KIPC_PSHARED);
	kipc_rwlock_init_flags(&sh->rw, KIPC_PSHARED);
	sh->kind = kind;
	the_signal = src == TIMER ? SIGRTMIN + 1 : SIGUSR1;
	pid = fork();
	if (pid == 0)
		child(kind, how, src);
	return pid;
}

/*
 * Wait for the child to end, at most ms milliseconds.  Returns 1 with its
 * status if it ended, 0 if it is still running (it is left running).
 */
static int wait_for(pid_t pid, unsigned int ms, int *status)
{
	uint64_t deadline = now_ns() + (uint64_t)ms * 1000000u;

	do {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 1;
		if (r == -1 && errno != EINTR)
			return 1;
		sleep_ms(2);
	} while (now_ns() < deadline);
	return 0;
}

static void reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static const char *kind_name[] = {
	"spin_lock / handler spin_lock",
	"read_lock / handler write_lock",
	"write_lock / handler read_lock",
};

static const char *src_name[] = { "raise(SIGUSR1)", "timer SIGRTMIN+1" };

/* The plain form: the child must deadlock in its handler. */
static void expect_deadlock(enum lock_kind kind, enum source src)
{
	const char *k = kind_name[kind], *s = src_name[src];
	uint64_t deadline = now_ns() + (uint64_t)DEADLINE_MS * 1000000u;
	int status = 0, ended;
	pid_t pid = start(kind, PLAIN, src);

	if (pid < 0) {
		ok(0, "fork: %s", strerror(errno));
		return;
	}
	/* First the handler must start... */
	while (!get(&sh->handler_entered) && now_ns() < deadline) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		sleep_ms(2);
	}
	ok(get(&sh->handler_entered) && get(&sh->entered_in_cs),
	   "plain %s, %s: the handler ran inside the critical section", k, s);
	/* ...then the child must stay stuck. */
	ended = wait_for(pid, HANG_MS, &status);
	ok(!ended, "plain %s, %s: the child deadlocks (still stuck after %d ms)", k, s, HANG_MS);
	ok(!get(&sh->handler_got_lock), "plain %s, %s: the handler never got the lock", k, s);
	if (ended)
		diag("the child ended: %s %d", WIFEXITED(status) ? "exit" : "signal",
		     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	else
		reap(pid);
}

/* The _irqsave/_irq form: the signal waits for the unlock; no deadlock. */
static void expect_no_deadlock(enum lock_kind kind, enum protect how, enum source src)
{
	const char *k = kind_name[kind], *s = src_name[src];
	const char *h = how == IRQ ? "_irq" : "_irqsave";
	int status = 0, ended;
	pid_t pid = start(kind, how, src);

	if (pid < 0) {
		ok(0, "fork: %s", strerror(errno));
		return;
	}
	ended = wait_for(pid, DEADLINE_MS, &status);
	if (!ended)
		reap(pid);
	ok(ended && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "%s %s, %s: the child finishes, exit 0", h, k, s);
	if (ended && !WIFEXITED(status))
		diag("killed by signal %d%s", WTERMSIG(status),
		     WTERMSIG(status) == SIGALRM ? " (the alarm: it deadlocked)" : "");
	else if (ended && WEXITSTATUS(status) != 0)
		diag("exit status %d", WEXITSTATUS(status));
	ok(!get(&sh->entered_in_cs), "%s %s, %s: no handler inside the critical section", h, k, s);
	ok(get(&sh->pending_in_cs), "%s %s, %s: the signal was pending at the unlock", h, k, s);
	ok(get(&sh->handler_after) && get(&sh->handler_got_lock),
	   "%s %s, %s: the handler ran at the unlock and took the lock", h, k, s);
	ok(get(&sh->mask_restored), "%s %s, %s: the signal mask afterwards is right", h, k, s);
}

int main(void)
{
	sigset_t none;

	setvbuf(stdout, NULL, _IONBF, 0);	/* nothing buffered for fork() to copy */
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		ok(0, "mmap: %s", strerror(errno));
		return done_testing();
	}
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);

	/* The seed's story with a spinlock. */
	expect_deadlock(SPIN, RAISE);
	expect_no_deadlock(SPIN, IRQSAVE, RAISE);
	expect_no_deadlock(SPIN, IRQ, RAISE);
	/* An interrupt that comes at its own time. */
	expect_deadlock(SPIN, TIMER);
	expect_no_deadlock(SPIN, IRQSAVE, TIMER);

	/* The same with a reader-writer lock. */
	expect_deadlock(RW_READ, RAISE);
	expect_no_deadlock(RW_READ, IRQSAVE, RAISE);
	expect_no_deadlock(RW_READ, IRQ, RAISE);
	expect_deadlock(RW_WRITE, RAISE);
	expect_no_deadlock(RW_WRITE, IRQSAVE, RAISE);

	munmap(sh, 4096);
	return done_testing();
}
