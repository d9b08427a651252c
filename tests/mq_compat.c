// SPDX-License-Identifier: MIT
/*
 * Source compatibility with <mqueue.h> (SPEC section 1: "#define mq_open
 * kipc_mq_open is all a program needs to switch").
 *
 * The second half of this file is a program written against <mqueue.h>
 * with the standard names (mqd_t, mq_open, mq_send, ...); between the two
 * halves stand only kipc's header and the renaming defines.  The program
 * is the test: it checks what POSIX promises as it goes.  The first half
 * is the TAP harness and two witnesses that do not go through the
 * renaming: that the queue the program made is a kipc queue (a file in
 * the private namespace) and that the kernel has no queue of that name.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "testutil.h"

static char ns_root[256];

/* Is there a kipc queue file for name in the namespace? */
static int kipc_queue_file(const char *name)
{
	char path[PATH_MAX + NAME_MAX + 8];
	struct stat st;

	snprintf(path, sizeof(path), "%s/mq/%s", ns_root, name + 1);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Does the kernel have a queue of that name?  (The system call itself.) */
static int kernel_queue(const char *name)
{
	long fd = syscall(SYS_mq_open, name + 1, O_RDONLY, 0, NULL);

	if (fd >= 0)
		close((int)fd);
	return fd >= 0;
}

static int program(void);

int main(void)
{
	int r;

	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGPIPE, SIG_IGN);	/* a reader gone: still clean up */
	snprintf(ns_root, sizeof(ns_root), "/dev/shm/kipc-test-mq_compat-%d", (int)getpid());
	setenv("KIPC_NAMESPACE", ns_root, 1);
	r = program();
	is(r, 0, "the program ran to its end");
	rm_tree(ns_root);
	return done_testing();
}

/* ======================================================================== */
/* The switch: kipc's header and renaming defines, nothing else.            */
/* ======================================================================== */

#include <kipc/mq.h>

#define mqd_t		kipc_mqd_t
#define mq_open		kipc_mq_open
#define mq_close	kipc_mq_close
#define mq_unlink	kipc_mq_unlink
#define mq_send		kipc_mq_send
#define mq_timedsend	kipc_mq_timedsend
#define mq_receive	kipc_mq_receive
#define mq_timedreceive	kipc_mq_timedreceive
#define mq_notify	kipc_mq_notify
#define mq_getattr	kipc_mq_getattr
#define mq_setattr	kipc_mq_setattr

/* ======================================================================== */
/* The program, as written for <mqueue.h>.                                  */
/* ======================================================================== */

#define QNAME "/compat-queue"

static volatile sig_atomic_t notified;

static void on_notify(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	if (si->si_code == SI_MESGQ && si->si_value.sival_int == 42)
		notified = 1;
}

