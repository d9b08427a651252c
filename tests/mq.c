// SPDX-License-Identifier: MIT
/*
 * POSIX message queues (SPEC sections 3 and 4, mq_overview(7), mq_open(3),
 * mq_send(3), mq_receive(3), mq_notify(3), mq_getattr(3)): a program must
 * be able to switch from <mqueue.h> with renaming defines alone, so kipc
 * must do what the kernel does, errors and their order included.
 *
 * Most scenarios are written once against a table of operations and run
 * twice: on kipc ("[kipc]" points) and, where this system has them, on the
 * kernel's own queues ("[kernel]" points: they check the test's reading of
 * the man pages against the reference).  The "compare" groups run the same
 * calls on both and require kipc to give the kernel's result and errno:
 * send/receive over every descriptor kind, access mode, queue state,
 * O_NONBLOCK, length, priority and timeout; open and unlink over names,
 * flags, attributes and existence; setattr; notify.
 *
 *   open      defaults (10 x 8192), O_CREAT/O_EXCL, EEXIST, ENOENT,
 *             ENAMETOOLONG, the name errors mq_open(3) lists, invalid
 *             attributes (EINVAL, nothing created), attributes ignored on
 *             an existing queue, mq_flags, the umask, the maxima
 *   unlink    the name goes, descriptors (also a forked child's) keep
 *             working, a new queue takes the name and is another queue
 *   basic     contents, lengths 0 .. msgsize, EMSGSIZE both ways,
 *             priorities up to MQ_PRIO_MAX - 1, EAGAIN, setattr
 *   descriptors  EBADF for -1, huge, closed and pipe descriptors and for
 *             the wrong access mode, in the kernel's order of checks
 *   order     random mixes of sends and receives against a model (highest
 *             priority first, FIFO within one), all 32768 priorities
 *   timeouts  absolute CLOCK_REALTIME deadlines: past, future, far future,
 *             invalid (EINVAL even when the call would not block)
 *   eintr     blocked receive and send interrupted by a handler: EINTR
 *             without SA_RESTART, restarted with it
 *   processes blocking senders and receivers in several processes
 *   kill      kill -9 of blocked receivers and senders and of a process
 *             in the middle of copying a 1 MiB message under the lock
 *   fork      inherited descriptors share the open description's flags
 *   notify    SIGEV_SIGNAL (SI_MESGQ, si_value, si_pid, si_uid),
 *             SIGEV_NONE, SIGEV_THREAD; one registrant (EBUSY), NULL,
 *             one-shot, only on an empty queue with no receiver blocked,
 *             cleared by the registrant's death and by its close
 *   perm      (root) a child dropped to nobody: EACCES, never more
 *             permissive than the kernel; notification across users
 *   stat      kipc stat prints the QSIZE/NOTIFY/SIGNO/NOTIFY_PID fields
 *
 * Each group runs in a child of this process, which stays single-threaded:
 * a group's threads (RCU callbacks from the first close, SIGEV_THREAD
 * helpers) never precede a fork() of the main process (ThreadSanitizer),
 * and inside a group every fork() comes before its first close.  A group
 * child numbers its TAP points from where the main process is and writes
 * them through a pipe; the main process relays and counts them, and adds a
 * failing point if the group's process dies or hangs.  Grandchildren never
 * print points.  kipc objects live in a private namespace, removed at the
 * end; kernel queues are named /kipc-test-mq-PID-... and unlinked.
 *
 * The kernel's queues here are kept within what an unprivileged process
 * may make (msg_max 10, msgsize_max 8192, RLIMIT_MSGQUEUE); without them
 * (no CONFIG_POSIX_MQUEUE) the [kernel] points are skipped, as are those
 * of mq_notify under qemu-user (ENOSYS) and glibc's SIGEV_THREAD under
 * ThreadSanitizer (its helper threads are invisible to it).  Root-only
 * points (dropping to nobody) are skipped otherwise.  Times are checked
 * only against generous bounds.  KIPC_TEST_SEED repeats a run,
 * KIPC_TEST_ONLY=text runs only the groups whose name has the text, and
 * KIPC_TEST_TIMES=1 prints each group's time.
 */
#include <kipc/ipc.h>
#include <kipc/mq.h>
#include <kipc/pipe.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc/namespace.h"
#include "tap.h"
#include "testutil.h"

/* How long a "nothing happens" check waits (a notification, a wake-up). */
#define QUIET_MS	150
/* How long a notification or a wake-up that must come may take. */
#define COME_MS		2000
/* A group's process is killed if it has not finished in this many seconds. */
#define GROUP_S		90.0

static unsigned long seed;
static bool root;
static bool have_kmq;		/* the kernel's queues work here */
static bool have_knotify;	/* ... and its mq_notify (not under qemu-user) */
static char ns_root[PATH_MAX];
static char self_exe[PATH_MAX];
static const uid_t nobody = 65534;

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static const char *ename(int e)
{
	static char bufs[4][16];
	static unsigned int k;
	static const struct { int e; const char *n; } names[] = {
		{ 0, "success" }, { EBADF, "EBADF" }, { EINVAL, "EINVAL" },
		{ EMSGSIZE, "EMSGSIZE" }, { EAGAIN, "EAGAIN" }, { ETIMEDOUT, "ETIMEDOUT" },
		{ EINTR, "EINTR" }, { EEXIST, "EEXIST" }, { ENOENT, "ENOENT" },
		{ EACCES, "EACCES" }, { ENAMETOOLONG, "ENAMETOOLONG" }, { EBUSY, "EBUSY" },
		{ EPERM, "EPERM" }, { EFAULT, "EFAULT" }, { ENOSPC, "ENOSPC" },
		{ ENOMEM, "ENOMEM" }, { EMFILE, "EMFILE" }, { ENOSYS, "ENOSYS" },
		{ EBADMSG, "EBADMSG" }, { EFBIG, "EFBIG" }, { EOVERFLOW, "EOVERFLOW" },
	};
	char *b;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].n;
	b = bufs[k++ % 4];
	snprintf(b, sizeof(bufs[0]), "errno %d", e);
	return b;
}

/* A call's return value, and errno when it returned -1 (else 0). */
struct rv {
	long r;
	int e;
};

#define CALL(expr) ({                                                         \
	errno = 0;                                                            \
	long call_r = (long)(expr);                                           \
	(struct rv){ call_r, call_r == -1 ? errno : 0 }; })

static bool rv_is(struct rv v, int want)
{
	return want ? v.r == -1 && v.e == want : v.r >= 0;
}

/* One point: expr fails with errno want (or, want 0, succeeds). */
#define is_err(expr, want, ...) ({                                            \
	struct rv ie_v = CALL(expr);                                          \
	int ie_w = (want);                                                    \
	bool ie_p = tap_ok(rv_is(ie_v, ie_w), __FILE__, __LINE__, __VA_ARGS__); \
	if (!ie_p)                                                            \
		printf("#   got %ld (%s), want %s\n", ie_v.r,                 \
		       ie_v.r == -1 ? ename(ie_v.e) : "no error", ename(ie_w)); \
	ie_p; })

static void *shared(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		_exit(99);
	}
	return p;
}

/* An absolute CLOCK_REALTIME time secs from now (negative: in the past). */
static struct timespec rt_in(double secs)
{
	struct timespec ts;
	int64_t ns;

	clock_gettime(CLOCK_REALTIME, &ts);
	ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (int64_t)(secs * 1e9);
	ts.tv_sec = (time_t)(ns / 1000000000);
	ts.tv_nsec = (long)(ns % 1000000000);
	return ts;
}

/* Waits until process pid sleeps ('S'), then a little more; false if not. */
static bool wait_sleeping(pid_t pid)
{
	double end = now() + 10.0;

	while (now() < end) {
		if (task_state(pid, pid) == 'S') {
			sleep_ms(20);
			if (task_state(pid, pid) == 'S')
				return true;
		}
		sleep_ms(2);
	}
	return false;
}

/*
 * Children about to block say so in readyv[slot] (shared, made by main),
 * so that a parent waiting for them to sleep does not take a sleep
 * elsewhere (the runtime's, before the handler is installed) for it.
 */
static int *readyv;

static pid_t fork_ready(int slot)
{
	__atomic_store_n(&readyv[slot], 0, __ATOMIC_RELEASE);
	return fork_child();
}

static void ready(int slot)
{
	__atomic_store_n(&readyv[slot], 1, __ATOMIC_RELEASE);
}

/* Waits for child pid (forked with fork_ready(slot)) to block after ready(). */
static bool wait_blocked(pid_t pid, int slot)
{
	return wait_flag(&readyv[slot], 10.0) && wait_sleeping(pid);
}

/* Waits until a killed child has died, without reaping it. */
static bool wait_dead_unreaped(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == pid;
}

static void kill_reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static void block_signal(int sig)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_BLOCK, &s, NULL);
}

/* Waits up to ms for the blocked signal sig; true with *si filled. */
static bool take_signal(int sig, long ms, siginfo_t *si)
{
	sigset_t s;
	double end = now() + (double)ms / 1e3;

	sigemptyset(&s);
	sigaddset(&s, sig);
	for (;;) {
		double left = end - now();
		struct timespec ts;

		if (left < 0)
			left = 0;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		memset(si, 0, sizeof(*si));
		if (sigtimedwait(&s, si, &ts) == sig)
			return true;
		if (errno != EINTR || left == 0)
			return false;
	}
}

/* xorshift64*: the tests' private generator (seeded from tap_seed()). */
static uint64_t rnd_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static uint64_t rnd_init(uint64_t salt)
{
	uint64_t s = (seed ^ (salt * 0x9E3779B97F4A7C15ull)) | 1;

	rnd_next(&s);
	return s;
}

/* ------------------------------------------------------------------------ */
/* The two implementations                                                  */
/* ------------------------------------------------------------------------ */

struct impl {
	const char *tag;		/* "kipc" or "kernel" */
	bool kernel;
	int (*open)(const char *name, int oflag, mode_t mode, struct mq_attr *attr);
	int (*close)(int q);
	int (*unlink)(const char *name);
	int (*send)(int q, const char *msg, size_t len, unsigned int prio);
	int (*timedsend)(int q, const char *msg, size_t len, unsigned int prio,
			 const struct timespec *abs);
	ssize_t (*receive)(int q, char *buf, size_t len, unsigned int *prio);
	ssize_t (*timedreceive)(int q, char *buf, size_t len, unsigned int *prio,
				const struct timespec *abs);
	int (*notify)(int q, const struct sigevent *sev);
	int (*getattr)(int q, struct mq_attr *attr);
	int (*setattr)(int q, const struct mq_attr *attr, struct mq_attr *old);
	int (*pipe)(int fds[2]);
	int (*pipe_close)(int fd);
};

static int ki_open(const char *name, int oflag, mode_t mode, struct mq_attr *attr)
{
	return oflag & O_CREAT ? kipc_mq_open(name, oflag, mode, attr) : kipc_mq_open(name, oflag);
}

static const struct impl kipc_impl = {
	.tag = "kipc",
	.open = ki_open,
	.close = kipc_mq_close,
	.unlink = kipc_mq_unlink,
	.send = kipc_mq_send,
	.timedsend = kipc_mq_timedsend,
	.receive = kipc_mq_receive,
	.timedreceive = kipc_mq_timedreceive,
	.notify = kipc_mq_notify,
	.getattr = kipc_mq_getattr,
	.setattr = kipc_mq_setattr,
	.pipe = kipc_pipe,
	.pipe_close = kipc_close,
};

static int k_open(const char *name, int oflag, mode_t mode, struct mq_attr *attr)
{
	return oflag & O_CREAT ? mq_open(name, oflag, mode, attr) : mq_open(name, oflag);
}

static int k_close(int q)
{
	return mq_close(q);
}

static int k_unlink(const char *name)
{
	return mq_unlink(name);
}

static int k_send(int q, const char *msg, size_t len, unsigned int prio)
{
	return mq_send(q, msg, len, prio);
}

static int k_timedsend(int q, const char *msg, size_t len, unsigned int prio,
		       const struct timespec *abs)
{
	return mq_timedsend(q, msg, len, prio, abs);
}

static ssize_t k_receive(int q, char *buf, size_t len, unsigned int *prio)
{
	return mq_receive(q, buf, len, prio);
}

static ssize_t k_timedreceive(int q, char *buf, size_t len, unsigned int *prio,
			      const struct timespec *abs)
{
	return mq_timedreceive(q, buf, len, prio, abs);
}

static int k_notify(int q, const struct sigevent *sev)
{
	return mq_notify(q, sev);
}

static int k_getattr(int q, struct mq_attr *attr)
{
	return mq_getattr(q, attr);
}

static int k_setattr(int q, const struct mq_attr *attr, struct mq_attr *old)
{
	return mq_setattr(q, attr, old);
}

static int k_pipe(int fds[2])
{
	return pipe(fds);
}

static const struct impl kernel_impl = {
	.tag = "kernel",
	.kernel = true,
	.open = k_open,
	.close = k_close,
	.unlink = k_unlink,
	.send = k_send,
	.timedsend = k_timedsend,
	.receive = k_receive,
	.timedreceive = k_timedreceive,
	.notify = k_notify,
	.getattr = k_getattr,
	.setattr = k_setattr,
	.pipe = k_pipe,
	.pipe_close = close,
};

/*
 * Kernel queue names, kept in shared memory so that the main process can
 * unlink whatever a crashed group left behind (kernel queues persist).
 */
#define KREG_MAX 4096
struct kreg {
	int n;
	char name[KREG_MAX][NAME_MAX + 8];
};
static struct kreg *kreg;

static void kreg_add(const char *name)
{
	int i = __atomic_fetch_add(&kreg->n, 1, __ATOMIC_RELAXED);

	if (i < KREG_MAX)
		snprintf(kreg->name[i], sizeof(kreg->name[i]), "%s", name);
}

/* A fresh name "/tag-PID-N" (the kernel's: "/kipc-test-mq-PID-tag-N"). */
static const char *qname(const struct impl *im, const char *tag)
{
	static char bufs[8][NAME_MAX + 2];
	static unsigned int k, n;
	char *b = bufs[k++ % 8];

	if (im->kernel) {
		snprintf(b, sizeof(bufs[0]), "/kipc-test-mq-%d-%s-%u", (int)getpid(), tag, ++n);
		kreg_add(b);
	} else {
		snprintf(b, sizeof(bufs[0]), "/%s-%d-%u", tag, (int)getpid(), ++n);
	}
	return b;
}

/* A fresh name of exactly len bytes after the slash (len <= NAME_MAX + 1). */
static const char *long_name(const struct impl *im, size_t len)
{
	static char b[NAME_MAX + 4];
	const char *base = qname(im, "long");
	size_t n = strlen(base);

	snprintf(b, sizeof(b), "%s", base);
	while (n < len + 1 && n < sizeof(b) - 1)
		b[n++] = 'x';
	b[len + 1] = '\0';
	if (im->kernel)
		kreg_add(b);
	return b;
}

/* Creates a new queue (O_CREAT | O_EXCL, mode 0600). */
static int mkq(const struct impl *im, const char *name, int oflag, long maxmsg, long msgsize)
{
	struct mq_attr a = { .mq_maxmsg = maxmsg, .mq_msgsize = msgsize };

	return im->open(name, oflag | O_CREAT | O_EXCL, 0600, &a);
}

static long curmsgs(const struct impl *im, int q)
{
	struct mq_attr a;

	return im->getattr(q, &a) ? -1 : a.mq_curmsgs;
}

static long qflags(const struct impl *im, int q)
{
	struct mq_attr a;

	return im->getattr(q, &a) ? -1 : a.mq_flags;
}

static int set_nonblock(const struct impl *im, int q, bool on)
{
	struct mq_attr a = { .mq_flags = on ? O_NONBLOCK : 0 };

	return im->setattr(q, &a, NULL);
}

/* Receives everything (O_NONBLOCK for the while); how many messages. */
static int drain(const struct impl *im, int q)
{
	struct mq_attr a;
	char *buf;
	int n = 0;
	long was;

	if (im->getattr(q, &a))
		return -1;
	was = a.mq_flags;
	buf = malloc((size_t)a.mq_msgsize);
	set_nonblock(im, q, 1);
	while (im->receive(q, buf, (size_t)a.mq_msgsize, NULL) >= 0)
		n++;
	set_nonblock(im, q, was & O_NONBLOCK);
	free(buf);
	return n;
}

/* The signal mq_notify tests use (queued: a second one would show). */
static int nsig(void)
{
	return SIGRTMIN + 3;
}

/* ------------------------------------------------------------------------ */
/* Groups: each in a child, its TAP lines relayed and counted here          */
/* ------------------------------------------------------------------------ */

static void relay_line(const char *line, size_t len)
{
	if (len >= 3 && !strncmp(line, "ok ", 3)) {
		tap_count++;
	} else if (len >= 7 && !strncmp(line, "not ok ", 7)) {
		tap_count++;
		tap_failed++;
	}
	fwrite(line, 1, len, stdout);
	fputc('\n', stdout);
}

static void run_group(const char *name, void (*fn)(const struct impl *), const struct impl *im)
{
	char buf[4096], line[16384], label[128];
	size_t ll = 0;
	double start = now(), end = start + GROUP_S;
	bool exited = false;
	int fds[2], status = 0;
	pid_t pid;

	snprintf(label, sizeof(label), "%s%s%s%s", name, im ? " [" : "", im ? im->tag : "",
		 im ? "]" : "");
	/* KIPC_TEST_ONLY=substring runs only the groups whose label has it. */
	if (getenv("KIPC_TEST_ONLY") && !strstr(label, getenv("KIPC_TEST_ONLY")))
		return;
	if (pipe(fds) < 0) {
		ok(0, "%s: pipe: %s", label, strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(fds[0]);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[1]);
		fn(im);
		fflush(stdout);
		_exit(0);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		ok(0, "%s: fork: %s", label, strerror(errno));
		return;
	}
	for (;;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		int n = poll(&p, 1, 100);

		if (n > 0) {
			ssize_t r = read(fds[0], buf, sizeof(buf));

			if (r <= 0)
				break;
			for (ssize_t i = 0; i < r; i++) {
				if (buf[i] == '\n') {
					relay_line(line, ll);
					ll = 0;
				} else if (ll < sizeof(line)) {
					line[ll++] = buf[i];
				}
			}
			continue;
		}
		if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
			/* Its own children die with it (PDEATHSIG): EOF soon. */
			exited = true;
			end = now() + 5.0;
		}
		if (now() > end) {
			if (!exited) {
				diag("group %s hangs after %.0f s: killing it", label, GROUP_S);
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				exited = true;
			}
			break;
		}
	}
	if (ll)
		relay_line(line, ll);
	close(fds[0]);
	if (!exited)
		waitpid(pid, &status, 0);
	if (getenv("KIPC_TEST_TIMES"))
		diag("%s: %.2f s", label, now() - start);
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		ok(0, "%s: the group's process ended normally (status %#x%s%s)", label, status,
		   WIFSIGNALED(status) ? ", signal " : "",
		   WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "");
}

/*
 * Runs fn on kipc, then on the kernel if it has queues (else a skip).
 * notify: fn needs the kernel's mq_notify (1), with SIGEV_THREAD (2),
 * whose glibc helper threads ThreadSanitizer does not know.
 */
static void run_both(const char *name, void (*fn)(const struct impl *), int notify)
{
	run_group(name, fn, &kipc_impl);
	if (notify == 2 && UNDER_TSAN)
		ok(1, "%s [kernel] # SKIP glibc's SIGEV_THREAD threads are unknown to ThreadSanitizer",
		   name);
	else if (have_kmq && (!notify || have_knotify))
		run_group(name, fn, &kernel_impl);
	else
		ok(1, "%s [kernel] # SKIP the kernel's message queues%s are not available here",
		   name, notify ? " (mq_notify)" : "");
}

/* ------------------------------------------------------------------------ */
/* open                                                                     */
/* ------------------------------------------------------------------------ */

/* Attributes mq_open must refuse (EINVAL), whatever the privileges. */
static const struct {
	long maxmsg, msgsize;
} bad_attrs[] = {
	{ 0, 64 }, { 4, 0 }, { 0, 0 }, { -1, 64 }, { 4, -1 }, { LONG_MIN, 64 }, { 4, LONG_MIN },
	{ KIPC_MQ_MAXMSG + 1, 64 }, { 4, KIPC_MQ_MSGSIZE_MAX + 1L },
	{ (1L << 32) + 1, 64 }, { 4, (1L << 32) + 64 }, { LONG_MAX, 64 }, { 4, LONG_MAX },
};

/* Names mq_open(3) refuses, with the error it lists for each. */
static const struct {
	const char *name;
	int err;
	const char *why;
} bad_names[] = {
	{ "x", EINVAL, "no leading slash: EINVAL" },
	{ "", EINVAL, "empty: EINVAL" },
	{ "/", ENOENT, "just \"/\": ENOENT (mq_open(3))" },
	{ "/a/b", EACCES, "more than one slash: EACCES (mq_open(3))" },
};

static void g_open(const struct impl *im)
{
	const char *T = im->tag;
	char name[NAME_MAX + 2];
	struct mq_attr a;
	int q, q2, rc;

	snprintf(name, sizeof(name), "%s", qname(im, "open"));
	q = im->open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
	ok(q >= 0, "[%s] open: O_CREAT | O_EXCL with attr NULL creates a queue", T);
	memset(&a, 0x55, sizeof(a));
	is(im->getattr(q, &a), 0, "[%s] getattr: 0", T);
	ok(a.mq_flags == 0 && a.mq_maxmsg == 10 && a.mq_msgsize == 8192 && a.mq_curmsgs == 0,
	   "[%s] attr NULL: 10 messages of 8192 bytes, flags 0, empty (got %ld, %ld x %ld, %ld)",
	   T, a.mq_flags, a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs);
	is_err(im->open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL), EEXIST,
	       "[%s] O_CREAT | O_EXCL on an existing name: EEXIST", T);
	is_err(im->open(name, O_RDONLY | O_CREAT | O_EXCL, 0600,
			&(struct mq_attr){ .mq_maxmsg = 0, .mq_msgsize = 0 }), EEXIST,
	       "[%s] O_CREAT | O_EXCL on an existing name with bad attributes: EEXIST", T);
	q2 = im->open(name, O_RDWR | O_CREAT, 0600,
		      &(struct mq_attr){ .mq_maxmsg = 0, .mq_msgsize = -5 });
	ok(q2 >= 0, "[%s] O_CREAT without O_EXCL opens the existing queue, invalid attr ignored", T);
	memset(&a, 0, sizeof(a));
	rc = im->getattr(q2, &a);
	ok(rc == 0 && a.mq_maxmsg == 10 && a.mq_msgsize == 8192,
	   "[%s] ... and the existing queue's attributes stay (%ld x %ld)", T, a.mq_maxmsg,
	   a.mq_msgsize);
	im->close(q2);
	q2 = im->open(name, O_RDWR | O_EXCL, 0, NULL);
	ok(q2 >= 0, "[%s] O_EXCL without O_CREAT is ignored: opens the queue", T);
	im->close(q2);
	im->close(q);
	is(im->unlink(name), 0, "[%s] unlink: 0", T);

	snprintf(name, sizeof(name), "%s", qname(im, "open"));
	is_err(im->open(name, O_RDWR, 0, NULL), ENOENT, "[%s] no such queue, no O_CREAT: ENOENT", T);
	is_err(im->open(name, O_RDWR | O_EXCL, 0, NULL), ENOENT,
	       "[%s] no such queue, O_EXCL without O_CREAT: ENOENT", T);
	for (size_t i = 0; i < sizeof(bad_attrs) / sizeof(bad_attrs[0]); i++) {
		struct mq_attr b = { .mq_maxmsg = bad_attrs[i].maxmsg,
				     .mq_msgsize = bad_attrs[i].msgsize };
		struct rv v = CALL(im->open(name, O_RDWR | O_CREAT, 0600, &b));
		struct rv after = CALL(im->open(name, O_RDWR, 0, NULL));

		ok(rv_is(v, EINVAL) && rv_is(after, ENOENT),
		   "[%s] attr %ld x %ld: EINVAL, and no queue is left (got %s, then %s)", T,
		   b.mq_maxmsg, b.mq_msgsize, v.r == -1 ? ename(v.e) : "a queue",
		   after.r == -1 ? ename(after.e) : "a queue");
		if (v.r >= 0)
			im->close((int)v.r);
		if (after.r >= 0)
			im->close((int)after.r);
		if (v.r >= 0 || after.r >= 0)
			im->unlink(name);
	}

	/* mq_flags and mq_curmsgs of the attr are ignored by mq_open. */
	q = im->open(name, O_RDWR | O_CREAT | O_EXCL, 0600,
		     &(struct mq_attr){ .mq_flags = O_NONBLOCK | 0x1234, .mq_maxmsg = 4,
					.mq_msgsize = 64, .mq_curmsgs = 77 });
	memset(&a, 0, sizeof(a));
	rc = im->getattr(q, &a);
	ok(q >= 0 && rc == 0 && a.mq_flags == 0 && a.mq_maxmsg == 4 &&
	   a.mq_msgsize == 64 && a.mq_curmsgs == 0,
	   "[%s] attr 4 x 64 with junk in mq_flags and mq_curmsgs: they are ignored "
	   "(flags %ld, %ld x %ld, curmsgs %ld)", T, a.mq_flags, a.mq_maxmsg, a.mq_msgsize,
	   a.mq_curmsgs);
	q2 = im->open(name, O_RDWR | O_NONBLOCK, 0, NULL);
	is(qflags(im, q2), O_NONBLOCK, "[%s] opened with O_NONBLOCK: mq_flags is O_NONBLOCK", T);
	im->close(q2);
	q2 = im->open(name, O_RDWR | O_CLOEXEC, 0, NULL);
	ok(q2 >= 0 && qflags(im, q2) == 0,
	   "[%s] O_CLOEXEC is accepted and mq_flags shows only O_NONBLOCK (%ld)", T,
	   qflags(im, q2));
	im->close(q2);
	im->close(q);
	im->unlink(name);

	/* Created read-only or write-only: the access mode holds from the start. */
	snprintf(name, sizeof(name), "%s", qname(im, "open"));
	q = mkq(im, name, O_RDONLY, 4, 64);
	ok(q >= 0, "[%s] O_RDONLY | O_CREAT creates", T);
	is_err(im->send(q, "x", 1, 0), EBADF, "[%s] ... and that descriptor cannot send: EBADF", T);
	{
		struct timespec past = rt_in(-1);
		char buf[64];

		is_err(im->timedreceive(q, buf, sizeof(buf), NULL, &past), ETIMEDOUT,
		       "[%s] ... but may receive (ETIMEDOUT on the empty queue)", T);
	}
	im->close(q);
	im->unlink(name);
	snprintf(name, sizeof(name), "%s", qname(im, "open"));
	q = mkq(im, name, O_WRONLY, 4, 64);
	ok(q >= 0, "[%s] O_WRONLY | O_CREAT creates", T);
	{
		char buf[64];

		is_err(im->receive(q, buf, sizeof(buf), NULL), EBADF,
		       "[%s] ... and that descriptor cannot receive: EBADF", T);
	}
	is_err(im->send(q, "x", 1, 0), 0, "[%s] ... but may send", T);
	im->close(q);
	im->unlink(name);

	/* Names. */
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		is_err(im->open(bad_names[i].name, O_RDWR, 0, NULL), bad_names[i].err,
		       "[%s] name \"%s\", %s", T, bad_names[i].name, bad_names[i].why);
		is_err(im->open(bad_names[i].name, O_RDWR | O_CREAT, 0600, NULL), bad_names[i].err,
		       "[%s] name \"%s\" with O_CREAT, %s", T, bad_names[i].name, bad_names[i].why);
	}
	{
		const char *n255 = long_name(im, NAME_MAX);
		char copy[NAME_MAX + 8];

		snprintf(copy, sizeof(copy), "%s", n255);
		q = mkq(im, copy, O_RDWR, 2, 16);
		ok(q >= 0 && strlen(copy) == NAME_MAX + 1,
		   "[%s] a name of NAME_MAX bytes after the slash is fine", T);
		is(im->unlink(copy), 0, "[%s] ... and unlinks", T);
		im->close(q);
		snprintf(copy, sizeof(copy), "%s", long_name(im, NAME_MAX + 1));
		is_err(im->open(copy, O_RDWR | O_CREAT, 0600, NULL), ENAMETOOLONG,
		       "[%s] NAME_MAX + 1 bytes after the slash: ENAMETOOLONG", T);
		is_err(im->open(copy, O_RDWR, 0, NULL), ENAMETOOLONG,
		       "[%s] NAME_MAX + 1 bytes, no O_CREAT: ENAMETOOLONG", T);
	}
	{
		char *huge = malloc(5002);

		huge[0] = '/';
		memset(huge + 1, 'h', 5000);
		huge[5001] = '\0';
		is_err(im->open(huge, O_RDWR | O_CREAT, 0600, NULL), ENAMETOOLONG,
		       "[%s] a 5000-byte name: ENAMETOOLONG", T);
		free(huge);
	}
}

/* What only kipc can be asked: its maxima, NULL, the file's mode. */
static void g_open_kipc(const struct impl *im)
{
	char name[64], path[PATH_MAX];
	struct mq_attr a;
	struct stat st;
	int q, rc;

	(void)im;
	ok(KIPC_MQ_PRIO_MAX == 32768 && KIPC_MQ_PRIO_MAX == MQ_PRIO_MAX &&
	   sysconf(_SC_MQ_PRIO_MAX) == KIPC_MQ_PRIO_MAX,
	   "KIPC_MQ_PRIO_MAX is 32768, the system's MQ_PRIO_MAX and sysconf's (%ld)",
	   sysconf(_SC_MQ_PRIO_MAX));
	ok(KIPC_MQ_MAXMSG == 65536 && KIPC_MQ_MSGSIZE_MAX == 16777216,
	   "KIPC_MQ_MAXMSG and KIPC_MQ_MSGSIZE_MAX are the kernel's HARD_MSGMAX and HARD_MSGSIZEMAX");
	ok(sizeof(kipc_mqd_t) == sizeof(int) && sizeof(kipc_mqd_t) == sizeof(mqd_t),
	   "kipc_mqd_t is an int, as mqd_t");

	snprintf(name, sizeof(name), "/maxmsg-%d", (int)getpid());
	q = kipc_mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600,
			 &(struct mq_attr){ .mq_maxmsg = KIPC_MQ_MAXMSG, .mq_msgsize = 1 });
	memset(&a, 0, sizeof(a));
	rc = kipc_mq_getattr(q, &a);
	ok(q >= 0 && rc == 0 && a.mq_maxmsg == KIPC_MQ_MAXMSG &&
	   a.mq_msgsize == 1, "KIPC_MQ_MAXMSG messages of 1 byte: created (%ld x %ld)",
	   a.mq_maxmsg, a.mq_msgsize);
	{
		long sent = 0, got = 0;
		unsigned int p, last = UINT_MAX;
		bool order = true;
		char c = 0;

		set_nonblock(&kipc_impl, q, 1);
		while (kipc_mq_send(q, &c, 1, (unsigned int)(sent * 7919 % KIPC_MQ_PRIO_MAX)) == 0)
			sent++;
		ok(sent == KIPC_MQ_MAXMSG && errno == EAGAIN,
		   "... it holds exactly KIPC_MQ_MAXMSG messages, then EAGAIN (%ld)", sent);
		while (kipc_mq_receive(q, &c, 1, &p) == 1) {
			if (p > last)
				order = false;
			last = p;
			got++;
		}
		ok(got == sent && order, "... and gives all %ld back, highest priority first", got);
	}
	kipc_mq_close(q);
	kipc_mq_unlink(name);

	q = kipc_mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600,
			 &(struct mq_attr){ .mq_maxmsg = 1, .mq_msgsize = KIPC_MQ_MSGSIZE_MAX });
	memset(&a, 0, sizeof(a));
	rc = kipc_mq_getattr(q, &a);
	ok(q >= 0 && rc == 0 && a.mq_msgsize == KIPC_MQ_MSGSIZE_MAX,
	   "1 message of KIPC_MQ_MSGSIZE_MAX bytes: created");
	{
		char *out = malloc(KIPC_MQ_MSGSIZE_MAX), *in = malloc(KIPC_MQ_MSGSIZE_MAX);
		unsigned int p = 0;

		for (size_t i = 0; i < KIPC_MQ_MSGSIZE_MAX; i++)
			out[i] = (char)(i * 131 + (i >> 12));
		is(kipc_mq_send(q, out, KIPC_MQ_MSGSIZE_MAX, 5), 0, "... a 16 MiB message is sent");
		is(kipc_mq_receive(q, in, KIPC_MQ_MSGSIZE_MAX, &p), KIPC_MQ_MSGSIZE_MAX,
		   "... and received whole");
		ok(p == 5 && memcmp(in, out, KIPC_MQ_MSGSIZE_MAX) == 0, "... intact, priority 5");
		free(out);
		free(in);
	}
	kipc_mq_close(q);
	kipc_mq_unlink(name);

	/* Both maxima at once: a TiB, which no tmpfs here holds. */
	{
		struct rv v = CALL(kipc_mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600,
			&(struct mq_attr){ .mq_maxmsg = KIPC_MQ_MAXMSG,
					   .mq_msgsize = KIPC_MQ_MSGSIZE_MAX }));
		DIR *d;
		struct dirent *de;
		int others = 0;

		ok(v.r == -1 && (v.e == ENOSPC || v.e == ENOMEM || v.e == EMFILE),
		   "KIPC_MQ_MAXMSG x KIPC_MQ_MSGSIZE_MAX (1 TiB): fails with an error mq_open(3) "
		   "lists for want of space (%s)", v.r == -1 ? ename(v.e) : "created");
		if (v.r >= 0)
			kipc_mq_close((int)v.r);
		is_err(kipc_mq_open(name, O_RDWR), ENOENT, "... and leaves no queue behind");
		kipc__ns_path(path, KIPC__NS_MQ, NULL);
		d = opendir(path);
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
			    strstr(de->d_name, "maxmsg-"))
				others++;
		if (d)
			closedir(d);
		is(others, 0, "... nor any file of it in the namespace");
	}

	is_err(kipc_mq_open(NULL, O_RDWR), EINVAL, "name NULL: EINVAL");
	is_err(kipc_mq_open(NULL, O_RDWR | O_CREAT, 0600, NULL), EINVAL,
	       "name NULL with O_CREAT: EINVAL");
	is_err(kipc_mq_unlink(NULL), EINVAL, "unlink NULL: EINVAL");
	snprintf(name, sizeof(name), "/accmode-%d", (int)getpid());
	is_err(kipc_mq_open(name, O_RDWR | O_WRONLY | O_CREAT, 0600, NULL), EINVAL,
	       "O_RDWR | O_WRONLY (not one access mode, mq_open(3)): EINVAL");

	/* mq_open(3): the mode is masked with the umask. */
	{
		static const struct { mode_t umask, mode, want; } modes[] = {
			{ 022, 0666, 0644 }, { 0, 0666, 0666 }, { 027, 0660, 0640 },
			{ 077, 0777, 0700 }, { 0, 0400, 0400 },
		};

		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			mode_t old = umask(modes[i].umask);

			snprintf(name, sizeof(name), "/mode-%d-%zu", (int)getpid(), i);
			q = kipc_mq_open(name, O_RDWR | O_CREAT | O_EXCL, modes[i].mode, NULL);
			umask(old);
			kipc__ns_path(path, KIPC__NS_MQ, name + 1);
			ok(q >= 0 && stat(path, &st) == 0 && (st.st_mode & 07777) == modes[i].want,
			   "mode %04o under umask %03o: the queue's file is %04o (%04o)",
			   (unsigned int)modes[i].mode, (unsigned int)modes[i].umask,
			   (unsigned int)modes[i].want, (unsigned int)(st.st_mode & 07777));
			kipc_mq_close(q);
			kipc_mq_unlink(name);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* unlink                                                                   */
/* ------------------------------------------------------------------------ */

static void g_unlink(const struct impl *im)
{
	const char *T = im->tag;
	char name[NAME_MAX + 8], buf[64];
	unsigned int p = 0;
	int q, q2, status;
	pid_t pid;

	snprintf(name, sizeof(name), "%s", qname(im, "unlink"));
	q = mkq(im, name, O_RDWR, 4, 64);
	ok(q >= 0 && im->send(q, "old", 3, 3) == 0, "[%s] a queue with one message", T);
	is(im->unlink(name), 0, "[%s] unlink: 0", T);
	is_err(im->open(name, O_RDWR, 0, NULL), ENOENT, "[%s] the name is gone: ENOENT", T);
	is_err(im->unlink(name), ENOENT, "[%s] unlink again: ENOENT", T);
	is(curmsgs(im, q), 1, "[%s] the open descriptor still works: getattr sees the message", T);

	/* A child forked now inherits the descriptor of the nameless queue. */
	pid = fork_child();
	if (pid == 0)
		_exit(im->send(q, "child", 5, 9) == 0 ? 0 : 1);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "[%s] a forked child sends on the inherited descriptor of the unlinked queue", T);
	is(im->receive(q, buf, sizeof(buf), &p), 5, "[%s] ... and its message arrives", T);
	ok(p == 9 && !memcmp(buf, "child", 5), "[%s] ... first (priority 9)", T);
	ok(im->receive(q, buf, sizeof(buf), &p) == 3 && p == 3 && !memcmp(buf, "old", 3),
	   "[%s] the message sent before the unlink is still there", T);

	/* A new queue takes the name: another queue. */
	q2 = mkq(im, name, O_RDWR, 2, 32);
	ok(q2 >= 0, "[%s] a new queue may take the name (O_CREAT | O_EXCL succeeds)", T);
	{
		struct mq_attr a1, a2;

		int r1 = im->getattr(q, &a1), r2 = im->getattr(q2, &a2);

		ok(r1 == 0 && r2 == 0 && a1.mq_maxmsg == 4 &&
		   a2.mq_maxmsg == 2 && a2.mq_msgsize == 32,
		   "[%s] ... with its own attributes (old %ld x %ld, new %ld x %ld)", T,
		   a1.mq_maxmsg, a1.mq_msgsize, a2.mq_maxmsg, a2.mq_msgsize);
	}
	im->send(q, "to-old", 6, 1);
	ok(curmsgs(im, q) == 1 && curmsgs(im, q2) == 0,
	   "[%s] a message sent to the old queue does not appear in the new one", T);
	{
		int q3 = im->open(name, O_RDWR, 0, NULL);

		ok(q3 >= 0 && im->send(q3, "n", 1, 0) == 0 && curmsgs(im, q2) == 1 &&
		   curmsgs(im, q) == 1, "[%s] opening the name now opens the new queue", T);
		im->close(q3);
	}
	if (!im->kernel) {
		char path[PATH_MAX];

		kipc__ns_path(path, KIPC__NS_MQ, name + 1);
		is(im->unlink(name), 0, "[%s] unlink the new one", T);
		ok(access(path, F_OK) == -1 && errno == ENOENT,
		   "[%s] its file is gone from the namespace", T);
	} else {
		im->unlink(name);
	}
	ok(im->receive(q, buf, sizeof(buf), NULL) == 6 && !memcmp(buf, "to-old", 6),
	   "[%s] the old descriptor works to the end", T);
	im->close(q);
	im->close(q2);

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		is_err(im->unlink(bad_names[i].name), bad_names[i].err, "[%s] unlink \"%s\", %s",
		       T, bad_names[i].name, bad_names[i].why);
	snprintf(name, sizeof(name), "%s", long_name(im, NAME_MAX + 1));
	is_err(im->unlink(name), ENAMETOOLONG, "[%s] unlink a name of NAME_MAX + 1 bytes: ENAMETOOLONG",
	       T);
}