static int program(void)
{
	struct mq_attr attr, got;
	struct sigevent sev;
	struct sigaction sa;
	struct timespec ts;
	char buf[128];
	unsigned int prio;
	mqd_t mq, rd;
	pid_t pid;
	int status;

	ok(sizeof(mqd_t) == sizeof(int), "mqd_t is an int");

	memset(&attr, 0, sizeof(attr));
	attr.mq_maxmsg = 4;
	attr.mq_msgsize = 128;
	mq = mq_open(QNAME, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
	if (!ok(mq != (mqd_t)-1, "mq_open(O_CREAT | O_EXCL) gives a descriptor"))
		return 1;
	ok(kipc_queue_file(QNAME) && !kernel_queue(QNAME),
	   "... of a kipc queue: a file in the namespace, and no kernel queue of that name");
	ok(mq_open(QNAME, O_RDWR | O_CREAT | O_EXCL, 0600, &attr) == (mqd_t)-1 && errno == EEXIST,
	   "a second O_CREAT | O_EXCL: (mqd_t)-1 and EEXIST");

	ok(mq_getattr(mq, &got) == 0 && got.mq_maxmsg == 4 && got.mq_msgsize == 128 &&
	   got.mq_curmsgs == 0 && got.mq_flags == 0, "mq_getattr fills struct mq_attr");

	/* Priorities: highest first, FIFO within one. */
	ok(mq_send(mq, "low", 3, 1) == 0 && mq_send(mq, "high", 4, MQ_PRIO_MAX - 1) == 0 &&
	   mq_send(mq, "mid-1", 5, 10) == 0 && mq_send(mq, "mid-2", 5, 10) == 0,
	   "four sends, priorities 1, MQ_PRIO_MAX - 1, 10, 10");
	ok(mq_receive(mq, buf, sizeof(buf), &prio) == 4 && prio == MQ_PRIO_MAX - 1 &&
	   !memcmp(buf, "high", 4), "mq_receive: the highest priority first");
	ok(mq_receive(mq, buf, sizeof(buf), &prio) == 5 && prio == 10 && !memcmp(buf, "mid-1", 5) &&
	   mq_receive(mq, buf, sizeof(buf), &prio) == 5 && prio == 10 && !memcmp(buf, "mid-2", 5),
	   "... then the two of priority 10, in the order sent");
	ok(mq_receive(mq, buf, sizeof(buf), NULL) == 3 && !memcmp(buf, "low", 3),
	   "... then the lowest (msg_prio NULL)");

	/* The errors a program tests for. */
	ok(mq_send(mq, buf, 129, 0) == -1 && errno == EMSGSIZE, "too long: EMSGSIZE");
	ok(mq_receive(mq, buf, 64, NULL) == -1 && errno == EMSGSIZE,
	   "a buffer smaller than mq_msgsize: EMSGSIZE");
	ok(mq_send(mq, "x", 1, MQ_PRIO_MAX) == -1 && errno == EINVAL, "priority MQ_PRIO_MAX: EINVAL");
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec = 0;
	ok(mq_timedreceive(mq, buf, sizeof(buf), NULL, &ts) == -1 && errno == ETIMEDOUT,
	   "mq_timedreceive on the empty queue, deadline past: ETIMEDOUT");
	ts.tv_nsec = 1000000000;
	ok(mq_timedsend(mq, "x", 1, 0, &ts) == -1 && errno == EINVAL,
	   "mq_timedsend with tv_nsec 1000000000: EINVAL");

	attr.mq_flags = O_NONBLOCK;
	ok(mq_setattr(mq, &attr, &got) == 0 && got.mq_flags == 0, "mq_setattr O_NONBLOCK (was 0)");
	ok(mq_receive(mq, buf, sizeof(buf), NULL) == -1 && errno == EAGAIN, "empty: EAGAIN");
	attr.mq_flags = 0;
	mq_setattr(mq, &attr, NULL);

	/* Another process, by name; mq_notify with a signal. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_notify;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	sev.sigev_value.sival_int = 42;
	ok(mq_notify(mq, &sev) == 0, "mq_notify(SIGEV_SIGNAL)");
	pid = fork();
	if (pid == 0) {
		mqd_t w = mq_open(QNAME, O_WRONLY);

		_exit(w != (mqd_t)-1 && mq_send(w, "from child", 10, 3) == 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "a child opens the queue by name (O_WRONLY) and sends");
	for (int i = 0; i < 2000 && !notified; i++)
		usleep(1000);
	ok(notified, "the signal arrives, si_code SI_MESGQ, with the sigev_value");
	ok(mq_receive(mq, buf, sizeof(buf), &prio) == 10 && prio == 3 && !memcmp(buf, "from child", 10),
	   "the child's message is received");

	/* Read-only descriptors, close, unlink. */
	rd = mq_open(QNAME, O_RDONLY);
	ok(rd != (mqd_t)-1 && mq_send(rd, "x", 1, 0) == -1 && errno == EBADF,
	   "an O_RDONLY descriptor cannot send: EBADF");
	ok(mq_close(rd) == 0, "mq_close");
	ok(mq_send(rd, "x", 1, 0) == -1 && errno == EBADF, "a closed descriptor: EBADF");
	ok(mq_unlink(QNAME) == 0, "mq_unlink");
	ok(mq_open(QNAME, O_RDWR) == (mqd_t)-1 && errno == ENOENT, "... the name is gone: ENOENT");
	ok(mq_send(mq, "still", 5, 0) == 0 && mq_receive(mq, buf, sizeof(buf), NULL) == 5,
	   "... and the open descriptor keeps working");
	ok(mq_close(mq) == 0, "mq_close");
	ok(!kipc_queue_file(QNAME), "nothing is left in the namespace");
	return 0;
}