/* ------------------------------------------------------------------------ */
/* basic send and receive                                                   */
/* ------------------------------------------------------------------------ */

static void g_basic(const struct impl *im)
{
	const char *T = im->tag;
	char name[NAME_MAX + 2], buf[128], big[128];
	struct mq_attr a, old;
	unsigned int p;
	int q, q2, rc;

	snprintf(name, sizeof(name), "%s", qname(im, "basic"));
	q = mkq(im, name, O_RDWR, 4, 64);
	ok(q >= 0, "[%s] a queue of 4 x 64", T);
	is(im->send(q, "hello", 5, 7), 0, "[%s] send: 0", T);
	is(curmsgs(im, q), 1, "[%s] curmsgs 1", T);
	p = 12345;
	memset(buf, 0, sizeof(buf));
	is(im->receive(q, buf, 64, &p), 5, "[%s] receive: returns the length", T);
	ok(!memcmp(buf, "hello", 5) && p == 7, "[%s] ... the bytes and the priority", T);
	im->send(q, "np", 2, 1);
	is(im->receive(q, buf, 64, NULL), 2, "[%s] receive with prio NULL", T);
	is(im->send(q, "", 0, 0), 0, "[%s] a zero-length message is allowed", T);
	p = 99;
	ok(im->receive(q, buf, 64, &p) == 0 && p == 0, "[%s] ... and received as length 0", T);

	for (int i = 0; i < 64; i++)
		big[i] = (char)(i * 7 + 1);
	is(im->send(q, big, 64, 2), 0, "[%s] a message of exactly mq_msgsize bytes", T);
	ok(im->receive(q, buf, 64, NULL) == 64 && !memcmp(buf, big, 64), "[%s] ... comes back whole",
	   T);
	is_err(im->send(q, big, 65, 2), EMSGSIZE, "[%s] mq_msgsize + 1 bytes: EMSGSIZE", T);
	is_err(im->send(q, big, SIZE_MAX, 2), EMSGSIZE, "[%s] SIZE_MAX bytes: EMSGSIZE", T);
	is(curmsgs(im, q), 0, "[%s] ... and nothing was queued", T);

	im->send(q, "keep", 4, 4);
	is_err(im->receive(q, buf, 63, NULL), EMSGSIZE,
	       "[%s] a receive buffer of mq_msgsize - 1: EMSGSIZE", T);
	is_err(im->receive(q, buf, 0, NULL), EMSGSIZE, "[%s] a receive buffer of 0: EMSGSIZE", T);
	is(curmsgs(im, q), 1, "[%s] ... and the message stays", T);
	{
		char *large = malloc(1 << 20);

		ok(im->receive(q, large, 1 << 20, &p) == 4 && p == 4 && !memcmp(large, "keep", 4),
		   "[%s] a larger buffer (1 MiB) is fine", T);
		free(large);
	}
	if (!im->kernel) {
		/* Only the message is copied; the length is not the buffer's to touch
		 * (qemu-user would check such a length on the kernel's behalf). */
		im->send(q, "keep", 4, 4);
		ok(im->receive(q, buf, SIZE_MAX, &p) == 4 && p == 4,
		   "[%s] len SIZE_MAX with a buffer of msgsize: only the message is copied", T);
	}

	is(im->send(q, "top", 3, 32767), 0, "[%s] priority 32767 (MQ_PRIO_MAX - 1)", T);
	ok(im->receive(q, buf, 64, &p) == 3 && p == 32767, "[%s] ... comes back as 32767", T);
	is_err(im->send(q, "x", 1, 32768), EINVAL, "[%s] priority 32768: EINVAL", T);
	is_err(im->send(q, "x", 1, UINT_MAX), EINVAL, "[%s] priority UINT_MAX: EINVAL", T);
	is_err(im->timedsend(q, "x", 1, 40000, &(struct timespec){ 0, 0 }), EINVAL,
	       "[%s] timedsend priority 40000: EINVAL", T);
	is(curmsgs(im, q), 0, "[%s] ... nothing queued", T);

	/* Full and empty. */
	for (int i = 0; i < 4; i++)
		im->send(q, "f", 1, (unsigned int)i);
	is(curmsgs(im, q), 4, "[%s] four messages: full (curmsgs 4)", T);
	memset(&old, 0x55, sizeof(old));
	is(im->setattr(q, &(struct mq_attr){ .mq_flags = O_NONBLOCK, .mq_maxmsg = 99,
					     .mq_msgsize = 99, .mq_curmsgs = 99 }, &old), 0,
	   "[%s] setattr O_NONBLOCK: 0", T);
	ok(old.mq_flags == 0 && old.mq_maxmsg == 4 && old.mq_msgsize == 64 && old.mq_curmsgs == 4,
	   "[%s] ... old attributes returned (%ld, %ld x %ld, %ld)", T, old.mq_flags,
	   old.mq_maxmsg, old.mq_msgsize, old.mq_curmsgs);
	rc = im->getattr(q, &a);
	ok(rc == 0 && a.mq_flags == O_NONBLOCK && a.mq_maxmsg == 4 &&
	   a.mq_msgsize == 64 && a.mq_curmsgs == 4,
	   "[%s] ... only O_NONBLOCK changed (%ld, %ld x %ld, %ld)", T, a.mq_flags, a.mq_maxmsg,
	   a.mq_msgsize, a.mq_curmsgs);
	is_err(im->send(q, "g", 1, 9), EAGAIN, "[%s] O_NONBLOCK, full: send EAGAIN", T);
	is(curmsgs(im, q), 4, "[%s] ... nothing queued", T);
	is(drain(im, q), 4, "[%s] four messages drained", T);
	is_err(im->receive(q, buf, 64, NULL), EAGAIN, "[%s] O_NONBLOCK, empty: receive EAGAIN", T);

	/* setattr refuses any other flag and changes nothing then. */
	{
		static const long bad_flags[] = { O_NONBLOCK | 1, O_APPEND, O_RDWR, -1, LONG_MIN,
						  O_NONBLOCK | O_CLOEXEC, 1L << 40 };

		for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
			struct mq_attr o2;

			memset(&o2, 0x55, sizeof(o2));
			is_err(im->setattr(q, &(struct mq_attr){ .mq_flags = bad_flags[i] }, &o2),
			       EINVAL, "[%s] setattr mq_flags %#lx: EINVAL", T, bad_flags[i]);
			ok(qflags(im, q) == O_NONBLOCK, "[%s] ... O_NONBLOCK unchanged", T);
		}
	}
	ok(set_nonblock(im, q, false) == 0 && qflags(im, q) == 0,
	   "[%s] setattr 0 clears O_NONBLOCK, old NULL is fine", T);

	/* O_NONBLOCK belongs to the open description, not to the queue. */
	q2 = im->open(name, O_RDWR | O_NONBLOCK, 0, NULL);
	ok(qflags(im, q2) == O_NONBLOCK && qflags(im, q) == 0,
	   "[%s] two opens of one queue: each its own O_NONBLOCK", T);
	set_nonblock(im, q2, 0);
	set_nonblock(im, q, 1);
	ok(qflags(im, q2) == 0 && qflags(im, q) == O_NONBLOCK,
	   "[%s] setattr on one leaves the other", T);
	im->close(q2);
	set_nonblock(im, q, 0);

	/* Contents: random lengths and bytes through a small queue, in order. */
	{
		uint64_t r = rnd_init(1);
		int bad = 0, n = 0;
		char out[4][64];
		size_t olen[4];

		for (int round = 0; round < 200; round++) {
			int k = (int)(rnd_next(&r) % 4) + 1;

			for (int i = 0; i < k; i++) {
				olen[i] = (size_t)(rnd_next(&r) % 65);
				for (size_t j = 0; j < olen[i]; j++)
					out[i][j] = (char)rnd_next(&r);
				if (im->send(q, out[i], olen[i], 3))
					bad++;
			}
			for (int i = 0; i < k; i++, n++)
				if (im->receive(q, buf, 64, NULL) != (ssize_t)olen[i] ||
				    memcmp(buf, out[i], olen[i]))
					bad++;
		}
		is(bad, 0, "[%s] %d random messages of 0..64 random bytes come back intact, in order",
		   T, n);
	}
	im->close(q);
	im->unlink(name);
}

/* ------------------------------------------------------------------------ */
/* descriptors                                                              */
/* ------------------------------------------------------------------------ */

/* Every call on descriptor d fails with EBADF: a list of those that did not. */
static void all_ebadf(const struct impl *im, int d, bool with_close, char *why, size_t n)
{
	struct timespec fut = rt_in(10);
	struct mq_attr a;
	char buf[64];
	struct sigevent none = { .sigev_notify = SIGEV_NONE };

	why[0] = '\0';
#define EB(label, expr) do {                                                  \
		struct rv eb_v = CALL(expr);                                  \
		if (!rv_is(eb_v, EBADF))                                      \
			snprintf(why + strlen(why), n - strlen(why), " %s:%s", label, \
				 eb_v.r == -1 ? ename(eb_v.e) : "ok");        \
	} while (0)
	EB("send", im->send(d, "x", 1, 0));
	EB("timedsend", im->timedsend(d, "x", 1, 0, &fut));
	EB("receive", im->receive(d, buf, 64, NULL));
	EB("timedreceive", im->timedreceive(d, buf, 64, NULL, &fut));
	EB("getattr", im->getattr(d, &a));
	EB("setattr", im->setattr(d, &(struct mq_attr){ .mq_flags = 0 }, NULL));
	if (!im->kernel || have_knotify) {
		EB("notify", im->notify(d, &none));
		EB("notify-NULL", im->notify(d, NULL));
	}
	if (with_close)
		EB("close", im->close(d));
#undef EB
}

static void g_desc(const struct impl *im)
{
	const char *T = im->tag;
	char name[NAME_MAX + 2], why[512], buf[64];
	struct timespec bad_ts = { 0, 1000000000 }, fut = rt_in(10);
	int q, rd, wr, closed, pfd[2];

	snprintf(name, sizeof(name), "%s", qname(im, "desc"));
	q = mkq(im, name, O_RDWR, 4, 64);
	rd = im->open(name, O_RDONLY, 0, NULL);
	wr = im->open(name, O_WRONLY, 0, NULL);
	ok(q >= 0 && rd >= 0 && wr >= 0, "[%s] a queue opened O_RDWR, O_RDONLY and O_WRONLY", T);

	{
		static const int bad[] = { -1, INT_MIN, INT_MAX, 65536, 4095 };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			all_ebadf(im, bad[i], true, why, sizeof(why));
			ok(!why[0], "[%s] descriptor %d: every call EBADF%s%s", T, bad[i],
			   why[0] ? "; not:" : "", why);
		}
	}
	closed = im->open(name, O_RDWR, 0, NULL);
	is(im->close(closed), 0, "[%s] close: 0", T);
	all_ebadf(im, closed, true, why, sizeof(why));
	ok(!why[0], "[%s] a closed descriptor: every call EBADF%s%s", T, why[0] ? "; not:" : "",
	   why);
	ok(im->pipe(pfd) == 0, "[%s] a pipe", T);
	all_ebadf(im, pfd[0], false, why, sizeof(why));
	ok(!why[0], "[%s] a pipe's read end: every mq call EBADF%s%s", T, why[0] ? "; not:" : "",
	   why);
	all_ebadf(im, pfd[1], false, why, sizeof(why));
	ok(!why[0], "[%s] a pipe's write end: every mq call EBADF%s%s", T, why[0] ? "; not:" : "",
	   why);
	if (!im->kernel) {
		/* The kernel's mq_close is close(): only kipc can tell. */
		is_err(kipc_mq_close(pfd[1]), EBADF, "[kipc] mq_close on a pipe descriptor: EBADF");
		is(kipc_write(pfd[1], "z", 1), 1, "[kipc] ... and the pipe is still open");
	}
	im->pipe_close(pfd[0]);
	im->pipe_close(pfd[1]);

	/* The access mode. */
	is_err(im->send(rd, "x", 1, 0), EBADF, "[%s] O_RDONLY: send EBADF", T);
	is_err(im->timedsend(rd, "x", 1, 0, &fut), EBADF, "[%s] O_RDONLY: timedsend EBADF", T);
	is_err(im->send(rd, buf, 65, 0), EBADF,
	       "[%s] O_RDONLY, too long: EBADF (the access is checked before the length)", T);
	is_err(im->send(rd, "x", 1, 32768), EINVAL,
	       "[%s] O_RDONLY, bad priority: EINVAL (the priority is checked first)", T);
	is_err(im->timedsend(rd, "x", 1, 0, &bad_ts), EINVAL,
	       "[%s] O_RDONLY, bad timeout: EINVAL (the timeout is checked first)", T);
	is_err(im->receive(wr, buf, 64, NULL), EBADF, "[%s] O_WRONLY: receive EBADF", T);
	is_err(im->timedreceive(wr, buf, 64, NULL, &fut), EBADF, "[%s] O_WRONLY: timedreceive EBADF",
	       T);
	is_err(im->receive(wr, buf, 1, NULL), EBADF,
	       "[%s] O_WRONLY, small buffer: EBADF (the access is checked before the length)", T);
	is_err(im->timedreceive(wr, buf, 64, NULL, &bad_ts), EINVAL,
	       "[%s] O_WRONLY, bad timeout: EINVAL (the timeout is checked first)", T);
	is(im->send(wr, "w", 1, 1), 0, "[%s] O_WRONLY: send works", T);
	ok(im->receive(rd, buf, 64, NULL) == 1, "[%s] O_RDONLY: receive works", T);
	{
		struct mq_attr a;

		ok(im->getattr(rd, &a) == 0 && im->getattr(wr, &a) == 0,
		   "[%s] getattr works on both", T);
	}
	if (!im->kernel || have_knotify) {
		struct sigevent none = { .sigev_notify = SIGEV_NONE };

		ok(im->notify(wr, &none) == 0 && im->notify(wr, NULL) == 0,
		   "[%s] notify works on an O_WRONLY descriptor", T);
	}

	/* A closed descriptor with a bad argument: the argument's error first. */
	is_err(im->timedsend(closed, "x", 1, 0, &bad_ts), EINVAL,
	       "[%s] closed, bad timeout: EINVAL before EBADF", T);
	is_err(im->timedreceive(closed, buf, 64, NULL, &bad_ts), EINVAL,
	       "[%s] closed, receive with a bad timeout: EINVAL before EBADF", T);
	is_err(im->send(closed, "x", 1, 32768), EINVAL, "[%s] closed, bad priority: EINVAL before EBADF",
	       T);
	is_err(im->setattr(closed, &(struct mq_attr){ .mq_flags = O_APPEND }, NULL), EINVAL,
	       "[%s] closed, setattr bad flags: EINVAL before EBADF", T);
	if (!im->kernel || have_knotify)
		is_err(im->notify(closed, &(struct sigevent){ .sigev_notify = 12345 }), EINVAL,
		       "[%s] closed, notify with a bad sigev_notify: EINVAL before EBADF", T);

	is(im->close(rd), 0, "[%s] close", T);
	is_err(im->close(rd), EBADF, "[%s] close twice: EBADF", T);
	if (!im->kernel) {
		/* kipc_close closes any kipc descriptor, a queue's too. */
		is(kipc_close(wr), 0, "[kipc] kipc_close on a queue descriptor: 0");
		is_err(kipc_mq_send(wr, "x", 1, 0), EBADF, "[kipc] ... and it is closed");
	} else {
		im->close(wr);
	}
	{
		/* The lowest free number: the next open reuses rd, for another queue. */
		char other[NAME_MAX + 2];
		int o;

		snprintf(other, sizeof(other), "%s", qname(im, "desc"));
		o = mkq(im, other, O_RDWR, 2, 8);
		ok(o >= 0 && curmsgs(im, o) == 0 && im->send(o, "o", 1, 0) == 0 &&
		   curmsgs(im, q) == 0 && curmsgs(im, o) == 1,
		   "[%s] a reused descriptor number names the new queue only", T);
		im->close(o);
		im->unlink(other);
	}
	im->close(q);
	im->unlink(name);
}

/* ------------------------------------------------------------------------ */
/* order: highest priority first, FIFO within a priority                    */
/* ------------------------------------------------------------------------ */

/* The reference: a plain array, searched for the best on every receive. */
struct model {
	size_t n;
	unsigned int *prio;
	uint64_t *id;
};

static size_t model_best(const struct model *m)
{
	size_t b = 0;

	for (size_t i = 1; i < m->n; i++)
		if (m->prio[i] > m->prio[b] || (m->prio[i] == m->prio[b] && m->id[i] < m->id[b]))
			b = i;
	return b;
}

/* A message: its id, its priority, and bytes that follow from the id. */
static size_t fill_msg(char *buf, size_t msgsize, uint64_t id, unsigned int prio)
{
	size_t len = 12 + (size_t)(id * 2654435761u % (msgsize - 11));

	memcpy(buf, &id, 8);
	memcpy(buf + 8, &prio, 4);
	for (size_t i = 12; i < len; i++)
		buf[i] = (char)(id * 31 + i);
	return len;
}

static bool check_msg(const char *buf, ssize_t len, size_t msgsize, uint64_t *id,
		      unsigned int *prio)
{
	char want[256];

	if (len < 12)
		return false;
	memcpy(id, buf, 8);
	memcpy(prio, buf + 8, 4);
	return (size_t)len == fill_msg(want, msgsize, *id, *prio) && !memcmp(buf, want, (size_t)len);
}

/*
 * ops random sends and receives (in waves that fill and drain) on a queue
 * of maxmsg x msgsize with priorities below prio_range (2: 0 and 32767);
 * every receive is compared with the model.  0, or the op that went wrong.
 */
static int order_run(const struct impl *im, long maxmsg, unsigned int prio_range, int ops,
		     uint64_t salt, char *why, size_t n)
{
	char name[NAME_MAX + 2], buf[256];
	struct model m = { 0, calloc((size_t)maxmsg, sizeof(unsigned int)),
			   calloc((size_t)maxmsg, sizeof(uint64_t)) };
	uint64_t r = rnd_init(salt), next_id = 1;
	const size_t msgsize = 40;
	int q, bad = 0;

	snprintf(name, sizeof(name), "%s", qname(im, "order"));
	q = mkq(im, name, O_RDWR | O_NONBLOCK, maxmsg, (long)msgsize);
	if (q < 0) {
		snprintf(why, n, "open: %s", strerror(errno));
		return -1;
	}
	for (int op = 1; op <= ops && !bad; op++) {
		/* Waves: mostly sends, then mostly receives, then even. */
		unsigned int wave = (unsigned int)(op / 97) % 3, pct = wave == 0 ? 75 : wave == 1 ? 25 : 50;
		bool send = m.n == 0 || ((size_t)m.n < (size_t)maxmsg && rnd_next(&r) % 100 < pct);

		if (send) {
			unsigned int prio = prio_range == 2 ? (rnd_next(&r) & 1) * 32767
						 : (unsigned int)(rnd_next(&r) % prio_range);
			size_t len = fill_msg(buf, msgsize, next_id, prio);

			if (im->send(q, buf, len, prio)) {
				snprintf(why, n, "op %d: send: %s", op, strerror(errno));
				bad = op;
				break;
			}
			m.prio[m.n] = prio;
			m.id[m.n++] = next_id++;
		} else {
			size_t b = model_best(&m);
			unsigned int p = UINT_MAX, mp = 0;
			uint64_t id = 0;
			ssize_t got = im->receive(q, buf, msgsize, &p);

			if (got < 0 || !check_msg(buf, got, msgsize, &id, &mp) || id != m.id[b] ||
			    p != m.prio[b] || mp != p) {
				snprintf(why, n, "op %d: got id %llu prio %u (%zd bytes), want id %llu "
					 "prio %u", op, got >= 12 ? (unsigned long long)id : 0ull, p,
					 got, (unsigned long long)m.id[b], m.prio[b]);
				bad = op;
				break;
			}
			m.prio[b] = m.prio[--m.n];
			m.id[b] = m.id[m.n];
		}
		if (op % 64 == 0 && curmsgs(im, q) != (long)m.n) {
			snprintf(why, n, "op %d: curmsgs %ld, want %zu", op, curmsgs(im, q), m.n);
			bad = op;
		}
	}
	im->close(q);
	im->unlink(name);
	free(m.prio);
	free(m.id);
	return bad;
}

static void g_order(const struct impl *im)
{
	static const struct {
		long maxmsg;
		unsigned int prios;
		int ops;
		const char *what;
	} runs[] = {
		{ 10, 4, 3000, "priorities 0..3 (FIFO within one matters)" },
		{ 10, 32768, 3000, "priorities 0..32767" },
		{ 10, 2, 2000, "priorities 0 and 32767 only" },
		{ 10, 1, 1000, "one priority: plain FIFO" },
		{ 1, 100, 500, "a queue of one message" },
	};
	char why[256];

	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		int bad = order_run(im, runs[i].maxmsg, runs[i].prios, runs[i].ops, i + 1, why,
				    sizeof(why));

		ok(bad == 0, "[%s] order: %d random sends and receives on %ld slots, %s, match the "
		   "model%s%s", im->tag, runs[i].ops, runs[i].maxmsg, runs[i].what,
		   bad ? ": " : "", bad ? why : "");
	}
}

static void g_order_kipc(const struct impl *im)
{
	static const struct {
		long maxmsg;
		unsigned int prios;
		int ops;
	} runs[] = {
		{ 1000, 8, 20000 }, { 257, 32768, 20000 }, { 64, 3, 20000 },
	};
	char why[256], name[64];
	int q;

	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		int bad = order_run(im, runs[i].maxmsg, runs[i].prios, runs[i].ops, 100 + i, why,
				    sizeof(why));

		ok(bad == 0, "order: %d random sends and receives on %ld slots, %u priorities, match "
		   "the model%s%s", runs[i].ops, runs[i].maxmsg, runs[i].prios, bad ? ": " : "",
		   bad ? why : "");
	}

	/* Every priority once, in a random order: they come back 32767..0. */
	snprintf(name, sizeof(name), "/allprio-%d", (int)getpid());
	q = kipc_mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK, 0600,
			 &(struct mq_attr){ .mq_maxmsg = KIPC_MQ_PRIO_MAX, .mq_msgsize = 4 });
	{
		unsigned int *perm = malloc(KIPC_MQ_PRIO_MAX * sizeof(*perm)), p, v;
		uint64_t r = rnd_init(7);
		int sent = 0, bad = 0;

		for (unsigned int i = 0; i < KIPC_MQ_PRIO_MAX; i++)
			perm[i] = i;
		for (unsigned int i = KIPC_MQ_PRIO_MAX - 1; i > 0; i--) {
			unsigned int j = (unsigned int)(rnd_next(&r) % (i + 1)), t = perm[i];

			perm[i] = perm[j];
			perm[j] = t;
		}
		for (unsigned int i = 0; i < KIPC_MQ_PRIO_MAX; i++)
			sent += kipc_mq_send(q, (char *)&perm[i], 4, perm[i]) == 0;
		for (unsigned int want = KIPC_MQ_PRIO_MAX; want-- > 0;)
			if (kipc_mq_receive(q, (char *)&v, 4, &p) != 4 || p != want || v != want)
				bad++;
		ok(sent == KIPC_MQ_PRIO_MAX && bad == 0,
		   "all %d priorities sent in a random order come back from 32767 down to 0 (%d wrong)",
		   KIPC_MQ_PRIO_MAX, bad);
		free(perm);
	}
	kipc_mq_close(q);
	kipc_mq_unlink(name);
}

/* ------------------------------------------------------------------------ */
/* timeouts                                                                 */
/* ------------------------------------------------------------------------ */

struct timed_result {
	long r;
	int e;
	double took;
	char buf[64];
};

static void g_timeouts(const struct impl *im)
{
	const char *T = im->tag;
	char name[NAME_MAX + 2], buf[64];
	struct timed_result *res = shared(4 * sizeof(*res));
	struct timespec ts;
	double t0, dt;
	int q, full;
	bool done;
	pid_t pid[4];

	snprintf(name, sizeof(name), "%s", qname(im, "timeout"));
	q = mkq(im, name, O_RDWR, 2, 64);
	snprintf(buf, sizeof(buf), "%s", qname(im, "timeout-full"));
	full = mkq(im, buf, O_RDWR, 2, 64);
	im->send(full, "a", 1, 0);
	im->send(full, "b", 1, 0);
	im->unlink(buf);

	/* Blocking with a deadline 150 ms ahead, each in a child (so a wait that
	 * never ends, e.g. a CLOCK_MONOTONIC reading, cannot hang the group). */
	for (int i = 0; i < 2; i++) {
		pid[i] = fork_child();
		if (pid[i] == 0) {
			struct timespec dl = rt_in(0.15);
			double s = now();
			long r = i == 0 ? (long)im->timedreceive(q, res[i].buf, 64, NULL, &dl)
					: (long)im->timedsend(full, "c", 1, 0, &dl);

			res[i].e = errno;
			res[i].r = r;
			res[i].took = now() - s;
			_exit(0);
		}
	}
	/* And with a far deadline, {LONG_MAX, 999999999}: a message ends it. */
	for (int i = 2; i < 4; i++) {
		pid[i] = fork_ready(i);
		if (pid[i] == 0) {
			struct timespec far = { LONG_MAX, 999999999 };
			long r;

			ready(i);
			if (i == 2)
				r = (long)im->timedreceive(q, res[i].buf, 64, NULL, &far);
			else
				r = (long)im->timedsend(full, "far", 3, 1, &far);
			res[i].e = errno;
			res[i].r = r;
			_exit(0);
		}
	}
	for (int i = 0; i < 2; i++) {
		done = reap_child(pid[i], 10.0);

		ok(done && res[i].r == -1 && res[i].e == ETIMEDOUT && res[i].took >= 0.1 &&
		   res[i].took < 5.0,
		   "[%s] %s, deadline (CLOCK_REALTIME) 150 ms ahead: ETIMEDOUT after %.0f ms (%s)",
		   T, i == 0 ? "receive from an empty queue" : "send to a full queue",
		   res[i].took * 1e3, done ? (res[i].r == -1 ? ename(res[i].e) : "no error")
					   : "did not return");
	}
	ok(wait_blocked(pid[2], 2) && wait_blocked(pid[3], 3),
	   "[%s] a receiver and a sender wait with deadline {LONG_MAX, 999999999}", T);
	is(im->send(q, "wake", 4, 2), 0, "[%s] send to the waiting receiver", T);
	done = reap_child(pid[2], 10.0);
	ok(done && res[2].r == 4 && !memcmp(res[2].buf, "wake", 4),
	   "[%s] ... it returns the message (%ld, %s)", T, res[2].r,
	   res[2].r == -1 ? ename(res[2].e) : "no error");
	ok(im->receive(full, buf, 64, NULL) == 1, "[%s] receive from the full queue", T);
	done = reap_child(pid[3], 10.0);
	ok(done && res[3].r == 0, "[%s] ... the waiting sender's send returns 0 (%s)",
	   T, res[3].r == -1 ? ename(res[3].e) : "no error");
	ok(curmsgs(im, full) == 2, "[%s] ... and its message is queued", T);

	/* Deadlines already past: at once. */
	{
		static const struct timespec past[] = {
			{ 0, 0 }, { 0, 999999999 }, { 1, 0 }, { -1, 0 } /* replaced below */,
		};

		for (size_t i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
			struct timespec p = i == 3 ? rt_in(-1) : past[i];
			struct rv v1, v2;

			t0 = now();
			v1 = CALL(im->timedreceive(q, buf, 64, NULL, &p));
			v2 = CALL(im->timedsend(full, "x", 1, 0, &p));
			dt = now() - t0;
			ok(rv_is(v1, ETIMEDOUT) && rv_is(v2, ETIMEDOUT) && dt < 1.0,
			   "[%s] deadline {%ld, %ld} already past: empty receive and full send "
			   "ETIMEDOUT at once (%s, %s, %.1f ms)", T, (long)p.tv_sec, p.tv_nsec,
			   v1.r == -1 ? ename(v1.e) : "no error", v2.r == -1 ? ename(v2.e) : "no error",
			   dt * 1e3);
		}
	}
	ts = rt_in(-1);
	is(curmsgs(im, full), 2, "[%s] ... nothing was queued", T);
	is(im->timedsend(q, "late", 4, 1, &ts), 0,
	   "[%s] a past deadline on a queue with room: the send succeeds", T);
	is(im->timedreceive(q, buf, 64, NULL, &ts), 4,
	   "[%s] a past deadline on a queue with a message: the receive succeeds", T);

	/* Invalid deadlines: EINVAL, whether or not the call would block. */
	{
		static const struct timespec bad[] = {
			{ 0, -1 }, { 0, 1000000000 }, { -1, 0 }, { -1, 500 }, { 0, LONG_MAX },
			{ LONG_MIN, 0 }, { 5, -999999999 },
		};
		char whys[4][256] = { "", "", "", "" };

		im->send(q, "one", 3, 0);	/* q: not empty, not full */
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			const struct timespec *b = &bad[i];
			struct rv v[4] = {
				CALL(im->timedreceive(q, buf, 64, NULL, b)),
				CALL(im->timedsend(q, "x", 1, 0, b)),
				CALL(im->timedsend(full, "x", 1, 0, b)),
				CALL(im->timedreceive(full, buf, 64, NULL, b)),
			};

			for (int k = 0; k < 4; k++)
				if (!rv_is(v[k], EINVAL))
					snprintf(whys[k] + strlen(whys[k]), sizeof(whys[k]) - strlen(whys[k]),
						 " {%ld,%ld}:%s", (long)b->tv_sec, b->tv_nsec,
						 v[k].r == -1 ? ename(v[k].e) : "ok");
		}
		ok(!whys[0][0], "[%s] invalid deadlines, receive from a non-empty queue: EINVAL%s", T,
		   whys[0]);
		ok(!whys[1][0], "[%s] invalid deadlines, send to a queue with room: EINVAL%s", T,
		   whys[1]);
		ok(!whys[2][0], "[%s] invalid deadlines, send to a full queue: EINVAL%s", T, whys[2]);
		ok(!whys[3][0], "[%s] invalid deadlines, receive from a full queue: EINVAL%s", T,
		   whys[3]);
		ok(curmsgs(im, q) == 1 && curmsgs(im, full) == 2,
		   "[%s] ... and no message moved", T);
		drain(im, q);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (!rv_is(CALL(im->timedreceive(q, buf, 64, NULL, &bad[i])), EINVAL))
				snprintf(whys[0] + strlen(whys[0]), sizeof(whys[0]) - strlen(whys[0]),
					 " {%ld,%ld}", (long)bad[i].tv_sec, bad[i].tv_nsec);
		ok(!whys[0][0], "[%s] invalid deadlines, receive from an empty queue: EINVAL%s", T,
		   whys[0]);
	}

	/* O_NONBLOCK comes before the deadline. */
	set_nonblock(im, q, 1);
	set_nonblock(im, full, 1);
	ts = rt_in(-1);
	is_err(im->timedreceive(q, buf, 64, NULL, &ts), EAGAIN,
	       "[%s] O_NONBLOCK, empty, past deadline: EAGAIN", T);
	is_err(im->timedsend(full, "x", 1, 0, &ts), EAGAIN,
	       "[%s] O_NONBLOCK, full, past deadline: EAGAIN", T);
	ts = rt_in(30);
	t0 = now();
	is_err(im->timedreceive(q, buf, 64, NULL, &ts), EAGAIN,
	       "[%s] O_NONBLOCK, empty, deadline 30 s ahead: EAGAIN", T);
	ok(now() - t0 < 1.0, "[%s] ... at once", T);
	im->close(q);
	im->close(full);
	im->unlink(name);
}

/* ------------------------------------------------------------------------ */
/* eintr                                                                    */
/* ------------------------------------------------------------------------ */

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

struct eintr_result {
	long r;
	int e;
	int handled;
	char buf[64];
};

/*
 * A child blocks in op (0 receive, 1 send to a full queue, 2 timedreceive
 * with a deadline 60 s ahead) with a SIGUSR1 handler installed with flags;
 * the parent signals it once it sleeps.  Returns the child, running.
 */
static pid_t eintr_child(const struct impl *im, int q, int op, int flags, struct eintr_result *res)
{
	pid_t pid = fork_ready(0);

	if (pid == 0) {
		struct timespec dl = rt_in(60);
		long r;

		set_handler(SIGUSR1, on_usr1, flags);
		ready(0);
		if (op == 0)
			r = (long)im->receive(q, res->buf, 64, NULL);
		else if (op == 1)
			r = (long)im->send(q, "s", 1, 0);
		else
			r = (long)im->timedreceive(q, res->buf, 64, NULL, &dl);
		res->e = errno;
		/* ThreadSanitizer runs a handler late, at its next interceptor. */
		sleep_us(1000);
		res->handled = handled;
		res->r = r;
		_exit(0);
	}
	return pid;
}

static void g_eintr(const struct impl *im)
{
	static const char *const what[] = { "receive", "send (full queue)",
					    "timedreceive (deadline 60 s ahead)" };
	const char *T = im->tag;
	struct eintr_result *res = shared(6 * sizeof(*res));
	char name[NAME_MAX + 2], fname[NAME_MAX + 2], buf[64];
	int q, full;
	bool done;
	pid_t pid;

	snprintf(name, sizeof(name), "%s", qname(im, "eintr"));
	snprintf(fname, sizeof(fname), "%s", qname(im, "eintr-full"));
	q = mkq(im, name, O_RDWR, 2, 64);
	full = mkq(im, fname, O_RDWR, 1, 64);
	im->send(full, "f", 1, 0);

	/* Without SA_RESTART: EINTR, and nothing moved. */
	for (int op = 0; op < 3; op++) {
		res[op].r = 12345;
		pid = eintr_child(im, op == 1 ? full : q, op, 0, &res[op]);
		ok(wait_blocked(pid, 0), "[%s] a child blocks in %s", T, what[op]);
		kill(pid, SIGUSR1);
		done = reap_child(pid, 10.0);
		ok(done && res[op].r == -1 && res[op].e == EINTR && res[op].handled == 1,
		   "[%s] a handler without SA_RESTART interrupts its %s: EINTR (%ld, %s, %d handled)",
		   T, what[op], res[op].r, ename(res[op].e), res[op].handled);
	}
	ok(curmsgs(im, q) == 0 && curmsgs(im, full) == 1, "[%s] ... and no message moved", T);

	/* With SA_RESTART: the call goes on, and completes later. */
	for (int op = 0; op < 3; op++) {
		struct eintr_result *r = &res[3 + op];

		r->r = 12345;
		pid = eintr_child(im, op == 1 ? full : q, op, SA_RESTART, r);
		ok(wait_blocked(pid, 0), "[%s] a child blocks in %s (SA_RESTART handler)", T, what[op]);
		kill(pid, SIGUSR1);
		if (!im->kernel && op == 2) {
			/* docs/mq.md: kipc's timed waits return EINTR for every handler. */
			done = reap_child(pid, 10.0);
			ok(done && r->r == -1 && r->e == EINTR && r->handled == 1,
			   "[%s] SA_RESTART: its %s returns EINTR all the same, as documented (%ld, %s)",
			   T, what[op], r->r, r->r == -1 ? ename(r->e) : "no error");
			continue;
		}
		sleep_ms(QUIET_MS);
		ok(task_state(pid, pid) == 'S' && r->r == 12345,
		   "[%s] SA_RESTART: after the handler its %s still waits (state %c)", T, what[op],
		   task_state(pid, pid));
		if (op == 1)
			im->receive(full, buf, 64, NULL);
		else
			im->send(q, "late", 4, 0);
		done = reap_child(pid, 10.0);
		ok(done && r->handled == 1 &&
		   (op == 1 ? r->r == 0 : r->r == 4 && !memcmp(r->buf, "late", 4)),
		   "[%s] ... and completes when it can (%ld, %s)", T, r->r,
		   r->r == -1 ? ename(r->e) : "no error");
	}
	ok(curmsgs(im, q) == 0 && curmsgs(im, full) == 1, "[%s] every message went where it should",
	   T);
	im->close(q);
	im->close(full);
	im->unlink(name);
	im->unlink(fname);
}

/* ------------------------------------------------------------------------ */
/* processes: blocking senders and receivers wake each other                */
/* ------------------------------------------------------------------------ */

#define PS_SENDERS	3
#define PS_RECEIVERS	3
#define PS_PER_SENDER	(UNDER_TSAN ? 150 : 400)

struct ps_area {
	int go;
	int received[PS_SENDERS][PS_PER_SENDER];
	int disorder[PS_RECEIVERS];
	int corrupt[PS_RECEIVERS];
	int stops;
};

static void g_processes(const struct impl *im)
{
	const char *T = im->tag;
	struct ps_area *a = shared(sizeof(*a));
	char name[NAME_MAX + 2];
	pid_t pids[PS_SENDERS + PS_RECEIVERS];
	int q, exited = 0, bad = 0, sleepers = 0;

	snprintf(name, sizeof(name), "%s", qname(im, "procs"));
	q = mkq(im, name, O_RDWR, 3, 32);
	for (int r = 0; r < PS_RECEIVERS; r++) {
		pids[PS_SENDERS + r] = fork_ready(r);
		if (pids[PS_SENDERS + r] == 0) {
			int last[PS_SENDERS][9];
			char buf[32];
			unsigned int p;

			memset(last, -1, sizeof(last));
			ready(r);
			for (;;) {
				ssize_t n = im->receive(q, buf, sizeof(buf), &p);
				int s, k;

				if (n == 4 && !memcmp(buf, "stop", 4))
					break;
				if (n != 3 * (ssize_t)sizeof(int)) {
					a->corrupt[r]++;
					continue;
				}
				memcpy(&s, buf, sizeof(int));
				memcpy(&k, buf + sizeof(int), sizeof(int));
				if (s < 0 || s >= PS_SENDERS || k < 0 || k >= PS_PER_SENDER || p < 1 ||
				    p > 8) {
					a->corrupt[r]++;
					continue;
				}
				/* FIFO within a priority, per sender, as this receiver sees it. */
				if (k <= last[s][p])
					a->disorder[r]++;
				last[s][p] = k;
				__atomic_fetch_add(&a->received[s][k], 1, __ATOMIC_RELAXED);
			}
			__atomic_fetch_add(&a->stops, 1, __ATOMIC_RELAXED);
			_exit(0);
		}
	}
	for (int s = 0; s < PS_SENDERS; s++) {
		pids[s] = fork_child();
		if (pids[s] == 0) {
			while (!__atomic_load_n(&a->go, __ATOMIC_ACQUIRE))
				sleep_us(200);
			for (int k = 0; k < PS_PER_SENDER; k++) {
				int msg[3] = { s, k, s * 1000 + k };

				if (im->send(q, (char *)msg, sizeof(msg), 1 + (unsigned int)((k * 7 + s) % 8)))
					_exit(1);
				if (k % 50 == 0)
					sched_yield();
			}
			_exit(0);
		}
	}
	/* The receivers block on the empty queue first. */
	for (int r = 0; r < PS_RECEIVERS; r++)
		sleepers += wait_blocked(pids[PS_SENDERS + r], r);
	is(sleepers, PS_RECEIVERS, "[%s] %d receiver processes block on the empty queue", T,
	   PS_RECEIVERS);
	__atomic_store_n(&a->go, 1, __ATOMIC_RELEASE);
	for (int s = 0; s < PS_SENDERS; s++)
		exited += reap_child(pids[s], 30.0);
	is(exited, PS_SENDERS, "[%s] %d senders sent %d messages each through a queue of 3 slots", T,
	   PS_SENDERS, PS_PER_SENDER);
	for (int r = 0; r < PS_RECEIVERS; r++)
		im->send(q, "stop", 4, 0);	/* priority 0: after every real message */
	exited = 0;
	for (int r = 0; r < PS_RECEIVERS; r++)
		exited += reap_child(pids[PS_SENDERS + r], 30.0);
	is(exited, PS_RECEIVERS, "[%s] the receivers finish once the stops arrive", T);
	for (int s = 0; s < PS_SENDERS; s++)
		for (int k = 0; k < PS_PER_SENDER; k++)
			bad += a->received[s][k] != 1;
	is(bad, 0, "[%s] every message received exactly once", T);
	bad = 0;
	for (int r = 0; r < PS_RECEIVERS; r++)
		bad += a->disorder[r] + a->corrupt[r];
	is(bad, 0, "[%s] intact, and in send order within a priority for each receiver", T);
	is(curmsgs(im, q), 0, "[%s] the queue is empty", T);
	im->close(q);
	im->unlink(name);
}

/* ------------------------------------------------------------------------ */
/* kill -9                                                                  */
/* ------------------------------------------------------------------------ */

#define BIG_MSG (1 << 20)

static void big_pattern(char *buf, uint32_t id)
{
	uint32_t *w = (uint32_t *)buf;

	for (size_t i = 0; i < BIG_MSG / 4; i++)
		w[i] = id * 2654435761u + (uint32_t)i;
}

static bool big_intact(const char *buf, ssize_t len)
{
	const uint32_t *w = (const uint32_t *)buf;

	if (len != BIG_MSG)
		return false;
	for (size_t i = 0; i < BIG_MSG / 4; i++)
		if (w[i] != w[0] + (uint32_t)i)
			return false;
	return true;
}

static void g_kill(const struct impl *im)
{
	const char *T = im->tag;
	char name[NAME_MAX + 2], buf[64];
	int q, n, first;
	pid_t pid;

	snprintf(name, sizeof(name), "%s", qname(im, "kill"));
	q = mkq(im, name, O_RDWR, 3, 64);

	/* A receiver killed while it waits: the next message stays queued. */
	pid = fork_ready(0);
	if (pid == 0) {
		ready(0);
		_exit(im->receive(q, buf, 64, NULL) >= 0 ? 0 : 1);
	}
	ok(wait_blocked(pid, 0), "[%s] a child blocks in receive", T);
	kill_reap(pid);
	is(im->send(q, "after", 5, 1), 0, "[%s] kill -9 it; a send afterwards: 0", T);
	is(curmsgs(im, q), 1, "[%s] ... the message is queued, not lost to the dead receiver", T);
	ok(im->receive(q, buf, 64, NULL) == 5 && !memcmp(buf, "after", 5), "[%s] ... and received",
	   T);

	/* A sender killed while it waits on a full queue: its message never was. */
	for (int i = 0; i < 3; i++)
		im->send(q, "full", 4, 2);
	pid = fork_ready(0);
	if (pid == 0) {
		ready(0);
		_exit(im->send(q, "ghost", 5, 9) == 0 ? 0 : 1);
	}
	ok(wait_blocked(pid, 0), "[%s] a child blocks in send to the full queue", T);
	kill_reap(pid);
	n = 0;
	set_nonblock(im, q, 1);
	while (im->receive(q, buf, 64, NULL) >= 0)
		n += memcmp(buf, "ghost", 5) != 0;
	is(n, 3, "[%s] kill -9 it: the queue holds the 3 messages, not the ghost", T);
	for (n = 0; im->send(q, "again", 5, 1) == 0; n++)
		;
	ok(n == 3 && errno == EAGAIN, "[%s] ... and fills to mq_maxmsg again (%d), then EAGAIN", T,
	   n);
	drain(im, q);
	set_nonblock(im, q, 0);
	im->unlink(name);
	first = q;	/* closed at the end: no close before a fork */

	/*
	 * A child copies 1 MiB messages in and out of a one-slot queue (the copy
	 * is done under the queue's lock); it is killed at random instants.
	 * Afterwards the queue answers at once, holds 0 or 1 message, and any
	 * message is whole.
	 */
	if (im->kernel) {
		im->close(first);
		return;
	}
	{
		uint64_t r = rnd_init(42);
		char *msg = malloc(BIG_MSG), *in = malloc(BIG_MSG);
		int kills = UNDER_TSAN ? 15 : 40, broken = 0, slow = 0, bad_count = 0, seen = 0;

		snprintf(name, sizeof(name), "%s", qname(im, "kill-big"));
		q = mkq(im, name, O_RDWR, 1, BIG_MSG);
		set_nonblock(im, q, 1);
		for (int k = 0; k < kills; k++) {
			double t0;
			long c;

			pid = fork_child();
			if (pid == 0) {
				for (uint32_t id = (uint32_t)k << 20;; id++) {
					big_pattern(msg, id);
					im->send(q, msg, BIG_MSG, id % 7);
					im->receive(q, in, BIG_MSG, NULL);
				}
			}
			sleep_us(200 + (long)(rnd_next(&r) % 3000));
			kill_reap(pid);
			t0 = now();
			c = curmsgs(im, q);
			if (c == 1) {
				ssize_t got = im->receive(q, in, BIG_MSG, NULL);

				seen++;
				broken += !big_intact(in, got);
			} else if (c != 0) {
				bad_count++;
			}
			if (im->send(q, "probe", 5, 0) != 0 || im->receive(q, in, BIG_MSG, NULL) != 5)
				broken++;
			if (now() - t0 > 5.0)
				slow++;
		}
		ok(bad_count == 0 && broken == 0 && slow == 0,
		   "[%s] %d kills of a process copying 1 MiB messages: the queue answers, holds 0 or 1 "
		   "whole message (%d found; %d broken, %d bad counts, %d slow)", T, kills, seen,
		   broken, bad_count, slow);
		for (n = 0; im->send(q, "x", 1, 0) == 0; n++)
			;
		ok(n == 1 && errno == EAGAIN, "[%s] ... and its one slot is free, then full (EAGAIN)", T);
		free(msg);
		free(in);
		im->close(q);
		im->unlink(name);
	}
	im->close(first);
}

/* ------------------------------------------------------------------------ */
/* fork: inherited descriptors share the open description                   */
/* ------------------------------------------------------------------------ */

static void g_fork(const struct impl *im)
{
	const char *T = im->tag;
	int *flag = shared(4 * sizeof(int));
	char name[NAME_MAX + 2], buf[64];
	int q, status;
	pid_t pid;

	snprintf(name, sizeof(name), "%s", qname(im, "fork"));
	q = mkq(im, name, O_RDWR, 4, 64);

	pid = fork_child();
	if (pid == 0)
		_exit(im->send(q, "kid", 3, 4) == 0 ? 0 : 1);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 && im->receive(q, buf, 64, NULL) == 3,
	   "[%s] a child sends on the inherited descriptor; the parent receives", T);

	/* mq_overview(7): both share the flags of the open description. */
	pid = fork_child();
	if (pid == 0)
		_exit(set_nonblock(im, q, true) == 0 ? 0 : 1);
	waitpid(pid, &status, 0);
	/* docs/mq.md: kipc keeps O_NONBLOCK per process, the kernel per description. */
	is(qflags(im, q), im->kernel ? O_NONBLOCK : 0,
	   "[%s] the child sets O_NONBLOCK with mq_setattr: the parent's descriptor %s", T,
	   im->kernel ? "has it too (mq_overview(7): they share mq_flags)"
		      : "keeps its own (per process, documented)");
	set_nonblock(im, q, 0);
	pid = fork_child();
	if (pid == 0) {
		while (!__atomic_load_n(&flag[0], __ATOMIC_ACQUIRE))
			sleep_us(500);
		flag[1] = (int)qflags(im, q);
		_exit(0);
	}
	set_nonblock(im, q, 1);
	__atomic_store_n(&flag[0], 1, __ATOMIC_RELEASE);
	reap_child(pid, 10.0);
	is(flag[1], im->kernel ? O_NONBLOCK : 0, "[%s] the parent sets O_NONBLOCK after the fork: "
	   "the child %s", T, im->kernel ? "sees it" : "keeps its own (documented)");
	set_nonblock(im, q, 0);

	pid = fork_child();
	if (pid == 0)
		_exit(im->close(q) == 0 ? 0 : 1);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 && im->send(q, "p", 1, 0) == 0 &&
	   curmsgs(im, q) == 1, "[%s] the child closes its copy: the parent's still works", T);
	im->close(q);
	im->unlink(name);
}

/* ------------------------------------------------------------------------ */
/* notify: a helper process that runs commands                              */
/* ------------------------------------------------------------------------ */

enum {
	CMD_REG_SIGNAL = 1,	/* notify SIGEV_SIGNAL nsig() */
	CMD_REG_NONE,		/* notify SIGEV_NONE */
	CMD_REG_NULL,		/* notify NULL */
	CMD_WAIT_SIGNAL,	/* 1 if nsig() arrives within COME_MS */
	CMD_QUIET,		/* 1 if nsig() arrives within QUIET_MS */
	CMD_SEND,		/* send "cmd" */
	CMD_CLOSE,		/* close its (inherited) descriptor */
	CMD_OPEN_CLOSE,		/* open the queue again by name and close that */
	CMD_EXIT,
};

struct cmd_area {
	int cmd, seq, done;
	long r;
	int e;
	char name[NAME_MAX + 2];
};

static void cmd_loop(const struct impl *im, int q, struct cmd_area *c)
{
	struct sigevent sig = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = nsig() };
	struct sigevent none = { .sigev_notify = SIGEV_NONE };
	siginfo_t si;
	int seen = 0;

	block_signal(nsig());
	for (;;) {
		long r = -1;

		while (__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) == seen)
			sleep_us(200);
		seen = c->seq;
		errno = 0;
		switch (c->cmd) {
		case CMD_REG_SIGNAL:
			r = im->notify(q, &sig);
			break;
		case CMD_REG_NONE:
			r = im->notify(q, &none);
			break;
		case CMD_REG_NULL:
			r = im->notify(q, NULL);
			break;
		case CMD_WAIT_SIGNAL:
			r = take_signal(nsig(), COME_MS, &si);
			break;
		case CMD_QUIET:
			r = take_signal(nsig(), QUIET_MS, &si);
			break;
		case CMD_SEND:
			r = im->send(q, "cmd", 3, 1);
			break;
		case CMD_CLOSE:
			r = im->close(q);
			break;
		case CMD_OPEN_CLOSE: {
			int o = im->open(c->name, O_RDWR, 0, NULL);

			r = o < 0 ? -1 : im->close(o);
			break;
		}
		case CMD_EXIT:
			_exit(0);
		}
		c->e = errno;
		c->r = r;
		__atomic_store_n(&c->done, seen, __ATOMIC_RELEASE);
	}
}

/* A helper process for queue q (inherited); its command area. */
static struct cmd_area *helper(const struct impl *im, int q, const char *name, pid_t *pid)
{
	struct cmd_area *c = shared(sizeof(*c));

	snprintf(c->name, sizeof(c->name), "%s", name);
	*pid = fork_child();
	if (*pid == 0)
		cmd_loop(im, q, c);
	return c;
}

/* Runs a command in the helper; its result (r -2: no answer in 10 s). */
static struct rv cmd(struct cmd_area *c, int what)
{
	int s = c->seq + 1;
	double end = now() + 10.0;

	c->cmd = what;
	__atomic_store_n(&c->seq, s, __ATOMIC_RELEASE);
	while (__atomic_load_n(&c->done, __ATOMIC_ACQUIRE) != s) {
		if (now() > end)
			return (struct rv){ -2, 0 };
		sleep_us(200);
	}
	return (struct rv){ c->r, c->r == -1 ? c->e : 0 };
}

static void helper_exit(struct cmd_area *c, pid_t pid)
{
	c->cmd = CMD_EXIT;
	__atomic_store_n(&c->seq, c->seq + 1, __ATOMIC_RELEASE);
	reap_child(pid, 10.0);
}

static struct sigevent sev_signal(int signo, union sigval v)
{
	struct sigevent s;

	memset(&s, 0, sizeof(s));
	s.sigev_notify = SIGEV_SIGNAL;
	s.sigev_signo = signo;
	s.sigev_value = v;
	return s;
}

/* ------------------------------------------------------------------------ */
/* notify: SIGEV_SIGNAL                                                     */
/* ------------------------------------------------------------------------ */

static void g_notify_signal(const struct impl *im)
{
	const char *T = im->tag;
	union sigval val = { .sival_ptr = (void *)(uintptr_t)0x5a5a1234u };
	struct sigevent sev = sev_signal(nsig(), val);
	char name[NAME_MAX + 2];
	siginfo_t si;
	int q, status;
	pid_t pid;

	block_signal(nsig());
	block_signal(SIGUSR1);
	snprintf(name, sizeof(name), "%s", qname(im, "nsig"));
	q = mkq(im, name, O_RDWR, 4, 64);
	is(im->notify(q, &sev), 0, "[%s] notify SIGEV_SIGNAL: 0", T);
	ok(!take_signal(nsig(), 0, &si), "[%s] ... no signal yet", T);
	pid = fork_child();
	if (pid == 0) {
		int o = im->open(name, O_WRONLY, 0, NULL);

		_exit(o >= 0 && im->send(o, "a", 1, 1) == 0 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	ok(take_signal(nsig(), COME_MS, &si), "[%s] another process sends to the empty queue: the signal "
	   "arrives", T);
	ok(si.si_signo == nsig() && si.si_code == SI_MESGQ,
	   "[%s] ... with si_code SI_MESGQ (signo %d, code %d)", T, si.si_signo, si.si_code);
	ok(si.si_value.sival_ptr == val.sival_ptr, "[%s] ... the registered si_value (%p)", T,
	   si.si_value.sival_ptr);
	ok(si.si_pid == pid && si.si_uid == getuid(),
	   "[%s] ... and the sender's si_pid and si_uid (%d, %d; want %d, %d)", T, (int)si.si_pid,
	   (int)si.si_uid, (int)pid, (int)getuid());
	is(curmsgs(im, q), 1, "[%s] ... the message is queued", T);

	/* One-shot. */
	im->send(q, "b", 1, 0);
	drain(im, q);
	im->send(q, "c", 1, 0);
	ok(!take_signal(nsig(), QUIET_MS, &si), "[%s] one-shot: later messages notify no more", T);
	is(im->notify(q, &sev), 0, "[%s] the registration was removed: registering again is 0", T);

	/* Registered while the queue holds a message. */
	im->send(q, "d", 1, 0);
	ok(!take_signal(nsig(), QUIET_MS, &si), "[%s] a message to a non-empty queue: no notification",
	   T);
	drain(im, q);
	im->send(q, "e", 1, 3);
	ok(take_signal(nsig(), COME_MS, &si) && si.si_pid == getpid(),
	   "[%s] once emptied, the next message notifies (sent by this process: si_pid is ours)", T);
	drain(im, q);

	/* Another signal, sival_int, and NULL removes a registration. */
	sev = sev_signal(SIGUSR1, (union sigval){ .sival_int = -7 });
	is(im->notify(q, &sev), 0, "[%s] notify with SIGUSR1 and sival_int -7", T);
	im->send(q, "f", 1, 0);
	ok(take_signal(SIGUSR1, COME_MS, &si) && si.si_value.sival_int == -7 && si.si_code == SI_MESGQ,
	   "[%s] ... SIGUSR1 arrives with sival_int -7", T);
	drain(im, q);
	sev = sev_signal(nsig(), val);
	is(im->notify(q, &sev), 0, "[%s] register", T);
	is(im->notify(q, NULL), 0, "[%s] notify NULL: 0", T);
	im->send(q, "g", 1, 0);
	ok(!take_signal(nsig(), QUIET_MS, &si), "[%s] ... then a message to the empty queue: nothing",
	   T);
	is(im->notify(q, NULL), 0, "[%s] notify NULL when not registered: 0 (as Linux)", T);
	drain(im, q);

	/* Signal numbers: 1 .. SIGRTMAX are valid, others not. */
	{
		static const int bad_signo[] = { -1, 65, 1000, INT_MIN };

		for (size_t i = 0; i < sizeof(bad_signo) / sizeof(bad_signo[0]); i++) {
			sev = sev_signal(bad_signo[i], val);
			is_err(im->notify(q, &sev), EINVAL, "[%s] SIGEV_SIGNAL with signal %d: EINVAL", T,
			       bad_signo[i]);
		}
		sev = sev_signal(SIGRTMAX, val);
		is(im->notify(q, &sev), 0, "[%s] SIGEV_SIGNAL with SIGRTMAX: 0", T);
		im->notify(q, NULL);
		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = 12345;
		is_err(im->notify(q, &sev), EINVAL, "[%s] sigev_notify 12345: EINVAL", T);
		sev.sigev_notify = SIGEV_THREAD_ID;
		sev.sigev_signo = nsig();
		is_err(im->notify(q, &sev), EINVAL, "[%s] SIGEV_THREAD_ID: EINVAL", T);
	}
	im->close(q);
	im->unlink(name);
}

/* One registrant at a time: EBUSY, for this process and for others. */
static void g_notify_busy(const struct impl *im)
{
	const char *T = im->tag;
	struct sigevent sev = sev_signal(nsig(), (union sigval){ .sival_int = 1 });
	struct sigevent none = { .sigev_notify = SIGEV_NONE };
	char name[NAME_MAX + 2];
	struct cmd_area *c;
	siginfo_t si;
	pid_t hp;
	int q;

	block_signal(nsig());
	snprintf(name, sizeof(name), "%s", qname(im, "nbusy"));
	q = mkq(im, name, O_RDWR, 4, 64);
	c = helper(im, q, name, &hp);

	is(im->notify(q, &sev), 0, "[%s] this process registers", T);
	is_err(im->notify(q, &sev), EBUSY, "[%s] ... again: EBUSY (one registration)", T);
	is_err(im->notify(q, &none), EBUSY, "[%s] ... again with SIGEV_NONE: EBUSY", T);
	ok(rv_is(cmd(c, CMD_REG_SIGNAL), EBUSY), "[%s] another process registers: EBUSY", T);
	ok(rv_is(cmd(c, CMD_REG_NULL), 0), "[%s] another process's notify NULL: 0 ...", T);
	ok(rv_is(cmd(c, CMD_REG_SIGNAL), EBUSY), "[%s] ... and it removed nothing: still EBUSY", T);
	is(im->notify(q, NULL), 0, "[%s] the registrant's NULL", T);
	ok(rv_is(cmd(c, CMD_REG_SIGNAL), 0), "[%s] ... then the other process may register", T);
	is_err(im->notify(q, &sev), EBUSY, "[%s] ... and now this one gets EBUSY", T);
	is(im->notify(q, NULL), 0, "[%s] this process's NULL (not the registrant): 0", T);
	im->send(q, "x", 1, 0);
	ok(!take_signal(nsig(), QUIET_MS, &si), "[%s] a message: this process is not notified", T);
	ok(cmd(c, CMD_WAIT_SIGNAL).r == 1, "[%s] ... the registrant, the other process, is", T);
	is(im->notify(q, &sev), 0, "[%s] after it fired, this process may register", T);
	helper_exit(c, hp);
	im->close(q);
	im->unlink(name);
}

/* A receiver blocked in mq_receive takes the message: no notification. */
static void g_notify_receiver(const struct impl *im)
{
	const char *T = im->tag;
	struct sigevent sev = sev_signal(nsig(), (union sigval){ .sival_int = 2 });
	char name[NAME_MAX + 2];
	char *got = shared(64);
	struct cmd_area *c;
	siginfo_t si;
	pid_t hp, rp;
	int q;

	block_signal(nsig());
	snprintf(name, sizeof(name), "%s", qname(im, "nrecv"));
	q = mkq(im, name, O_RDWR, 4, 64);
	c = helper(im, q, name, &hp);
	rp = fork_ready(0);
	if (rp == 0) {
		ready(0);
		_exit(im->receive(q, got, 64, NULL) == 4 ? 0 : 1);
	}
	ok(wait_blocked(rp, 0), "[%s] a process blocks in receive", T);
	is(im->notify(q, &sev), 0, "[%s] this process registers", T);
	is(im->send(q, "only", 4, 0), 0, "[%s] a message", T);
	ok(reap_child(rp, 10.0) && !memcmp(got, "only", 4), "[%s] ... goes to the blocked receiver",
	   T);
	ok(!take_signal(nsig(), QUIET_MS, &si), "[%s] ... and there is no notification", T);
	ok(rv_is(cmd(c, CMD_REG_SIGNAL), EBUSY), "[%s] the registration remains in effect (EBUSY)", T);
	im->send(q, "next", 4, 0);
	ok(take_signal(nsig(), COME_MS, &si), "[%s] the next message, no receiver blocked: notified", T);
	helper_exit(c, hp);
	im->close(q);
	im->unlink(name);
}

/*
 * A receiver that is no longer blocked, because it was killed, interrupted
 * or timed out, must not keep suppressing notifications.
 */
static void g_notify_gone_receiver(const struct impl *im)
{
	static const char *const how[] = { "killed with SIGKILL", "interrupted (EINTR)",
					   "timed out (ETIMEDOUT)" };
	const char *T = im->tag;
	struct sigevent sev = sev_signal(nsig(), (union sigval){ .sival_int = 3 });
	char name[NAME_MAX + 2];
	siginfo_t si;
	int q, qs[3];

	block_signal(nsig());
	for (int k = 0; k < 3; k++) {
		pid_t rp;
		int status;

		snprintf(name, sizeof(name), "%s", qname(im, "ngone"));
		q = mkq(im, name, O_RDWR, 4, 64);
		rp = fork_ready(0);
		if (rp == 0) {
			char b[64];
			struct timespec dl = rt_in(0.5);

			set_handler(SIGUSR1, on_usr1, 0);
			ready(0);
			if (k == 2)
				im->timedreceive(q, b, 64, NULL, &dl);
			else
				im->receive(q, b, 64, NULL);
			_exit(0);
		}
		ok(wait_blocked(rp, 0), "[%s] a process blocks in receive", T);
		if (k == 0)
			kill(rp, SIGKILL);
		else if (k == 1)
			kill(rp, SIGUSR1);
		waitpid(rp, &status, 0);
		is(im->notify(q, &sev), 0, "[%s] the receiver %s; this process registers", T, how[k]);
		im->send(q, "m", 1, 0);
		ok(take_signal(nsig(), COME_MS, &si),
		   "[%s] a message to the empty queue with the receiver %s: notified", T, how[k]);
		im->notify(q, NULL);
		im->unlink(name);
		qs[k] = q;	/* closed at the end: no close before a fork */
	}
	for (int k = 0; k < 3; k++)
		im->close(qs[k]);
}

/* The registrant dies (kill -9), or closes its descriptor. */
static void g_notify_registrant(const struct impl *im)
{
	const char *T = im->tag;
	struct sigevent sev = sev_signal(nsig(), (union sigval){ .sival_int = 4 });
	char name[NAME_MAX + 2];
	struct cmd_area *c[4];
	pid_t hp[4];
	siginfo_t si;
	int q;

	block_signal(nsig());
	snprintf(name, sizeof(name), "%s", qname(im, "nreg"));
	q = mkq(im, name, O_RDWR, 4, 64);
	for (int i = 0; i < 4; i++)
		c[i] = helper(im, q, name, &hp[i]);

	/* Killed, a zombie not yet reaped. */
	ok(rv_is(cmd(c[0], CMD_REG_SIGNAL), 0), "[%s] a helper process registers", T);
	is_err(im->notify(q, &sev), EBUSY, "[%s] ... this process: EBUSY", T);
	kill(hp[0], SIGKILL);
	ok(wait_dead_unreaped(hp[0]), "[%s] kill -9 the registrant (a zombie now)", T);
	is(im->notify(q, &sev), 0, "[%s] ... this process may register", T);
	waitpid(hp[0], NULL, 0);
	im->send(q, "a", 1, 0);
	ok(take_signal(nsig(), COME_MS, &si), "[%s] ... and is notified", T);
	drain(im, q);

	/* Killed and reaped, then a message arrives: nobody is notified. */
	ok(rv_is(cmd(c[1], CMD_REG_SIGNAL), 0), "[%s] another helper registers", T);
	kill_reap(hp[1]);
	im->send(q, "b", 1, 0);
	ok(!take_signal(nsig(), QUIET_MS, &si) && curmsgs(im, q) == 1,
	   "[%s] killed, then a message: queued, nobody notified", T);
	drain(im, q);
	is(im->notify(q, &sev), 0, "[%s] ... and this process may register", T);
	is(im->notify(q, NULL), 0, "[%s] (unregister)", T);

	/* A non-registrant's close changes nothing. */
	ok(rv_is(cmd(c[2], CMD_REG_SIGNAL), 0), "[%s] a helper registers", T);
	ok(rv_is(cmd(c[3], CMD_CLOSE), 0), "[%s] another helper closes its descriptor", T);
	is_err(im->notify(q, &sev), EBUSY, "[%s] ... the registration stays (EBUSY)", T);

	/* The registrant closes another descriptor of the queue (the kernel's
	 * mqueue_flush_file: any close by the registrant ends it). */
	ok(rv_is(cmd(c[2], CMD_OPEN_CLOSE), 0),
	   "[%s] the registrant opens the queue again and closes that descriptor", T);
	is(im->notify(q, &sev), 0, "[%s] ... its registration is gone: this process registers", T);
	is(im->notify(q, NULL), 0, "[%s] (unregister)", T);

	/* The registrant closes the descriptor it registered with. */
	ok(rv_is(cmd(c[2], CMD_REG_SIGNAL), 0), "[%s] the helper registers again", T);
	is_err(im->notify(q, &sev), EBUSY, "[%s] ... EBUSY for this process", T);
	ok(rv_is(cmd(c[2], CMD_CLOSE), 0), "[%s] the registrant closes its descriptor (mq_close)", T);
	is(im->notify(q, &sev), 0, "[%s] ... another process may register at once", T);
	im->send(q, "c", 1, 0);
	ok(take_signal(nsig(), COME_MS, &si), "[%s] ... and is notified", T);
	ok(cmd(c[2], CMD_QUIET).r == 0, "[%s] ... the helper that closed is not", T);

	helper_exit(c[2], hp[2]);
	helper_exit(c[3], hp[3]);
	im->close(q);
	im->unlink(name);
}

/* SIGEV_NONE registers without a signal, and is one-shot too. */
static void g_notify_none(const struct impl *im)
{
	const char *T = im->tag;
	struct sigevent none = { .sigev_notify = SIGEV_NONE };
	char name[NAME_MAX + 2];
	struct cmd_area *c;
	siginfo_t si;
	pid_t hp;
	int q;

	block_signal(nsig());
	snprintf(name, sizeof(name), "%s", qname(im, "nnone"));
	q = mkq(im, name, O_RDWR, 4, 64);
	c = helper(im, q, name, &hp);
	is(im->notify(q, &none), 0, "[%s] notify SIGEV_NONE: 0", T);
	ok(rv_is(cmd(c, CMD_REG_SIGNAL), EBUSY), "[%s] ... it is a registration: EBUSY for others", T);
	ok(rv_is(cmd(c, CMD_SEND), 0), "[%s] a message to the empty queue", T);
	ok(!take_signal(nsig(), QUIET_MS, &si), "[%s] ... no signal", T);
	ok(rv_is(cmd(c, CMD_REG_SIGNAL), 0), "[%s] ... and the registration is used up: the other may "
	   "register", T);
	helper_exit(c, hp);
	im->close(q);
	im->unlink(name);
}

/* ------------------------------------------------------------------------ */
/* notify: SIGEV_THREAD                                                     */
/* ------------------------------------------------------------------------ */

static struct {
	int runs;
	pid_t pid;
	long tid;
	void *value;
	size_t stack;
} tn;

static void tn_fn(union sigval v)
{
	pthread_attr_t a;

	tn.pid = getpid();
	tn.tid = (long)syscall(SYS_gettid);
	tn.value = v.sival_ptr;
	tn.stack = 0;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		pthread_attr_getstacksize(&a, &tn.stack);
		pthread_attr_destroy(&a);
	}
	__atomic_add_fetch(&tn.runs, 1, __ATOMIC_RELEASE);
}

static bool tn_wait(int runs, double secs)
{
	double end = now() + secs;

	while (__atomic_load_n(&tn.runs, __ATOMIC_ACQUIRE) < runs && now() < end)
		sleep_us(500);
	return __atomic_load_n(&tn.runs, __ATOMIC_ACQUIRE) >= runs;
}

static struct sigevent sev_thread(void *value, pthread_attr_t *attr)
{
	struct sigevent s;

	memset(&s, 0, sizeof(s));
	s.sigev_notify = SIGEV_THREAD;
	s.sigev_notify_function = tn_fn;
	s.sigev_notify_attributes = attr;
	s.sigev_value.sival_ptr = value;
	return s;
}

static void g_notify_thread(const struct impl *im)
{
	const char *T = im->tag;
	struct sigevent sev = sev_thread(&tn, NULL);
	char name[NAME_MAX + 2];
	struct cmd_area *c;
	long main_tid = (long)syscall(SYS_gettid);
	pid_t hp;
	int q, q2;

	block_signal(nsig());
	snprintf(name, sizeof(name), "%s", qname(im, "nthr"));
	q = mkq(im, name, O_RDWR, 4, 64);
	c = helper(im, q, name, &hp);	/* before any thread exists here */

	is(im->notify(q, &sev), 0, "[%s] notify SIGEV_THREAD: 0", T);
	ok(rv_is(cmd(c, CMD_REG_SIGNAL), EBUSY), "[%s] ... another process: EBUSY", T);
	sleep_ms(20);
	ok(rv_is(cmd(c, CMD_SEND), 0), "[%s] another process sends to the empty queue", T);
	ok(tn_wait(1, COME_MS / 1e3), "[%s] ... the function runs", T);
	ok(tn.pid == getpid() && tn.tid != main_tid && tn.tid > 0,
	   "[%s] ... in a new thread of the registrant's process", T);
	ok(tn.value == &tn, "[%s] ... with the registered value", T);
	drain(im, q);
	im->send(q, "again", 5, 0);
	sleep_ms(QUIET_MS);
	is(tn.runs, 1, "[%s] one-shot: a later message runs nothing", T);
	drain(im, q);

	/* NULL unregisters. */
	is(im->notify(q, &sev), 0, "[%s] register SIGEV_THREAD again", T);
	sleep_ms(20);
	is(im->notify(q, NULL), 0, "[%s] notify NULL", T);
	ok(rv_is(cmd(c, CMD_REG_NONE), 0), "[%s] ... another process may register", T);
	ok(rv_is(cmd(c, CMD_REG_NULL), 0), "[%s] (it unregisters)", T);
	im->send(q, "n", 1, 0);
	sleep_ms(QUIET_MS);
	is(tn.runs, 1, "[%s] ... and a message runs nothing", T);
	drain(im, q);

	/* Closing any descriptor of the queue unregisters. */
	q2 = im->open(name, O_RDWR, 0, NULL);
	is(im->notify(q2, &sev), 0, "[%s] register SIGEV_THREAD through a second descriptor", T);
	sleep_ms(20);
	is(im->close(q2), 0, "[%s] ... close that descriptor", T);
	ok(rv_is(cmd(c, CMD_REG_NONE), 0), "[%s] ... another process may register", T);
	ok(rv_is(cmd(c, CMD_REG_NULL), 0), "[%s] (it unregisters)", T);
	im->send(q, "c", 1, 0);
	sleep_ms(QUIET_MS);
	is(tn.runs, 1, "[%s] ... and a message runs nothing", T);
	drain(im, q);

	{
		struct sigevent bad = sev_thread(NULL, NULL);

		bad.sigev_notify_function = NULL;
		if (!im->kernel)	/* glibc would call NULL in its thread */
			is_err(im->notify(q, &bad), EINVAL, "[%s] SIGEV_THREAD without a function: EINVAL",
			       T);
	}
	helper_exit(c, hp);
	im->close(q);
	im->unlink(name);
}

static volatile sig_atomic_t race_armed;

static void on_race_timer(int sig)
{
	(void)sig;
	if (race_armed) {
		race_armed = 0;
		sleep_us(20000);
	}
}

/*
 * SIGEV_THREAD under unlucky timing: (a) the message right after mq_notify
 * returns, while the helper thread is starting; (b) the registering thread
 * delayed (a signal handler sleeping) just after the helper thread was
 * made, as preemption may do.  The function must run every time.
 */
static void g_notify_thread_race(const struct impl *im)
{
	const char *T = im->tag;
	struct sigevent sev = sev_thread(&tn, NULL), tsev;
	char name[NAME_MAX + 2], buf[64];
	const int rounds = 20;
	int q, missed = 0, runs = 0;
	timer_t timer;

	snprintf(name, sizeof(name), "%s", qname(im, "nrace"));
	q = mkq(im, name, O_RDWR, 4, 64);
	for (int i = 0; i < 10 * rounds && missed < 3; i++) {
		double until;

		if (im->notify(q, &sev) != 0) {
			missed++;
			continue;
		}
		/* 0 to 95 us later: across the helper thread's start. */
		until = now() + (i % 20) * 5e-6;
		while (now() < until)
			;
		im->send(q, "now", 3, 0);
		if (!tn_wait(++runs, 1.0)) {
			missed++;
			runs = tn.runs;
			im->notify(q, NULL);
		}
		im->receive(q, buf, 64, NULL);
	}
	ok(missed == 0, "[%s] SIGEV_THREAD, a message right after mq_notify: the function runs every "
	   "time (%d missed of up to %d rounds; 3 end them)", T, missed, 10 * rounds);

	set_handler(SIGUSR2, on_race_timer, SA_RESTART);
	memset(&tsev, 0, sizeof(tsev));
	tsev.sigev_notify = SIGEV_SIGNAL;
	tsev.sigev_signo = SIGUSR2;
	if (timer_create(CLOCK_MONOTONIC, &tsev, &timer) != 0) {
		ok(0, "[%s] timer_create: %s", T, strerror(errno));
		return;
	}
	missed = 0;
	for (int i = 0; i < rounds && missed < 3; i++) {
		struct itimerspec its = { { 0, 0 }, { 0, 5000 + 10000L * (i % 10) } };

		race_armed = 1;
		timer_settime(timer, 0, &its, NULL);
		if (im->notify(q, &sev) != 0) {
			missed++;
			continue;
		}
		sleep_ms(5);		/* the handler ran inside; the helper thread too */
		race_armed = 0;
		im->send(q, "later", 5, 0);
		if (!tn_wait(++runs, 1.0)) {
			missed++;
			runs = tn.runs;
			im->notify(q, NULL);
		}
		im->receive(q, buf, 64, NULL);
	}
	timer_delete(timer);
	ok(missed == 0, "[%s] SIGEV_THREAD, the registering thread delayed by a signal handler inside "
	   "mq_notify: the function runs every time (%d missed of up to %d rounds; 3 end them)", T, missed, rounds);
	im->close(q);
	im->unlink(name);
}

/* sigev_notify_attributes: used for the thread, and the caller's to destroy. */
static void g_notify_thread_attr(const struct impl *im)
{
	const char *T = im->tag;
	char name[NAME_MAX + 2];
	int q;

	snprintf(name, sizeof(name), "%s", qname(im, "nattr"));
	q = mkq(im, name, O_RDWR, 4, 64);
	for (int destroy = 0; destroy < 2; destroy++) {
		pthread_attr_t attr;
		struct sigevent sev = sev_thread(&tn, &attr);
		cpu_set_t cpus;
		const char *how = destroy ? "destroyed (and scribbled over) after mq_notify"
					  : "kept alive";

		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, (size_t)(1 + destroy) << 20);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		CPU_ZERO(&cpus);
		sched_getaffinity(0, sizeof(cpus), &cpus);
		pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
		is(im->notify(q, &sev), 0, "[%s] notify SIGEV_THREAD with attributes (%d MiB stack, "
		   "detached, an affinity)", T, 1 + destroy);
		/* POSIX lets the caller reuse or destroy its attributes object now. */
		if (destroy) {
			pthread_attr_destroy(&attr);
			memset(&attr, 0xa5, sizeof(attr));
		}
		sleep_ms(20);
		im->send(q, "attr", 4, 0);
		ok(tn_wait(destroy + 1, COME_MS / 1e3), "[%s] ... the attributes %s: the function runs",
		   T, how);
		ok(tn.stack >= (size_t)(1 + destroy) << 20,
		   "[%s] ... on a thread made with them (stack %zu)", T, tn.stack);
		drain(im, q);
		if (!destroy)
			pthread_attr_destroy(&attr);
		im->notify(q, NULL);
	}
	sleep_ms(50);
	im->close(q);
	im->unlink(name);
}

/* ------------------------------------------------------------------------ */
/* perm (root): a child dropped to nobody                                   */
/* ------------------------------------------------------------------------ */

static bool become_nobody(void)
{
	return setgroups(0, NULL) == 0 && setgid(nobody) == 0 && setuid(nobody) == 0;
}

struct perm_result {
	int dropped;
	struct rv v[8];
	char buf[64];
};

static void g_perm(const struct impl *im)
{
	const char *T = im->tag;
	struct perm_result *res = shared(sizeof(*res));
	struct sigevent sev = sev_signal(nsig(), (union sigval){ .sival_int = 65534 });
	char n600[NAME_MAX + 2], n666[NAME_MAX + 2];
	static const int acc[3] = { O_RDONLY, O_WRONLY, O_RDWR };
	static const char *const accn[3] = { "O_RDONLY", "O_WRONLY", "O_RDWR" };
	siginfo_t si;
	int q600, q666;
	pid_t pid;

	block_signal(nsig());
	umask(0);
	snprintf(n600, sizeof(n600), "%s", qname(im, "p600"));
	snprintf(n666, sizeof(n666), "%s", qname(im, "p666"));
	q600 = im->open(n600, O_RDWR | O_CREAT | O_EXCL, 0600,
			&(struct mq_attr){ .mq_maxmsg = 4, .mq_msgsize = 64 });
	q666 = im->open(n666, O_RDWR | O_CREAT | O_EXCL, 0666,
			&(struct mq_attr){ .mq_maxmsg = 4, .mq_msgsize = 64 });
	ok(q600 >= 0 && q666 >= 0, "[%s] root makes queues of mode 0600 and 0666", T);
	is(im->notify(q666, &sev), 0, "[%s] root registers for the 0666 queue", T);
	im->send(q600, "root", 4, 0);

	pid = fork_child();
	if (pid == 0) {
		int o;

		res->dropped = become_nobody();
		o = im->open(n666, O_WRONLY, 0, NULL);
		res->v[3] = CALL(o < 0 ? -1 : im->send(o, "nobody", 6, 5));
		for (int i = 0; i < 3; i++)
			res->v[i] = CALL(im->open(n600, acc[i], 0, NULL));
		res->v[4] = CALL(im->unlink(n600));
		o = im->open(n666, O_RDWR, 0, NULL);
		res->v[5] = CALL(o < 0 ? -1 : im->receive(o, res->buf, 64, NULL));
		_exit(0);
	}
	ok(reap_child(pid, 10.0) && res->dropped, "[%s] a child drops to nobody", T);
	for (int i = 0; i < 3; i++)
		ok(rv_is(res->v[i], EACCES), "[%s] nobody opens root's 0600 queue %s: EACCES (%s)", T,
		   accn[i], res->v[i].r == -1 ? ename(res->v[i].e) : "opened");
	ok(rv_is(res->v[4], EACCES), "[%s] nobody unlinks root's queue: EACCES (%s)", T,
	   res->v[4].r == -1 ? ename(res->v[4].e) : "removed");
	ok(curmsgs(im, q600) == 1 && im->open(n600, O_RDWR, 0, NULL) >= 0,
	   "[%s] ... and the queue is still there", T);
	ok(rv_is(res->v[3], 0) && res->v[5].r == 6 && !memcmp(res->buf, "nobody", 6),
	   "[%s] nobody sends to and receives from the 0666 queue", T);
	if (im->kernel) {
		ok(take_signal(nsig(), COME_MS, &si), "[%s] nobody's message notifies root, the registrant", T);
		ok(si.si_code == SI_MESGQ && si.si_pid == pid && si.si_uid == nobody,
		   "[%s] ... si_pid the sender, si_uid nobody (code %d, pid %d, uid %d)", T, si.si_code,
		   (int)si.si_pid, (int)si.si_uid);
	} else {
		/* docs/mq.md: the sender signals, so it needs the right to signal the registrant. */
		ok(!take_signal(nsig(), COME_MS, &si),
		   "[%s] nobody may not signal root: no notification (documented)", T);
	}
	im->close(q600);
	im->close(q666);
	im->unlink(n600);
	im->unlink(n666);
}

/*
 * Modes and access modes, as nobody, on both: kipc may never let in whom
 * the kernel keeps out.  Where kipc is stricter (every end of a kipc queue
 * writes its file, so it needs read and write permission), a diagnostic.
 */
static void g_perm_compare(const struct impl *im_unused)
{
	static const mode_t others[] = { 0600, 0604, 0602, 0606, 0644, 0622, 0666, 0660 };
	static const mode_t own[] = { 0600, 0400, 0200, 0000, 0060 };
	static const int acc[3] = { O_RDONLY, O_WRONLY, O_RDWR };
	static const char *const accn[3] = { "O_RDONLY", "O_WRONLY", "O_RDWR" };
	struct cmp { int k, p; } *res = shared(64 * 3 * sizeof(*res));
	const struct impl *ims[2] = { &kipc_impl, &kernel_impl };
	char names[2][8][NAME_MAX + 2];
	int leaks = 0, stricter = 0, n = 0, made[2][8];
	pid_t pid;

	(void)im_unused;
	umask(0);
	for (int i = 0; i < 2; i++)
		for (size_t m = 0; m < sizeof(others) / sizeof(others[0]); m++) {
			int q;

			snprintf(names[i][m], sizeof(names[i][m]), "%s", qname(ims[i], "pcmp"));
			q = ims[i]->open(names[i][m], O_RDWR | O_CREAT | O_EXCL, others[m],
					 &(struct mq_attr){ .mq_maxmsg = 2, .mq_msgsize = 16 });
			made[i][m] = q;	/* closed after the fork */
		}
	pid = fork_child();
	if (pid == 0) {
		if (!become_nobody())
			_exit(1);
		for (size_t m = 0; m < sizeof(others) / sizeof(others[0]); m++)
			for (int a = 0; a < 3; a++) {
				struct cmp *c = &res[m * 3 + (size_t)a];

				for (int i = 0; i < 2; i++) {
					struct rv v = CALL(ims[i]->open(names[i][m], acc[a], 0, NULL));

					(i ? &c->k : &c->p)[0] = v.r >= 0 ? 0 : v.e;
					if (v.r >= 0)
						ims[i]->close((int)v.r);
				}
			}
		/* nobody's own queues. */
		for (size_t m = 0; m < sizeof(own) / sizeof(own[0]); m++) {
			char nm[2][NAME_MAX + 2];

			for (int i = 0; i < 2; i++) {
				int q;

				snprintf(nm[i], sizeof(nm[i]), "%s", qname(ims[i], "pown"));
				q = ims[i]->open(nm[i], O_RDWR | O_CREAT | O_EXCL, own[m],
						 &(struct mq_attr){ .mq_maxmsg = 2, .mq_msgsize = 16 });
				ims[i]->close(q);
			}
			for (int a = 0; a < 3; a++) {
				struct cmp *c = &res[(sizeof(others) / sizeof(others[0]) + m) * 3 +
						     (size_t)a];

				for (int i = 0; i < 2; i++) {
					struct rv v = CALL(ims[i]->open(nm[i], acc[a], 0, NULL));

					(i ? &c->k : &c->p)[0] = v.r >= 0 ? 0 : v.e;
					if (v.r >= 0)
						ims[i]->close((int)v.r);
				}
			}
			for (int i = 0; i < 2; i++)
				ims[i]->unlink(nm[i]);
		}
		_exit(0);
	}
	ok(reap_child(pid, 20.0), "nobody opens root's queues of 8 modes and its own of 5, on both");
	for (size_t m = 0; m < sizeof(others) / sizeof(others[0]) + sizeof(own) / sizeof(own[0]); m++)
		for (int a = 0; a < 3; a++) {
			struct cmp *c = &res[m * 3 + (size_t)a];
			bool mine = m >= sizeof(others) / sizeof(others[0]);
			mode_t mode = mine ? own[m - sizeof(others) / sizeof(others[0])] : others[m];

			n++;
			if (c->k && !c->p) {
				leaks++;
				diag("MORE PERMISSIVE: %s queue mode %04o, %s: the kernel says %s, kipc opens",
				     mine ? "its own" : "root's", (unsigned int)mode, accn[a], ename(c->k));
			} else if (!c->k && c->p) {
				stricter++;
				diag("stricter than the kernel: %s queue mode %04o, %s: kipc %s, the kernel "
				     "opens", mine ? "its own" : "root's", (unsigned int)mode, accn[a],
				     ename(c->p));
			} else if (c->k != c->p) {
				leaks++;
				diag("different errors: mode %04o, %s: kernel %s, kipc %s",
				     (unsigned int)mode, accn[a], ename(c->k), ename(c->p));
			}
		}
	ok(leaks == 0, "as nobody, kipc opens no queue the kernel refuses (%d cases; %d where kipc is "
	   "stricter)", n, stricter);
	for (int i = 0; i < 2; i++)
		for (size_t m = 0; m < sizeof(others) / sizeof(others[0]); m++) {
			ims[i]->close(made[i][m]);
			ims[i]->unlink(names[i][m]);
		}
}

/* ------------------------------------------------------------------------ */
/* compare: the same calls on kipc and on the kernel                        */
/* ------------------------------------------------------------------------ */

enum { D_RDWR, D_RDONLY, D_WRONLY, D_CLOSED, D_NEG, D_PIPE, D_NKINDS };
static const char *const dname[D_NKINDS] = { "O_RDWR", "O_RDONLY", "O_WRONLY", "closed", "-1",
					     "a pipe" };

struct side {
	const struct impl *im;
	char name[NAME_MAX + 2];
	int admin;		/* O_RDWR | O_NONBLOCK, for setting states up */
	int d[D_NKINDS];
	int pfd[2];
};

static bool side_open(struct side *s, const struct impl *im, long maxmsg, long msgsize)
{
	s->im = im;
	snprintf(s->name, sizeof(s->name), "%s", qname(im, "cmp"));
	if (im->pipe(s->pfd))
		return false;
	s->admin = mkq(im, s->name, O_RDWR | O_NONBLOCK, maxmsg, msgsize);
	s->d[D_RDWR] = im->open(s->name, O_RDWR, 0, NULL);
	s->d[D_RDONLY] = im->open(s->name, O_RDONLY, 0, NULL);
	s->d[D_WRONLY] = im->open(s->name, O_WRONLY, 0, NULL);
	s->d[D_CLOSED] = im->open(s->name, O_RDWR, 0, NULL);
	im->close(s->d[D_CLOSED]);	/* nothing is opened after this */
	s->d[D_NEG] = -1;
	s->d[D_PIPE] = s->pfd[0];
	return s->admin >= 0 && s->d[D_RDWR] >= 0 && s->d[D_RDONLY] >= 0 && s->d[D_WRONLY] >= 0;
}

static void side_close(struct side *s)
{
	for (int d = D_RDWR; d <= D_WRONLY; d++)
		s->im->close(s->d[d]);
	s->im->close(s->admin);
	s->im->pipe_close(s->pfd[0]);
	s->im->pipe_close(s->pfd[1]);
	s->im->unlink(s->name);
}

/* Empties the queue and puts n messages in ("m<i>", priority i). */
static void side_state(struct side *s, int n)
{
	char m[16];

	drain(s->im, s->admin);
	for (int i = 0; i < n; i++) {
		snprintf(m, sizeof(m), "m%d", i);
		s->im->send(s->admin, m, strlen(m), (unsigned int)(i % 3) * 2);
	}
}

static void side_nonblock(struct side *s, bool on)
{
	for (int d = D_RDWR; d <= D_WRONLY; d++)
		set_nonblock(s->im, s->d[d], on);
}

enum { OP_SEND, OP_TIMEDSEND, OP_RECEIVE, OP_TIMEDRECEIVE, OP_N };
static const char *const opname[OP_N] = { "send", "timedsend", "receive", "timedreceive" };
enum { TS_NONE, TS_PAST, TS_ZERO, TS_NEAR, TS_NSEC_BIG, TS_NSEC_NEG, TS_SEC_NEG, TS_N };
static const char *const tsname[TS_N] = { "-", "past", "{0,0}", "20ms ahead", "{0,1e9}", "{0,-1}",
					  "{-1,0}" };

struct outcome_mq {
	long r;
	int e;
	long cur;
	unsigned int prio;
	char buf[80];
};

static struct outcome_mq side_call(struct side *s, int op, int d, size_t len, unsigned int prio,
				   int ts)
{
	struct outcome_mq o;
	struct timespec t;
	const struct timespec *tp = &t;
	char msg[80];

	memset(&o, 0, sizeof(o));
	memset(msg, 'x', sizeof(msg));
	switch (ts) {
	case TS_PAST: t = rt_in(-1); break;
	case TS_ZERO: t = (struct timespec){ 0, 0 }; break;
	case TS_NEAR: t = rt_in(0.02); break;
	case TS_NSEC_BIG: t = (struct timespec){ 0, 1000000000 }; break;
	case TS_NSEC_NEG: t = (struct timespec){ 0, -1 }; break;
	case TS_SEC_NEG: t = (struct timespec){ -1, 0 }; break;
	default: tp = NULL; break;
	}
	errno = 0;
	switch (op) {
	case OP_SEND: o.r = s->im->send(s->d[d], msg, len, prio); break;
	case OP_TIMEDSEND: o.r = s->im->timedsend(s->d[d], msg, len, prio, tp); break;
	case OP_RECEIVE: o.r = (long)s->im->receive(s->d[d], o.buf, len, &o.prio); break;
	default: o.r = (long)s->im->timedreceive(s->d[d], o.buf, len, &o.prio, tp); break;
	}
	o.e = o.r == -1 ? errno : 0;
	o.cur = curmsgs(s->im, s->admin);
	return o;
}

static void g_compare_sendrecv(const struct impl *unused)
{
	struct side k, p;
	static const int states[3] = { 0, 2, 4 };
	int mism[OP_N][D_NKINDS] = { { 0 } }, cases[OP_N][D_NKINDS] = { { 0 } };
	char why[OP_N][D_NKINDS][400];

	(void)unused;
	memset(why, 0, sizeof(why));
	ok(side_open(&p, &kipc_impl, 4, 64) && side_open(&k, &kernel_impl, 4, 64),
	   "compare: a 4 x 64 queue on each, opened O_RDWR, O_RDONLY and O_WRONLY");
	for (int op = 0; op < OP_N; op++)
		for (int d = 0; d < D_NKINDS; d++)
			for (int st = 0; st < 3; st++)
				for (int nb = 0; nb < 2; nb++)
					for (int lenok = 0; lenok < 2; lenok++)
						for (int priook = 0; priook < 2; priook++)
							for (int ts = 0; ts < TS_N; ts++) {
		bool sendop = op == OP_SEND || op == OP_TIMEDSEND;
		bool timed = op == OP_TIMEDSEND || op == OP_TIMEDRECEIVE;
		size_t len = sendop ? (lenok ? 64 : 65) : (lenok ? 64 : 63);
		unsigned int prio = priook ? 5 : 32768;
		bool access = d == D_RDWR || (sendop ? d == D_WRONLY : d == D_RDONLY);
		bool blocks = access && lenok && (priook || !sendop) && !nb &&
			      (sendop ? states[st] == 4 : states[st] == 0);
		struct outcome_mq a, b;

		if ((timed && ts == TS_NONE) || (!timed && ts != TS_NONE))
			continue;
		if (!sendop && !priook)
			continue;
		if (!timed && blocks)
			continue;	/* it would wait for ever */
		if (ts == TS_NEAR && !blocks)
			continue;
		side_state(&p, states[st]);
		side_state(&k, states[st]);
		side_nonblock(&p, nb);
		side_nonblock(&k, nb);
		a = side_call(&p, op, d, len, prio, ts);
		b = side_call(&k, op, d, len, prio, ts);
		cases[op][d]++;
		if (a.r != b.r || a.e != b.e || a.cur != b.cur ||
		    (a.r > 0 && (a.prio != b.prio || memcmp(a.buf, b.buf, (size_t)a.r)))) {
			char *w = why[op][d];

			if (mism[op][d]++ < 3)
				snprintf(w + strlen(w), sizeof(why[0][0]) - strlen(w),
					 "\n#     %d msgs%s len %zu prio %u timeout %s: kernel %ld %s "
					 "(curmsgs %ld), kipc %ld %s (curmsgs %ld)", states[st],
					 nb ? " O_NONBLOCK" : "", len, prio, tsname[ts], b.r, ename(b.e),
					 b.cur, a.r, ename(a.e), a.cur);
		}
	}
	for (int op = 0; op < OP_N; op++)
		for (int d = 0; d < D_NKINDS; d++)
			ok(mism[op][d] == 0, "compare: %s on a %s descriptor: kipc's result and errno are "
			   "the kernel's in all %d cases (states, O_NONBLOCK, lengths, priorities, "
			   "timeouts)%s", opname[op], dname[d], cases[op][d], why[op][d]);
	side_nonblock(&p, 0);
	side_nonblock(&k, 0);

	/* getattr and setattr. */
	{
		static const long flags[] = { 0, O_NONBLOCK, O_NONBLOCK | 1, O_APPEND, O_RDWR, -1,
					      LONG_MIN, 1L << 40 };
		int bad = 0, n = 0;
		char w[600] = "";

		side_state(&p, 1);
		side_state(&k, 1);
		for (int d = 0; d < D_NKINDS; d++)
			for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++)
				for (int withold = 0; withold < 2; withold++) {
					struct mq_attr oa, ob, ga, gb;
					struct rv va, vb, gva, gvb;

					memset(&oa, 0, sizeof(oa));
					memset(&ob, 0, sizeof(ob));
					memset(&ga, 0, sizeof(ga));
					memset(&gb, 0, sizeof(gb));
					va = CALL(p.im->setattr(p.d[d], &(struct mq_attr){ .mq_flags = flags[f] },
								withold ? &oa : NULL));
					vb = CALL(k.im->setattr(k.d[d], &(struct mq_attr){ .mq_flags = flags[f] },
								withold ? &ob : NULL));
					gva = CALL(p.im->getattr(p.d[d], &ga));
					gvb = CALL(k.im->getattr(k.d[d], &gb));
					n++;
					if (va.r != vb.r || va.e != vb.e || gva.r != gvb.r || gva.e != gvb.e ||
					    memcmp(&oa, &ob, sizeof(oa)) || memcmp(&ga, &gb, sizeof(ga))) {
						if (bad++ < 3)
							snprintf(w + strlen(w), sizeof(w) - strlen(w),
								 "\n#     %s flags %#lx%s: kernel %s, kipc %s",
								 dname[d], flags[f], withold ? " (old)" : "",
								 ename(vb.e), ename(va.e));
					}
					p.im->setattr(p.d[d], &(struct mq_attr){ 0 }, NULL);
					k.im->setattr(k.d[d], &(struct mq_attr){ 0 }, NULL);
				}
		ok(bad == 0, "compare: getattr and setattr (8 flag values, old or NULL, every descriptor "
		   "kind): the kernel's results in all %d cases%s", n, w);
	}
	side_close(&p);
	side_close(&k);
}

/* Open and unlink over names, flags, attributes and existence. */
static void g_compare_open(const struct impl *unused)
{
	enum { NM_NEW, NM_EXIST, NM_FIXED };
	static const struct { const char *s; const char *what; } fixed[] = {
		{ "x", "no slash" }, { "", "empty" }, { "/", "\"/\"" }, { "//", "\"//\"" },
		{ "/a/", "\"/a/\"" }, { "/a/b", "\"/a/b\"" }, { "/.", "\"/.\"" }, { "/..", "\"/..\"" },
		{ NULL, "NAME_MAX + 1 bytes" }, { NULL, "300 bytes with a slash inside" },
		{ NULL, "5000 bytes" },
	};
	static const int extras[] = { 0, O_EXCL, O_NONBLOCK, O_CLOEXEC, O_CREAT, O_CREAT | O_EXCL,
				      O_CREAT | O_NONBLOCK | O_CLOEXEC };
	static const int unknown[] = { O_TRUNC, O_APPEND, O_NOCTTY, O_SYNC, O_NOFOLLOW, O_DSYNC };
	static const int acc[3] = { O_RDONLY, O_WRONLY, O_RDWR };
	static const struct mq_attr attrs[] = {
		{ .mq_maxmsg = 4, .mq_msgsize = 64 }, { .mq_maxmsg = 0, .mq_msgsize = 64 },
		{ .mq_maxmsg = 4, .mq_msgsize = -1 }, { .mq_maxmsg = KIPC_MQ_MAXMSG + 1, .mq_msgsize = 64 },
		{ .mq_maxmsg = 1, .mq_msgsize = 1 },
	};
	const struct impl *ims[2] = { &kipc_impl, &kernel_impl };
	char *buf[2];

	(void)unused;
	buf[0] = malloc(6000);
	buf[1] = malloc(6000);
	for (int kind = 0; kind < 2 + (int)(sizeof(fixed) / sizeof(fixed[0])); kind++) {
		int bad = 0, n = 0;
		char w[800] = "";
		const char *what = kind == NM_NEW ? "a new name" : kind == NM_EXIST ? "an existing queue"
				 : fixed[kind - NM_FIXED].what;

		for (int a = 0; a < 3; a++)
			for (size_t x = 0; x < sizeof(extras) / sizeof(extras[0]); x++)
				for (size_t at = 0; at <= sizeof(attrs) / sizeof(attrs[0]); at++) {
					int oflag = acc[a] | extras[x];
					struct rv v[2], u[2];
					struct mq_attr ga[2];

					if (!(oflag & O_CREAT) && at > 0)
						continue;
					for (int i = 0; i < 2; i++) {
						const struct impl *im = ims[i];
						char *nm = buf[i];
						struct mq_attr at_copy;

						if (kind < NM_FIXED) {
							snprintf(nm, 6000, "%s", qname(im, "copen"));
						} else if (fixed[kind - NM_FIXED].s) {
							snprintf(nm, 6000, "%s", fixed[kind - NM_FIXED].s);
						} else {
							size_t len = kind - NM_FIXED == 8 ? NAME_MAX + 1
								   : kind - NM_FIXED == 9 ? 300 : 5000;

							nm[0] = '/';
							memset(nm + 1, 'y', len);
							nm[len + 1] = '\0';
							if (kind - NM_FIXED == 9)
								nm[12] = '/';
						}
						if (kind == NM_EXIST)
							im->close(mkq(im, nm, O_RDWR, 3, 32));
						if (at > 0)
							at_copy = attrs[at - 1];
						v[i] = CALL(im->open(nm, oflag, 0600, at > 0 ? &at_copy : NULL));
						memset(&ga[i], 0, sizeof(ga[i]));
						if (v[i].r >= 0) {
							im->getattr((int)v[i].r, &ga[i]);
							im->close((int)v[i].r);
						}
						u[i] = CALL(im->unlink(nm));
					}
					n++;
					if ((v[0].r >= 0) != (v[1].r >= 0) || v[0].e != v[1].e ||
					    memcmp(&ga[0], &ga[1], sizeof(ga[0])) || u[0].e != u[1].e) {
						if (bad++ < 4)
							snprintf(w + strlen(w), sizeof(w) - strlen(w),
								 "\n#     oflag %#o attr %ld x %ld: kernel %s "
								 "(unlink %s), kipc %s (unlink %s)", oflag,
								 at ? attrs[at - 1].mq_maxmsg : 0,
								 at ? attrs[at - 1].mq_msgsize : 0,
								 v[1].r >= 0 ? "opens" : ename(v[1].e),
								 ename(u[1].e),
								 v[0].r >= 0 ? "opens" : ename(v[0].e),
								 ename(u[0].e));
					}
				}
		ok(bad == 0, "compare: open and unlink %s: the kernel's results in all %d cases of "
		   "access, flags and attributes%s", what, n, w);
	}

	/* Flags the kernel's mq_open ignores. */
	{
		int bad = 0, n = 0;
		char w[800] = "";

		for (int kind = 0; kind < 2; kind++)
			for (size_t x = 0; x < sizeof(unknown) / sizeof(unknown[0]); x++)
				for (int creat = 0; creat < 2; creat++) {
					int oflag = O_RDWR | unknown[x] | (creat ? O_CREAT : 0);
					struct rv v[2];

					for (int i = 0; i < 2; i++) {
						snprintf(buf[i], 6000, "%s", qname(ims[i], "cflag"));
						if (kind == NM_EXIST)
							ims[i]->close(mkq(ims[i], buf[i], O_RDWR, 3, 32));
						v[i] = CALL(ims[i]->open(buf[i], oflag, 0600, NULL));
						if (v[i].r >= 0)
							ims[i]->close((int)v[i].r);
						ims[i]->unlink(buf[i]);
					}
					n++;
					if ((v[0].r >= 0) != (v[1].r >= 0) || v[0].e != v[1].e) {
						if (bad++ < 4)
							snprintf(w + strlen(w), sizeof(w) - strlen(w),
								 "\n#     %s, oflag %#o: kernel %s, kipc %s",
								 kind ? "existing" : "new", oflag,
								 v[1].r >= 0 ? "opens" : ename(v[1].e),
								 v[0].r >= 0 ? "opens" : ename(v[0].e));
					}
				}
		ok(bad == 0, "compare: oflag bits mq_open(2) ignores (O_TRUNC, O_APPEND, O_NOCTTY, O_SYNC, "
		   "O_NOFOLLOW, O_DSYNC): the kernel's results in all %d cases%s", n, w);
	}
	free(buf[0]);
	free(buf[1]);
}

/* notify's argument checks, on every descriptor kind, registered or not. */
static void g_compare_notify(const struct impl *unused)
{
	static const struct { int notify, signo; const char *what; } sevs[] = {
		{ SIGEV_NONE, 0, "SIGEV_NONE" }, { SIGEV_SIGNAL, SIGUSR1, "SIGEV_SIGNAL SIGUSR1" },
		{ SIGEV_SIGNAL, 64, "SIGEV_SIGNAL 64" }, { SIGEV_SIGNAL, 0, "SIGEV_SIGNAL 0" },
		{ SIGEV_SIGNAL, 65, "SIGEV_SIGNAL 65" }, { SIGEV_SIGNAL, -1, "SIGEV_SIGNAL -1" },
		{ 99, SIGUSR1, "sigev_notify 99" }, { SIGEV_THREAD_ID, SIGUSR1, "SIGEV_THREAD_ID" },
		{ -1, 0, "NULL" },
	};
	struct side k, p;

	(void)unused;
	block_signal(SIGUSR1);
	ok(side_open(&p, &kipc_impl, 4, 64) && side_open(&k, &kernel_impl, 4, 64),
	   "compare: a queue on each for mq_notify");
	for (size_t s = 0; s < sizeof(sevs) / sizeof(sevs[0]); s++) {
		int bad = 0, n = 0;
		char w[600] = "";

		for (int d = 0; d < D_NKINDS; d++)
			for (int reg = 0; reg < 2; reg++) {
				struct sigevent ev, none = { .sigev_notify = SIGEV_NONE };
				struct rv a, b;

				memset(&ev, 0, sizeof(ev));
				ev.sigev_notify = sevs[s].notify;
				ev.sigev_signo = sevs[s].signo;
				if (reg) {
					p.im->notify(p.admin, &none);
					k.im->notify(k.admin, &none);
				}
				a = CALL(p.im->notify(p.d[d], sevs[s].notify < 0 ? NULL : &ev));
				b = CALL(k.im->notify(k.d[d], sevs[s].notify < 0 ? NULL : &ev));
				n++;
				if (a.r != b.r || a.e != b.e) {
					if (bad++ < 3)
						snprintf(w + strlen(w), sizeof(w) - strlen(w),
							 "\n#     %s descriptor%s: kernel %s, kipc %s", dname[d],
							 reg ? ", already registered" : "", ename(b.e),
							 a.r == 0 ? "0" : ename(a.e));
				}
				p.im->notify(p.d[d], NULL);
				k.im->notify(k.d[d], NULL);
				p.im->notify(p.admin, NULL);
				k.im->notify(k.admin, NULL);
			}
		ok(bad == 0, "compare: notify %s on every descriptor kind, registered or not: the kernel's "
		   "results in all %d cases%s", sevs[s].what, n, w);
	}
	side_close(&p);
	side_close(&k);
}

/* ------------------------------------------------------------------------ */
/* stat: the tool's description of a queue                                  */
/* ------------------------------------------------------------------------ */

static bool tool_field(const char *tool, const char *name, const char *field, char *out, size_t n)
{
	char cmd[PATH_MAX * 2], line[512];
	size_t fl = strlen(field);
	bool found = false;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "'%s' stat mq:%s 2>/dev/null", tool, name);
	f = popen(cmd, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!found && !strncmp(line, field, fl)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, n, "%s", line + fl);
			found = true;
		}
	pclose(f);
	return found;
}

static void g_stat(const struct impl *im)
{
	char tool[PATH_MAX], name[64], v[4][128], want[128];
	struct sigevent sev = sev_signal(SIGUSR2, (union sigval){ .sival_int = 0 });
	char *slash;
	int q;

	(void)im;
	snprintf(tool, sizeof(tool), "%s", self_exe);
	slash = strrchr(tool, '/');
	if (slash)
		*slash = '\0';
	slash = strrchr(tool, '/');
	if (slash)
		snprintf(slash, sizeof(tool) - (size_t)(slash - tool), "/kipc");
	if (!slash || access(tool, X_OK) != 0) {
		ok(1, "kipc stat # SKIP no tool at %s", tool);
		return;
	}
	{
		/* A tool older than the library beside it may not know queues. */
		char lib[PATH_MAX];
		struct stat ts, ls;

		snprintf(lib, sizeof(lib), "%.*s/libkipc.a", (int)(strrchr(tool, '/') - tool), tool);
		if (stat(tool, &ts) == 0 && stat(lib, &ls) == 0 && ts.st_mtime < ls.st_mtime) {
			ok(1, "kipc stat # SKIP %s is older than %s (make it)", tool, lib);
			return;
		}
	}
	block_signal(SIGUSR2);
	snprintf(name, sizeof(name), "/stat-%d", (int)getpid());
	q = kipc_mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600,
			 &(struct mq_attr){ .mq_maxmsg = 4, .mq_msgsize = 64 });
	kipc_mq_send(q, "hello", 5, 1);
	kipc_mq_send(q, "abc", 3, 2);
	kipc_mq_notify(q, &sev);
	ok(tool_field(tool, name, "QSIZE: ", v[0], sizeof(v[0])) &&
	   tool_field(tool, name, "NOTIFY: ", v[1], sizeof(v[1])) &&
	   tool_field(tool, name, "SIGNO: ", v[2], sizeof(v[2])) &&
	   tool_field(tool, name, "NOTIFY_PID: ", v[3], sizeof(v[3])),
	   "kipc stat mq:/name prints QSIZE, NOTIFY, SIGNO and NOTIFY_PID");
	snprintf(want, sizeof(want), "%d", (int)getpid());
	ok(!strcmp(v[0], "8") && !strcmp(v[1], "0") && atoi(v[2]) == SIGUSR2 && !strcmp(v[3], want),
	   "... 8 bytes queued, SIGEV_SIGNAL (0), signal %d, this pid (%s %s %s %s)", SIGUSR2, v[0],
	   v[1], v[2], v[3]);
	snprintf(want, sizeof(want), "QSIZE:8 NOTIFY:0 SIGNO:%d NOTIFY_PID:%d", SIGUSR2, (int)getpid());
	ok(tool_field(tool, name, want, v[0], sizeof(v[0])),
	   "... and the kernel's one-line form \"%s\"", want);
	kipc_mq_notify(q, NULL);
	ok(tool_field(tool, name, "NOTIFY_PID: ", v[3], sizeof(v[3])) && !strcmp(v[3], "0"),
	   "... NOTIFY_PID 0 once unregistered (%s)", v[3]);
	drain(&kipc_impl, q);
	ok(tool_field(tool, name, "QSIZE: ", v[0], sizeof(v[0])) && !strcmp(v[0], "0"),
	   "... QSIZE 0 once drained (%s)", v[0]);
	kipc_mq_close(q);
	kipc_mq_unlink(name);
}

/* ------------------------------------------------------------------------ */

static void cleanup(void)
{
	if (kreg)
		for (int i = 0; i < kreg->n && i < KREG_MAX; i++)
			mq_unlink(kreg->name[i]);
	if (ns_root[0])
		rm_tree(ns_root);
}

static void root_only(const char *name, void (*fn)(const struct impl *), bool both)
{
	if (!root) {
		ok(1, "%s # SKIP not root", name);
		return;
	}
	if (both)
		run_both(name, fn, 1);
	else if (have_kmq)
		run_group(name, fn, NULL);
	else
		ok(1, "%s # SKIP no kernel message queues", name);
}

int main(void)
{
	ssize_t n;

	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGPIPE, SIG_IGN);	/* a reader gone: still clean up */
	seed = tap_seed();
	root = geteuid() == 0;
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	self_exe[n > 0 ? n : 0] = '\0';
	snprintf(ns_root, sizeof(ns_root), "/dev/shm/kipc-test-mq-%d", (int)getpid());
	setenv("KIPC_NAMESPACE", ns_root, 1);
	kreg = shared(sizeof(*kreg));
	readyv = shared(64 * sizeof(int));
	{
		struct mq_attr a = { .mq_maxmsg = 1, .mq_msgsize = 16 };
		struct sigevent none = { .sigev_notify = SIGEV_NONE };
		char probe[64];
		int q;

		snprintf(probe, sizeof(probe), "/kipc-test-mq-%d-probe", (int)getpid());
		kreg_add(probe);
		q = mq_open(probe, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
		have_kmq = q >= 0;
		if (!have_kmq)
			diag("the kernel's message queues: %s; no comparisons", strerror(errno));
		have_knotify = have_kmq && mq_notify(q, &none) == 0;
		if (have_kmq && !have_knotify)
			diag("the kernel's mq_notify: %s; no comparisons for it", strerror(errno));
		if (q >= 0)
			mq_close(q);
		mq_unlink(probe);
	}

	run_both("open", g_open, 0);
	run_group("open: kipc's limits", g_open_kipc, NULL);
	run_both("unlink", g_unlink, 0);
	run_both("basic", g_basic, 0);
	run_both("descriptors", g_desc, 0);
	run_both("order", g_order, 0);
	run_group("order: kipc, large", g_order_kipc, &kipc_impl);
	run_both("timeouts", g_timeouts, 0);
	run_both("eintr", g_eintr, 0);
	run_both("processes", g_processes, 0);
	run_both("kill", g_kill, 0);
	run_both("fork", g_fork, 0);
	run_both("notify: SIGEV_SIGNAL", g_notify_signal, 1);
	run_both("notify: EBUSY", g_notify_busy, 1);
	run_both("notify: a blocked receiver", g_notify_receiver, 1);
	run_both("notify: receivers gone", g_notify_gone_receiver, 1);
	run_both("notify: the registrant", g_notify_registrant, 1);
	run_both("notify: SIGEV_NONE", g_notify_none, 1);
	run_both("notify: SIGEV_THREAD", g_notify_thread, 2);
	run_both("notify: SIGEV_THREAD timing", g_notify_thread_race, 2);
	run_both("notify: SIGEV_THREAD attributes", g_notify_thread_attr, 2);
	root_only("perm", g_perm, 1);
	root_only("perm: kipc against the kernel", g_perm_compare, 0);
	if (have_kmq) {
		run_group("compare: send and receive", g_compare_sendrecv, NULL);
		run_group("compare: open and unlink", g_compare_open, NULL);
	} else {
		ok(1, "compare # SKIP no kernel message queues");
	}
	if (have_knotify)
		run_group("compare: notify", g_compare_notify, NULL);
	else
		ok(1, "compare: notify # SKIP no kernel mq_notify");
	run_group("stat", g_stat, NULL);
	cleanup();
	return done_testing();
}
