// SPDX-License-Identifier: MIT
/*
 * Pipes, FIFOs and socket pairs (SPEC sections 3 and 4; pipe(7), fifo(7),
 * pipe(2), socketpair(2), fcntl(2) F_SETPIPE_SZ), rule by rule:
 *
 *   basics     two descriptors, access modes, a byte stream, short reads,
 *              zero-byte reads and writes, EBADF for the wrong end or a
 *              closed descriptor, pipe2 flags, EFAULT, the lowest free int
 *   flags      F_GETFL / F_SETFL: O_NONBLOCK toggles, the access mode stays
 *   nonblock   the O_NONBLOCK write table of pipe(7) (at most PIPE_BUF: all
 *              or EAGAIN; more: as much as fits or EAGAIN, also when a read
 *              just made the room) and reads (EAGAIN with a writer, EOF
 *              without), contents checked
 *   blocking   a reader waits for data; a write larger than the pipe
 *              completes in full; a write of at most PIPE_BUF waits for room
 *              for all of it (nothing partial is ever buffered); EOF after
 *              the buffered bytes; a blocked reader woken by the last writer
 *              leaving (exit, close); a blocked writer by the last reader
 *              (EPIPE); a write cut short by the last reader returns its
 *              count and raises SIGPIPE, as the kernel does
 *   sigpipe    default action kills, a handler runs on the writing thread,
 *              SIG_IGN gives EPIPE (also O_NONBLOCK on a full pipe), blocked
 *              SIGPIPE stays pending
 *   eintr      blocking read, write (PIPE_BUF and longer, where the count
 *              written so far is returned) and FIFO open: -1/EINTR from a
 *              handler without SA_RESTART, carrying on with it
 *   sleep      a blocked reader, writer, FIFO opener or socket reader is in
 *              state S within a second and uses (almost) no CPU
 *   kill       kill -9 of an idle writer, a writer blocked on a full pipe,
 *              an idle reader, a reader blocked in read, a socket peer (both
 *              directions), a FIFO writer, the peer of an O_NONBLOCK reader
 *              or writer polling: EOF / EPIPE within 5 s, the victim
 *              unreaped, without burning a core; no record lost
 *   fork       descriptions shared by fork: role counts unchanged, data both
 *              ways, a child's close leaves the parent's ends, EOF only when
 *              every holder closed, O_NONBLOCK set in the child seen by the
 *              parent (file status flags belong to the description)
 *   atomic     writers of PIPE_BUF-sized and random-sized records (blocking
 *              and O_NONBLOCK, processes and threads) never interleave;
 *              readers of record-sized reads always get a whole record
 *   size       F_SETPIPE_SZ table (page rounding, powers of two, 1 MiB
 *              maximum, EPERM above), the other end sees it, the new
 *              capacity holds exactly that, EBUSY below what is buffered,
 *              resizing a wrapped ring keeps the stream, a blocked writer
 *              proceeds when a resize makes room, sockets are EBADF
 *   packet     O_DIRECT pipes: one read per packet, short reads discard the
 *              rest, writes above PIPE_BUF split into PIPE_BUF packets,
 *              empty writes make no packet
 *   fifo       mkfifo modes (umask), EEXIST, bad names, ENOENT, bad flags,
 *              open rules (O_NONBLOCK reader at once and EOF, O_NONBLOCK
 *              writer ENXIO, O_RDWR never blocks and is its own peer,
 *              blocking opens wait for the other side), reconnecting after
 *              EOF, role counts per open (fork does not change them),
 *              unlink, a corrupt file, capacity shared between opens,
 *              processes meeting by name, permissions (root only: nobody
 *              is refused a 0600 FIFO of root's, a 0666 one is fine)
 *   socketpair errors, both directions independent, EOF and EPIPE per
 *              direction, SOCK_STREAM has no boundaries, SOCK_SEQPACKET
 *              keeps them (short reads truncate, empty messages, EMSGSIZE,
 *              a message waits for room for all of it, concurrent senders)
 *
 * Structure.  ThreadSanitizer does not support a child creating threads
 * after a multi-threaded fork, and the library starts threads (its RCU
 * callback thread at the first close, its watchdog at the first sleep).
 * So the main process never touches kipc: each scenario runs in a process
 * of its own, forked from the single-threaded main one, which forks its
 * helpers before doing anything that could start a thread.  Scenarios
 * record their points in shared memory; the main process prints them, and
 * one more point per scenario saying that it ran to its end (no crash, no
 * hang: each has a deadline).  Everything happens in a private namespace,
 * removed at the end.  Timing is asserted only as generous bounds.
 */
#include <kipc/ipc.h>
#include <kipc/pipe.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc/fdtable.h"
#include "ipc/pipe.h"
#include "tap.h"
#include "testutil.h"

#ifdef KIPC_TSAN
/*
 * ThreadSanitizer makes every process that has threads sleep a second at
 * exit (atexit_sleep_ms); these tests end processes by the dozen.
 * $TSAN_OPTIONS still overrides this.
 */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "atexit_sleep_ms=0";
}
#endif

#define CAP 65536			/* the default capacity */
#define WITHIN_S 5.0			/* EOF / EPIPE after a death, generously */

static char ns_dir[128];
static unsigned long seed;
static long page;
static bool slow;			/* ThreadSanitizer, or a cross build under qemu */
static uint64_t rng_state;

/* ------------------------------------------------------------------------ */
/* Points recorded by scenario processes, printed by the main one           */
/* ------------------------------------------------------------------------ */

#define MAX_POINTS 320

struct point {
	int pass;			/* 1, 0, or -1: a diag line */
	int line;
	char msg[200];
	char detail[120];
};

struct board {
	int n;
	struct point p[MAX_POINTS];
};

static struct board *board;

static const char *ename(int e)
{
	static __thread char buf[24];
	const char *s = e ? strerrorname_np(e) : "0";

	if (s)
		return s;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

__attribute__((format(printf, 4, 5)))
static int record(int pass, int line, const char *detail, const char *fmt, ...)
{
	int i = __atomic_fetch_add(&board->n, 1, __ATOMIC_RELAXED);
	struct point *p;
	va_list ap;

	if (i >= MAX_POINTS)
		return pass;
	p = &board->p[i];
	p->pass = pass;
	p->line = line;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	snprintf(p->detail, sizeof(p->detail), "%s", detail ? detail : "");
	return pass;
}

#define ck(cond, ...) record(!!(cond), __LINE__, NULL, __VA_ARGS__)
#define ckd(cond, detail, ...) record(!!(cond), __LINE__, detail, __VA_ARGS__)
#define note(...) record(-1, __LINE__, NULL, __VA_ARGS__)

#define ck_is(got, want, ...) ({                                              \
	long long g_ = (long long)(got), w_ = (long long)(want);              \
	char d_[96];                                                          \
	snprintf(d_, sizeof(d_), "got %lld, want %lld", g_, w_);              \
	record(g_ == w_, __LINE__, d_, __VA_ARGS__); })

/* ret must be -1 with errno err. */
#define ck_err(ret, err, ...) ({                                              \
	long long r_ = (long long)(ret);                                      \
	int e_ = errno, w_ = (err);                                           \
	char d_[96];                                                          \
	snprintf(d_, sizeof(d_), "got %lld (%s), want -1 (%s)", r_,           \
		 r_ == -1 ? ename(e_) : "no error", ename(w_));               \
	record(r_ == -1 && e_ == w_, __LINE__, d_, __VA_ARGS__); })

/* Scratch shared with a scenario's helper children, zeroed per scenario. */
struct shared {
	int ready, go, done, sent, stop;
	int flag[16];
	long val[16];
	double t[8];
	uint64_t seen[8][1024 / 64];	/* atomic: records seen, by writer */
};

static struct shared *sh;

static void print_points(void)
{
	int n = board->n < MAX_POINTS ? board->n : MAX_POINTS;

	for (int i = 0; i < n; i++) {
		struct point *p = &board->p[i];

		if (p->pass < 0) {
			diag("%s", p->msg);
			continue;
		}
		tap_ok(p->pass, __FILE__, p->line, "%s", p->msg);
		if (!p->pass && p->detail[0])
			diag("  %s", p->detail);
	}
	if (board->n > MAX_POINTS)
		ok(0, "the board holds every point (%d recorded)", board->n);
}

/* Runs fn(arg) in a scenario process with a deadline; prints its points. */
static void scenario(const char *name, void (*fn)(int), int arg, double secs)
{
	static int index;
	int status = -1;
	bool hung = false;
	double end;
	pid_t pid;

	memset(board, 0, sizeof(*board));
	memset(sh, 0, sizeof(*sh));
	rng_state = (uint64_t)seed * 1000003u + (uint64_t)++index;
	if (!rng_state)
		rng_state = 1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fn(arg);
		_exit(0);
	}
	end = now() + secs * (slow ? 4 : 1);
	while (pid > 0 && waitpid(pid, &status, WNOHANG) == 0) {
		if (now() > end) {
			hung = true;
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		sleep_ms(2);
	}
	print_points();
	ok(pid > 0 && !hung && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "%s: the scenario ran to its end (%.2f s)", name, now() - (end - secs * (slow ? 4 : 1)));
	if (hung)
		diag("  it hung: killed after %.0f s", secs * (slow ? 4 : 1));
	else if (pid > 0 && WIFSIGNALED(status))
		diag("  it died of signal %d", WTERMSIG(status));
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* n bytes of the stream named key, from offset off. */
static void stream_fill(void *dst, size_t n, uint64_t key, uint64_t off)
{
	unsigned char *b = dst;
	size_t i = 0;

	while (i < n) {
		uint64_t pos = off + i, w = mix64(key ^ (pos >> 3));

		for (unsigned int s = pos & 7; s < 8 && i < n; s++, i++)
			b[i] = (unsigned char)(w >> (s * 8));
	}
}

static bool stream_check(const void *src, size_t n, uint64_t key, uint64_t off)
{
	unsigned char want[4096];

	for (size_t i = 0; i < n; i += sizeof(want)) {
		size_t k = n - i < sizeof(want) ? n - i : sizeof(want);

		stream_fill(want, k, key, off + i);
		if (memcmp((const char *)src + i, want, k))
			return false;
	}
	return true;
}

/*
 * Records: a header, then bytes of the stream named by (writer, seq).  A
 * torn or interleaved record fails its header sum or its bytes.
 */
#define REC_MAGIC 0x6b697063u

struct rec_hdr {
	uint32_t magic;
	uint16_t writer, len;
	uint32_t seq, sum;
};

static uint32_t rec_sum(const struct rec_hdr *h)
{
	return (uint32_t)mix64(((uint64_t)h->writer << 48) ^ ((uint64_t)h->len << 32) ^ h->seq);
}

static uint64_t rec_key(unsigned int writer, uint32_t seq)
{
	return mix64(((uint64_t)writer << 32) | seq) | 1;
}

static void rec_make(void *buf, unsigned int writer, uint32_t seq, size_t len)
{
	struct rec_hdr h = { REC_MAGIC, (uint16_t)writer, (uint16_t)len, seq, 0 };

	h.sum = rec_sum(&h);
	memcpy(buf, &h, sizeof(h));
	stream_fill((char *)buf + sizeof(h), len - sizeof(h), rec_key(writer, seq), 0);
}

/* The length of the whole record at buf (avail bytes there), 0 if torn. */
static size_t rec_check(const void *buf, size_t avail, struct rec_hdr *out)
{
	struct rec_hdr h;

	if (avail < sizeof(h))
		return 0;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != REC_MAGIC || h.sum != rec_sum(&h) || h.len < sizeof(h) ||
	    h.len > PIPE_BUF || h.len > avail ||
	    !stream_check((const char *)buf + sizeof(h), h.len - sizeof(h),
			  rec_key(h.writer, h.seq), 0))
		return 0;
	*out = h;
	return h.len;
}

static int nonblock(int fd, bool on)
{
	int fl = kipc_fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return kipc_fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* Writes n bytes of c, at most PIPE_BUF at a time; the bytes written. */
static size_t put(int fd, size_t n, char c)
{
	char buf[PIPE_BUF];
	size_t done = 0;

	memset(buf, c, sizeof(buf));
	while (done < n) {
		ssize_t r = kipc_write(fd, buf, n - done < PIPE_BUF ? n - done : PIPE_BUF);

		if (r <= 0)
			break;
		done += (size_t)r;
	}
	return done;
}

/* Writes buf[0..n) in as many writes as it takes; the bytes written. */
static size_t put_buf(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = kipc_write(fd, (const char *)buf + done, n - done);

		if (r <= 0)
			break;
		done += (size_t)r;
	}
	return done;
}

/* Fills the pipe (O_NONBLOCK for the while); the bytes written. */
static size_t fill_up(int fd, char c)
{
	size_t total = 0;
	char one = c;

	nonblock(fd, true);
	total = put(fd, SIZE_MAX, c);
	while (kipc_write(fd, &one, 1) == 1)
		total++;
	nonblock(fd, false);
	return total;
}

/* Reads what is there (O_NONBLOCK for the while) into out (up to max). */
static size_t drain(int fd, char *out, size_t max)
{
	char buf[8192];
	size_t total = 0;
	ssize_t r;

	nonblock(fd, true);
	while ((r = kipc_read(fd, buf, sizeof(buf))) > 0) {
		if (out && total < max)
			memcpy(out + total, buf, (size_t)r < max - total ? (size_t)r : max - total);
		total += (size_t)r;
	}
	nonblock(fd, false);
	return total;
}

/* Reads exactly n bytes unless EOF or an error comes first: the count. */
static ssize_t read_full(int fd, void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = kipc_read(fd, (char *)buf + done, n - done);

		if (r < 0)
			return done ? (ssize_t)done : -1;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

static bool all_are(const char *buf, size_t n, char c)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != c)
			return false;
	return true;
}

/* The bytes buffered in ring c of fd's pipe (internal), or -1. */
static long long buffered(int fd, int c)
{
	struct kipc__file *f = kipc__fd_get(fd, &kipc__pipe_ops);
	struct kipc__pipe_end *e = (struct kipc__pipe_end *)f;
	long long n;

	if (!f)
		return -1;
	n = (long long)(__atomic_load_n(&e->p->m->chan[c].head, __ATOMIC_ACQUIRE) -
			__atomic_load_n(&e->p->m->chan[c].tail, __ATOMIC_ACQUIRE));
	kipc__fd_put(f);
	return n;
}

/* Open descriptions of a role on ring c (internal), or -1. */
static int role_count(int fd, int c, int role)
{
	struct kipc__file *f = kipc__fd_get(fd, &kipc__pipe_ops);
	int n;

	if (!f)
		return -1;
	n = kipc__pipe_role_count(((struct kipc__pipe_end *)f)->p, c, role);
	kipc__fd_put(f);
	return n;
}

/* Waits until task tid of pid has been asleep ('S') three polls running. */
static bool wait_sleeping(pid_t pid, pid_t tid, double secs)
{
	double end = now() + secs;
	int run = 0;

	while (now() < end) {
		run = task_state(pid, tid) == 'S' ? run + 1 : 0;
		if (run >= 3)
			return true;
		sleep_ms(2);
	}
	return false;
}

/* CPU ticks (utime + stime) of process pid so far, or -1. */
static long proc_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* After ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

static double cpu_now(void)
{
	return clock_sec(CLOCK_PROCESS_CPUTIME_ID);
}

/* The wait status of a child, killing it after secs; -1 if it had to be. */
static int reap(pid_t pid, double secs)
{
	double end = now() + secs;
	int status = -1;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		sleep_ms(2);
	}
	return status;
}

static bool exited0(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static char *status_str(int status)
{
	static char buf[64];

	if (status == -1)
		snprintf(buf, sizeof(buf), "hung (killed)");
	else if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "signal %d", WTERMSIG(status));
	else
		snprintf(buf, sizeof(buf), "status %#x", status);
	return buf;
}

/* Threads the tests start take no process-directed signal. */
static int spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

/* A guard against a blocking call that never returns: SIGALRM, EINTR. */
static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

static void guard(unsigned int secs)
{
	alarmed = 0;
	set_handler(SIGALRM, on_alarm, 0);
	alarm(slow ? secs * 3 : secs);
}

static void unguard(void)
{
	alarm(0);
}

static double secs_of(double s)
{
	return slow ? s * 3 : s;
}

/* ------------------------------------------------------------------------ */
/* basics                                                                   */
/* ------------------------------------------------------------------------ */

/* ---- small writes, also copied beside head ---- */

/* The byte at stream position pos: any read can be checked on its own. */
static char byte_at(uint64_t pos)
{
	return (char)(pos * 131 + 7);
}

/*
 * A copy beside head as a writer killed between copying and publishing
 * would leave it (internal): garbage at the positions the next write takes.
 */
static void plant_small(int wfd)
{
	struct kipc__file *f = kipc__fd_get(wfd, &kipc__pipe_ops);
	struct kipc__chan *ch = &((struct kipc__pipe_end *)f)->p->m->chan[0];

	__atomic_store_n(&ch->small[0], 0x2121454741425241ull, __ATOMIC_RELAXED); /* "ARBAGE!!" */
	__atomic_store_n(&ch->small_len, 8, __ATOMIC_RELAXED);
	__atomic_store_n(&ch->small_pos, __atomic_load_n(&ch->head, __ATOMIC_RELAXED),
			 __ATOMIC_RELEASE);
	kipc__fd_put(f);
}

/*
 * Stream writes of at most KIPC__PIPE_SMALL bytes are copied beside head,
 * and readers take them from there (pipe.c, small_put/small_get): reads of
 * every size at every offset must still see the stream's bytes, and a copy
 * left behind by a killed writer must never stand in for what the next
 * writer put at those positions, small write or not.
 */
static void s_small(int unused)
{
	int p[2] = { -1, -1 };
	char buf[256];
	uint64_t wr = 0, rd = 0, bad = 0;

	(void)unused;
	ck(kipc_pipe(p) == 0, "small: pipe");
	for (int i = 0; i < 3000; i++) {
		size_t n = 1 + rnd() % (KIPC__PIPE_SMALL + 8), m = 1 + rnd() % 48;
		ssize_t got;

		for (size_t k = 0; k < n; k++)
			buf[k] = byte_at(wr + k);
		if (kipc_write(p[1], buf, n) != (ssize_t)n)
			bad++;
		wr += n;
		got = kipc_read(p[0], buf, m);
		for (ssize_t k = 0; k < got; k++)
			bad += buf[k] != byte_at(rd + (uint64_t)k);
		rd += got > 0 ? (uint64_t)got : 0;
	}
	nonblock(p[0], true);
	for (ssize_t got; (got = kipc_read(p[0], buf, 40)) > 0; rd += (uint64_t)got)
		for (ssize_t k = 0; k < got; k++)
			bad += buf[k] != byte_at(rd + (uint64_t)k);
	ck(rd == wr && bad == 0,
	   "small: 3000 writes of 1-40 bytes, reads of 1-48: all %llu bytes in order "
	   "(%llu wrong)", (unsigned long long)wr, (unsigned long long)bad);

	plant_small(p[1]);
	memset(buf, 'L', 100);
	kipc_write(p[1], buf, 100);
	memset(buf, 0, sizeof(buf));
	ck(kipc_read(p[0], buf, 8) == 8 && all_are(buf, 8, 'L'),
	   "small: a copy left at head by a killed writer is not read after a 100-byte write");
	ck(kipc_read(p[0], buf, sizeof(buf)) == 92 && all_are(buf, 92, 'L'),
	   "small: ... and the rest of that write follows");
	plant_small(p[1]);
	kipc_write(p[1], "SSSS", 4);
	ck(kipc_read(p[0], buf, sizeof(buf)) == 4 && all_are(buf, 4, 'S'),
	   "small: ... nor after a small write, which replaces it");
	kipc_close(p[0]);
	kipc_close(p[1]);
}

/* The writer of s_small_threads(): small writes of the stream, until told. */
struct small_feed {
	int fd;
	int stop;
	uint64_t written;
	unsigned int seed;
};

static void *small_writer(void *arg)
{
	struct small_feed *f = arg;
	char buf[KIPC__PIPE_SMALL];

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		size_t n = 1 + (size_t)rand_r(&f->seed) % KIPC__PIPE_SMALL;

		for (size_t k = 0; k < n; k++)
			buf[k] = byte_at(f->written + k);
		if (kipc_write(f->fd, buf, n) != (ssize_t)n)
			break;
		__atomic_store_n(&f->written, f->written + n, __ATOMIC_RELEASE);
	}
	return NULL;
}

/*
 * Small writes and reads racing on two CPUs: the reader takes bytes from
 * the copy beside head while the writer rewrites it; a torn or stale copy
 * read in place of the ring's bytes breaks the stream.
 */
static void s_small_threads(int unused)
{
	struct small_feed f = { .seed = (unsigned int)rnd() };
	int p[2] = { -1, -1 };
	uint64_t rd = 0, bad = 0;
	double end = now() + (slow ? 2.0 : 1.0);
	pthread_t t;
	char buf[48];

	(void)unused;
	ck(kipc_pipe(p) == 0, "small, two threads: pipe");
	f.fd = p[1];
	pthread_create(&t, NULL, small_writer, &f);
	while (now() < end) {
		ssize_t got = kipc_read(p[0], buf, 1 + rnd() % sizeof(buf));

		for (ssize_t k = 0; k < got; k++)
			bad += buf[k] != byte_at(rd + (uint64_t)k);
		rd += got > 0 ? (uint64_t)got : 0;
	}
	__atomic_store_n(&f.stop, 1, __ATOMIC_RELEASE);
	/* Drained, a writer blocked on a full ring sees the stop and ends. */
	nonblock(p[0], true);
	for (ssize_t got; (got = kipc_read(p[0], buf, sizeof(buf))) > 0; rd += (uint64_t)got)
		for (ssize_t k = 0; k < got; k++)
			bad += buf[k] != byte_at(rd + (uint64_t)k);
	pthread_join(t, NULL);
	ck(bad == 0 && rd > 0, "small, two threads: %llu bytes read in order (%llu wrong)",
	   (unsigned long long)rd, (unsigned long long)bad);
	kipc_close(p[0]);
	kipc_close(p[1]);
}

static void s_basics(int unused)
{
	static const struct { const char *name; int flags; } bad_flags[] = {
		{ "O_APPEND", O_APPEND }, { "O_RDWR", O_RDWR }, { "O_SYNC", O_SYNC },
		{ "O_TRUNC", O_TRUNC }, { "O_CREAT", O_CREAT }, { "-1", -1 },
	};
	int p[2] = { -1, -1 }, q[2] = { -1, -1 }, r[2] = { -1, -1 };
	char buf[256];

	(void)unused;
	ck(kipc_pipe(p) == 0 && p[0] >= 0 && p[1] >= 0 && p[0] != p[1],
	   "pipe: two distinct descriptors (%d, %d)", p[0], p[1]);
	ck_is(kipc_fcntl(p[0], F_GETFL), O_RDONLY, "pipe: F_GETFL of fds[0] is O_RDONLY");
	ck_is(kipc_fcntl(p[1], F_GETFL), O_WRONLY, "pipe: F_GETFL of fds[1] is O_WRONLY");
	ck_is(kipc_fcntl(p[0], F_GETPIPE_SZ), CAP, "pipe: capacity 64 KiB by default (read end)");
	ck_is(kipc_fcntl(p[1], F_GETPIPE_SZ), CAP, "pipe: capacity 64 KiB by default (write end)");

	ck_is(kipc_write(p[1], "hello", 5), 5, "write: 5 bytes");
	ck_is(kipc_write(p[1], ", world", 7), 7, "write: 7 more");
	memset(buf, 0, sizeof(buf));
	ck_is(kipc_read(p[0], buf, sizeof(buf)), 12,
	      "read: a byte stream, one read returns both writes");
	ck(!memcmp(buf, "hello, world", 12), "read: the bytes in order");
	kipc_write(p[1], "0123456789", 10);
	ck(kipc_read(p[0], buf, 4) == 4 && !memcmp(buf, "0123", 4), "read: a short read takes 4 of 10");
	ck(kipc_read(p[0], buf, sizeof(buf)) == 6 && !memcmp(buf, "456789", 6),
	   "read: returns the 6 there without waiting to fill the buffer");
	ck_is(kipc_read(p[0], buf, 0), 0, "read: 0 bytes of an empty pipe returns 0 at once");
	ck_is(kipc_write(p[1], buf, 0), 0, "write: 0 bytes returns 0");
	nonblock(p[0], true);
	ck_err(kipc_read(p[0], buf, 1), EAGAIN, "write: 0 bytes put nothing in the pipe");
	nonblock(p[0], false);

	ck_err(kipc_read(p[1], buf, 1), EBADF, "read from the write end: EBADF");
	ck_err(kipc_write(p[0], "x", 1), EBADF, "write to the read end: EBADF");
	ck_err(kipc_read(-1, buf, 1), EBADF, "read(-1): EBADF");
	ck_err(kipc_write(-1, buf, 1), EBADF, "write(-1): EBADF");
	ck_err(kipc_read(4000, buf, 1), EBADF, "read of a descriptor never opened: EBADF");
	ck_err(kipc_fcntl(-1, F_GETFL), EBADF, "fcntl(-1): EBADF");
	ck_err(kipc_fcntl(p[0], 0x7777), EINVAL, "fcntl: an unknown command is EINVAL");
	ck_err(kipc_pipe(NULL), EFAULT, "pipe(NULL): EFAULT");
	ck_err(kipc_pipe2(NULL, 0), EFAULT, "pipe2(NULL): EFAULT");
	for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++)
		ck_err(kipc_pipe2(q, bad_flags[i].flags), EINVAL, "pipe2(%s): EINVAL", bad_flags[i].name);

	ck(kipc_pipe2(q, O_NONBLOCK) == 0, "pipe2(O_NONBLOCK)");
	ck_is(kipc_fcntl(q[0], F_GETFL), O_RDONLY | O_NONBLOCK, "pipe2(O_NONBLOCK): read end O_NONBLOCK");
	ck_is(kipc_fcntl(q[1], F_GETFL), O_WRONLY | O_NONBLOCK, "pipe2(O_NONBLOCK): write end O_NONBLOCK");
	ck(kipc_pipe2(r, O_CLOEXEC) == 0 && kipc_fcntl(r[0], F_GETFL) == O_RDONLY,
	   "pipe2(O_CLOEXEC): made, and not a status flag");

	ck_is(kipc_close(q[0]), 0, "close: 0");
	ck_err(kipc_close(q[0]), EBADF, "close: twice is EBADF");
	ck_err(kipc_read(q[0], buf, 1), EBADF, "read of a closed descriptor: EBADF");
	ck_err(kipc_fcntl(q[0], F_GETPIPE_SZ), EBADF, "fcntl of a closed descriptor: EBADF");
	ck_err(kipc_close(-1), EBADF, "close(-1): EBADF");
	{
		int lo = q[0] < q[1] ? q[0] : q[1], s[2] = { -1, -1 };

		kipc_close(q[1]);
		ck(kipc_pipe(s) == 0 && s[0] == lo, "pipe: the lowest free descriptor is reused (%d, got %d)",
		   lo, s[0]);
	}
}

/* ------------------------------------------------------------------------ */
/* flags and O_NONBLOCK reads                                               */
/* ------------------------------------------------------------------------ */

static void s_flags(int unused)
{
	int p[2];
	char buf[16];

	(void)unused;
	if (kipc_pipe(p)) {
		ck(0, "pipe");
		return;
	}
	ck_is(kipc_fcntl(p[0], F_SETFL, O_NONBLOCK), 0, "F_SETFL O_NONBLOCK: 0");
	ck_is(kipc_fcntl(p[0], F_GETFL), O_RDONLY | O_NONBLOCK, "F_GETFL: O_RDONLY | O_NONBLOCK");
	ck_is(kipc_fcntl(p[1], F_GETFL), O_WRONLY, "F_SETFL on one end leaves the other");
	ck_err(kipc_read(p[0], buf, sizeof(buf)), EAGAIN, "O_NONBLOCK read, empty, writer open: EAGAIN");
	kipc_write(p[1], "abc", 3);
	ck_is(kipc_read(p[0], buf, sizeof(buf)), 3, "O_NONBLOCK read with data: the data");
	kipc_fcntl(p[0], F_SETFL, O_WRONLY | O_NONBLOCK | O_APPEND);
	ck_is(kipc_fcntl(p[0], F_GETFL) & O_ACCMODE, O_RDONLY, "F_SETFL cannot change the access mode");
	ck_is(kipc_fcntl(p[0], F_SETFL, 0), 0, "F_SETFL 0: back to blocking");
	ck_is(kipc_fcntl(p[0], F_GETFL), O_RDONLY, "F_GETFL: O_RDONLY again");
	kipc_write(p[1], "xyz", 3);
	kipc_close(p[1]);
	nonblock(p[0], true);
	ck_is(kipc_read(p[0], buf, sizeof(buf)), 3, "after the writer closed: the buffered bytes first");
	ck_is(kipc_read(p[0], buf, sizeof(buf)), 0, "then O_NONBLOCK read, no writer: 0 (EOF), not EAGAIN");
	nonblock(p[0], false);
	ck_is(kipc_read(p[0], buf, sizeof(buf)), 0, "blocking read, no writer: 0 at once");
	ck_is(kipc_read(p[0], buf, sizeof(buf)), 0, "and again");
}

/* ------------------------------------------------------------------------ */
/* O_NONBLOCK writes: pipe(7)'s table                                       */
/* ------------------------------------------------------------------------ */

static void s_nb_write(int unused)
{
	static const struct {
		const char *rule;
		size_t prefill, consumed, n;
		long want;		/* bytes written, or -1: EAGAIN */
	} rows[] = {
		{ "n <= PIPE_BUF, room: all", 0, 0, PIPE_BUF, PIPE_BUF },
		{ "n <= PIPE_BUF, exactly room: all", CAP - 100, 0, 100, 100 },
		{ "n <= PIPE_BUF, one byte short: EAGAIN", CAP - 99, 0, 100, -1 },
		{ "n == PIPE_BUF, PIPE_BUF - 1 of room: EAGAIN", CAP - PIPE_BUF + 1, 0, PIPE_BUF, -1 },
		{ "n == 1, full: EAGAIN", CAP, 0, 1, -1 },
		{ "n <= PIPE_BUF, room made by a read: all", CAP, PIPE_BUF, PIPE_BUF, PIPE_BUF },
		{ "n > PIPE_BUF, room for all: all", 0, 0, CAP, CAP },
		{ "n > PIPE_BUF, room for some: as much as fits", CAP - 100, 0, PIPE_BUF + 1, 100 },
		{ "n > PIPE_BUF, one byte of room: 1", CAP - 1, 0, 2 * PIPE_BUF, 1 },
		{ "n > PIPE_BUF, more than the capacity: the capacity", 0, 0, 3 * CAP, CAP },
		{ "n > PIPE_BUF, full: EAGAIN", CAP, 0, PIPE_BUF + 1, -1 },
		{ "n > PIPE_BUF, room made by a read: as much as fits", CAP, 50000, 60000, 50000 },
		{ "n > PIPE_BUF, more room made by a read: all", 60000, 50000, 40000, 40000 },
		{ "n > PIPE_BUF, more room made by a read: as much as fits", 60000, 50000, CAP, 55536 },
	};
	static char src[3 * CAP], got[3 * CAP];

	(void)unused;
	stream_fill(src, sizeof(src), 42, 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int p[2];
		size_t pre, total;
		ssize_t r;
		int err;

		if (kipc_pipe2(p, O_NONBLOCK)) {
			ck(0, "pipe2");
			return;
		}
		pre = put(p[1], rows[i].prefill, 'p');
		if (rows[i].consumed)
			pre -= (size_t)read_full(p[0], got, rows[i].consumed);
		r = kipc_write(p[1], src, rows[i].n);
		err = errno;
		if (rows[i].want < 0)
			ck(r == -1 && err == EAGAIN && pre == rows[i].prefill - rows[i].consumed,
			   "O_NONBLOCK write, %s (got %zd, %s)", rows[i].rule, r, r < 0 ? ename(err) : "-");
		else
			ck(r == rows[i].want && pre == rows[i].prefill - rows[i].consumed,
			   "O_NONBLOCK write, %s (got %zd, want %ld)", rows[i].rule, r, rows[i].want);
		total = drain(p[0], got, sizeof(got));
		ck(total == pre + (size_t)(r > 0 ? r : 0) && all_are(got, pre, 'p') &&
		   !memcmp(got + pre, src, (size_t)(r > 0 ? r : 0)),
		   "O_NONBLOCK write, %s: the pipe holds the prefill and exactly that", rows[i].rule);
		kipc_close(p[0]);
		kipc_close(p[1]);
	}
}

/* ------------------------------------------------------------------------ */
/* blocking reads and writes                                                */
/* ------------------------------------------------------------------------ */

struct twrite {
	int fd;
	const void *buf;
	size_t n;
	ssize_t ret;
	int err;
	int done;
	pid_t tid;
};

static void *twrite_fn(void *arg)
{
	struct twrite *t = arg;

	__atomic_store_n(&t->tid, gettid(), __ATOMIC_RELEASE);
	t->ret = kipc_write(t->fd, t->buf, t->n);
	t->err = errno;
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static volatile sig_atomic_t sigpipes;
static volatile pid_t sigpipe_tid;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
	sigpipe_tid = gettid();
}

enum {
	B_LATE_DATA, B_BIG_WRITE, B_ATOMIC_WAIT, B_EOF_EXIT, B_EOF_CLOSE, B_EPIPE_CLOSE,
	B_PARTIAL_EPIPE, B_NCASES
};

static void s_blocking(int kase)
{
	static char big[3 * CAP + 123], rbuf[3 * CAP + 123];
	int p[2];
	pid_t pid;
	char buf[64];

	if (kipc_pipe(p)) {
		ck(0, "pipe");
		return;
	}
	switch (kase) {
	case B_LATE_DATA: {
		double t0;
		ssize_t r;

		pid = fork_child();
		if (pid == 0) {
			sleep_ms(200);
			_exit(kipc_write(p[1], "late", 4) == 4 ? 0 : 1);
		}
		t0 = now();
		guard(10);
		r = kipc_read(p[0], buf, sizeof(buf));
		unguard();
		ck(r == 4 && !memcmp(buf, "late", 4) && now() - t0 >= 0.15,
		   "blocking read: waits for data written 200 ms later (got %zd after %.3f s)", r, now() - t0);
		ck(exited0(reap(pid, 5)), "blocking read: the writer child exited 0");
		break;
	}
	case B_BIG_WRITE: {
		ssize_t r;
		int st;

		stream_fill(big, sizeof(big), 7, 0);
		pid = fork_child();
		if (pid == 0) {
			ssize_t got;

			kipc_close(p[1]);
			sleep_ms(50);
			got = read_full(p[0], rbuf, sizeof(rbuf));
			_exit(got == (ssize_t)sizeof(big) && kipc_read(p[0], buf, 1) == 0 &&
			      !memcmp(rbuf, big, sizeof(big)) ? 0 : 1);
		}
		kipc_close(p[0]);
		guard(10);
		r = kipc_write(p[1], big, sizeof(big));
		unguard();
		ck_is(r, sizeof(big), "blocking write of 3 capacities + 123 bytes: completes in full");
		kipc_close(p[1]);
		st = reap(pid, 10);
		ckd(exited0(st), status_str(st), "blocking write: the reader got every byte in order, then EOF");
		break;
	}
	case B_ATOMIC_WAIT: {
		struct twrite t = { .fd = p[1], .buf = big, .n = PIPE_BUF };
		pthread_t th;
		size_t pre = put(p[1], CAP - 100, 'a');
		bool slept;

		memset(big, 'b', PIPE_BUF);
		if (spawn(&th, twrite_fn, &t)) {
			ck(0, "pthread_create");
			break;
		}
		while (!__atomic_load_n(&t.tid, __ATOMIC_ACQUIRE))
			sleep_ms(1);
		slept = wait_sleeping(getpid(), t.tid, secs_of(5));
		sleep_ms(50);
		ck(slept && !__atomic_load_n(&t.done, __ATOMIC_ACQUIRE),
		   "blocking write of PIPE_BUF with 100 bytes of room: waits");
		ck_is(buffered(p[0], 0), pre, "  and nothing of it is in the pipe yet");
		ck(read_full(p[0], rbuf, 1000) == 1000 && all_are(rbuf, 1000, 'a'), "read 1000 of the prefill");
		sleep_ms(100);
		ck(!__atomic_load_n(&t.done, __ATOMIC_ACQUIRE) && buffered(p[0], 0) == (long long)pre - 1000,
		   "with 1100 bytes of room, still nothing of the PIPE_BUF write: all or nothing");
		ck(read_full(p[0], rbuf, pre - 1000) == (ssize_t)(pre - 1000) && all_are(rbuf, pre - 1000, 'a'),
		   "the rest of the prefill, unmixed");
		ck(read_full(p[0], rbuf, PIPE_BUF) == PIPE_BUF && all_are(rbuf, PIPE_BUF, 'b'),
		   "then the PIPE_BUF write, whole");
		pthread_join(th, NULL);
		ck_is(t.ret, PIPE_BUF, "the blocked write returned PIPE_BUF");
		break;
	}
	case B_EOF_EXIT:
	case B_EOF_CLOSE: {
		ssize_t r;
		double t0;

		pid = fork_child();
		if (pid == 0) {
			kipc_close(p[0]);
			kipc_write(p[1], "last", 4);
			sleep_ms(300);
			if (kase == B_EOF_EXIT)
				_exit(0);
			kipc_close(p[1]);
			pause();
			_exit(0);
		}
		kipc_close(p[1]);
		ck(read_full(p[0], buf, 4) == 4 && !memcmp(buf, "last", 4), "EOF: the buffered bytes first");
		t0 = now();
		guard(10);
		r = kipc_read(p[0], buf, sizeof(buf));
		unguard();
		ck(r == 0 && now() - t0 < WITHIN_S,
		   "a blocked read returns 0 when the last writer %s (got %zd%s%s, after %.3f s)",
		   kase == B_EOF_EXIT ? "exits" : "closes", r, r < 0 ? ", " : "", r < 0 ? ename(errno) : "",
		   now() - t0);
		ck_is(kipc_read(p[0], buf, sizeof(buf)), 0, "  and again");
		kill(pid, SIGKILL);
		reap(pid, 5);
		break;
	}
	case B_EPIPE_CLOSE: {
		ssize_t r;
		int err;

		signal(SIGPIPE, SIG_IGN);
		pid = fork_child();
		if (pid == 0) {
			kipc_close(p[1]);
			sleep_ms(300);
			kipc_close(p[0]);
			pause();
			_exit(0);
		}
		kipc_close(p[0]);
		fill_up(p[1], 'f');
		guard(10);
		r = kipc_write(p[1], "x", 1);
		err = errno;
		unguard();
		ck(r == -1 && err == EPIPE, "a write blocked on a full pipe gets EPIPE when the last reader closes"
		   " (got %zd, %s)", r, r < 0 ? ename(err) : "-");
		kill(pid, SIGKILL);
		reap(pid, 5);
		break;
	}
	case B_PARTIAL_EPIPE: {
		ssize_t r;
		int err;

		set_handler(SIGPIPE, on_sigpipe, SA_RESTART);
		pid = fork_child();
		if (pid == 0) {
			kipc_close(p[1]);
			sleep_ms(200);
			read_full(p[0], rbuf, CAP);
			sleep_ms(100);
			kipc_close(p[0]);
			pause();
			_exit(0);
		}
		kipc_close(p[0]);
		guard(10);
		r = kipc_write(p[1], big, 3 * CAP);
		err = errno;
		unguard();
		ck(r >= CAP && r < 3 * CAP,
		   "a long blocking write cut short by the last reader leaving returns the count written "
		   "(got %zd%s%s)", r, r < 0 ? ", " : "", r < 0 ? ename(err) : "");
		sleep_ms(10);
		ck_is(sigpipes, 1, "  and raises SIGPIPE, as the kernel does (pipe_write)");
		{
			int before = sigpipes;

			ck_err(kipc_write(p[1], big, 1), EPIPE, "the next write: EPIPE");
			sleep_ms(10);
			ck_is(sigpipes - before, 1, "  with SIGPIPE");
		}
		kill(pid, SIGKILL);
		reap(pid, 5);
		break;
	}
	}
}

/* ------------------------------------------------------------------------ */
/* SIGPIPE                                                                  */
/* ------------------------------------------------------------------------ */

static void *twrite_one(void *arg)
{
	struct twrite *t = arg;

	t->tid = gettid();
	t->ret = kipc_write(t->fd, "x", 1);
	t->err = errno;
	return NULL;
}

static void s_sigpipe(int unused)
{
	int p[2];
	pid_t pid;
	int st;
	ssize_t r;

	(void)unused;
	if (kipc_pipe(p)) {
		ck(0, "pipe");
		return;
	}
	pid = fork_child();
	if (pid == 0) {
		sigset_t none;

		signal(SIGPIPE, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		kipc_close(p[0]);
		wait_flag(&sh->go, 10);
		kipc_write(p[1], "x", 1);
		_exit(0);
	}
	kipc_close(p[0]);		/* no reader anywhere from now on */
	__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
	st = reap(pid, 10);
	ckd(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE, status_str(st),
	    "SIGPIPE's default action kills a process writing to a pipe with no reader");

	signal(SIGPIPE, SIG_IGN);
	ck_err(kipc_write(p[1], "x", 1), EPIPE, "SIGPIPE ignored: write returns EPIPE");
	ck_err(kipc_write(p[1], "x", 1), EPIPE, "SIGPIPE ignored: and again");
	{
		static char big[2 * PIPE_BUF];

		ck_err(kipc_write(p[1], big, sizeof(big)), EPIPE, "SIGPIPE ignored: EPIPE for a long write too");
	}

	set_handler(SIGPIPE, on_sigpipe, 0);
	sigpipes = 0;
	r = kipc_write(p[1], "x", 1);
	ck(r == -1 && errno == EPIPE && sigpipes == 1 && sigpipe_tid == gettid(),
	   "SIGPIPE caught: the handler ran once on the writer, and write returns EPIPE");
	{
		struct twrite t = { .fd = p[1] };
		pthread_t th;

		sigpipes = 0;
		sigpipe_tid = 0;
		if (pthread_create(&th, NULL, twrite_one, &t) == 0) {
			pthread_join(th, NULL);
			ck(t.ret == -1 && t.err == EPIPE && sigpipes == 1 && sigpipe_tid == t.tid,
			   "SIGPIPE goes to the writing thread (handler on %d, writer %d)", (int)sigpipe_tid,
			   (int)t.tid);
		} else {
			ck(0, "pthread_create");
		}
	}
	{
		sigset_t set, pend;
		siginfo_t si;
		struct timespec zero = { 0, 0 };

		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		sigprocmask(SIG_BLOCK, &set, NULL);
		sigpipes = 0;
		ck_err(kipc_write(p[1], "x", 1), EPIPE, "SIGPIPE blocked: write returns EPIPE");
		sigpending(&pend);
		ck(sigismember(&pend, SIGPIPE) && sigpipes == 0, "SIGPIPE blocked: it is pending, not run");
		ck(sigtimedwait(&set, &si, &zero) == SIGPIPE, "SIGPIPE blocked: taken with sigtimedwait");
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
	{
		int q[2];

		signal(SIGPIPE, SIG_IGN);
		if (kipc_pipe2(q, O_NONBLOCK) == 0) {
			size_t n = fill_up(q[1], 'z');

			kipc_close(q[0]);
			nonblock(q[1], true);
			ck(n == CAP, "a full pipe (%zu bytes)", n);
			ck_err(kipc_write(q[1], "x", 1), EPIPE,
			       "O_NONBLOCK write to a full pipe with no reader: EPIPE, not EAGAIN");
		}
	}
}

/* ------------------------------------------------------------------------ */
/* EINTR                                                                    */
/* ------------------------------------------------------------------------ */

static volatile sig_atomic_t usr1s;

static void on_usr1(int sig)
{
	(void)sig;
	usr1s++;
}

enum { I_READ, I_WRITE, I_WRITE_LONG, I_OPEN, I_NWHAT };

static const char *const i_what[] = { "read", "write of PIPE_BUF", "write of 3 PIPE_BUF", "FIFO open" };

/*
 * kase = what * 2 + restart.  A child signals the scenario once it sleeps
 * in the call, then (after 300 ms with SA_RESTART, or once the call
 * returned or 3 s passed without) does what lets the call finish: writes,
 * drains, or opens the FIFO's other end.
 */
static void s_eintr(int kase)
{
	static char big[3 * PIPE_BUF];
	int what = kase / 2, restart = kase % 2;
	int p[2] = { -1, -1 }, fd = -1;
	size_t pre = 0;
	pid_t pid, parent = getpid();
	ssize_t r;
	int err, st;
	char buf[64];

	set_handler(SIGUSR1, on_usr1, restart ? SA_RESTART : 0);
	if (what == I_OPEN) {
		kipc_unlink("/eintr");
		if (kipc_mkfifo("/eintr", 0600)) {
			ck(0, "mkfifo: %s", ename(errno));
			return;
		}
	} else if (kipc_pipe(p)) {
		ck(0, "pipe");
		return;
	}
	if (what == I_WRITE)
		pre = fill_up(p[1], 'f');
	else if (what == I_WRITE_LONG)
		pre = put(p[1], CAP - 100, 'f');
	pid = fork_child();
	if (pid == 0) {
		wait_flag(&sh->ready, 10);
		wait_sleeping(parent, parent, 10);
		sleep_ms(30);
		kill(parent, SIGUSR1);
		if (restart)
			sleep_ms(300);
		else
			wait_flag(&sh->done, 3);
		if (!restart && __atomic_load_n(&sh->done, __ATOMIC_ACQUIRE))
			_exit(0);
		switch (what) {
		case I_READ:
			kipc_write(p[1], "data", 4);
			break;
		case I_WRITE:
		case I_WRITE_LONG:
			while (!__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE)) {
				drain(p[0], NULL, 0);
				sleep_ms(5);
			}
			break;
		case I_OPEN:
			fd = kipc_open("/eintr", O_WRONLY);
			wait_flag(&sh->done, 10);
			break;
		}
		_exit(0);
	}
	__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
	guard(10);
	switch (what) {
	case I_READ:
		r = kipc_read(p[0], buf, sizeof(buf));
		break;
	case I_WRITE:
		r = kipc_write(p[1], big, PIPE_BUF);
		break;
	case I_WRITE_LONG:
		r = kipc_write(p[1], big, sizeof(big));
		break;
	default:
		r = fd = kipc_open("/eintr", O_RDONLY);
		break;
	}
	err = errno;
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
	unguard();
	wait_flag((int *)&usr1s, 2);	/* a sanitizer may run the handler late */
	if (!restart) {
		if (what == I_WRITE_LONG)
			ck(r == 100 && usr1s == 1,
			   "%s blocked after 100 bytes, handler without SA_RESTART: returns 100 (got %zd%s%s)",
			   i_what[what], r, r < 0 ? ", " : "", r < 0 ? ename(err) : "");
		else
			ck(r == -1 && err == EINTR && usr1s == 1,
			   "blocked %s, handler without SA_RESTART: -1, EINTR (got %zd%s%s, handler ran %d)",
			   i_what[what], r, r < 0 ? ", " : "", r < 0 ? ename(err) : "", (int)usr1s);
		if (what == I_WRITE)
			ck_is(buffered(p[0], 0), pre, "  and nothing of the interrupted write is in the pipe");
		if (what == I_OPEN)
			ck_err(kipc_open("/eintr", O_WRONLY | O_NONBLOCK), ENXIO,
			       "  and the interrupted open left no reader behind");
	} else {
		bool good;

		switch (what) {
		case I_READ:
			good = r == 4 && !memcmp(buf, "data", 4);
			break;
		case I_WRITE:
			good = r == PIPE_BUF;
			break;
		case I_WRITE_LONG:
			good = r == (ssize_t)sizeof(big);
			break;
		default:
			good = r >= 0;
			break;
		}
		ck(good && usr1s == 1 && !alarmed,
		   "blocked %s, handler with SA_RESTART: carries on and completes (got %zd%s%s, handler ran %d)",
		   i_what[what], r, r < 0 ? ", " : "", r < 0 ? ename(err) : "", (int)usr1s);
	}
	st = reap(pid, 10);
	ckd(exited0(st), status_str(st), "%s: the helper exited 0", i_what[what]);
}

/* ------------------------------------------------------------------------ */
/* Sleeping, not spinning                                                   */
/* ------------------------------------------------------------------------ */

enum { Z_READER, Z_WRITER, Z_OPENER, Z_SOCKET, Z_NCASES };

static const char *const z_what[] = { "pipe reader", "pipe writer", "FIFO opener", "socket reader" };

static void s_sleep(int kase)
{
	int p[2] = { -1, -1 };
	pid_t pid;
	long t0, t1;
	bool slept;
	int st, fd = -1;
	char buf[16];

	if (kase == Z_OPENER)
		kipc_unlink("/sleepy"), kipc_mkfifo("/sleepy", 0600);
	else if (kase == Z_SOCKET)
		kipc_socketpair(AF_UNIX, SOCK_STREAM, 0, p);
	else
		kipc_pipe(p);
	if (kase == Z_WRITER)
		fill_up(p[1], 'w');
	pid = fork_child();
	if (pid == 0) {
		switch (kase) {
		case Z_READER:
		case Z_SOCKET:
			_exit(kipc_read(p[kase == Z_SOCKET], buf, sizeof(buf)) == 4 && !memcmp(buf, "wake", 4) ? 0 : 1);
		case Z_WRITER:
			_exit(kipc_write(p[1], "w", 1) == 1 ? 0 : 1);
		default:
			_exit(kipc_open("/sleepy", O_RDONLY) >= 0 ? 0 : 1);
		}
	}
	slept = wait_sleeping(pid, pid, secs_of(1));
	ck(slept, "a blocked %s is asleep (state S) within a second", z_what[kase]);
	t0 = proc_ticks(pid);
	sleep_ms(500);
	t1 = proc_ticks(pid);
	ck(t0 >= 0 && t1 - t0 <= 10, "a blocked %s uses almost no CPU: %ld ticks in 0.5 s", z_what[kase], t1 - t0);
	switch (kase) {
	case Z_READER:
	case Z_SOCKET:
		kipc_write(p[0 + (kase != Z_SOCKET)], "wake", 4);
		break;
	case Z_WRITER:
		drain(p[0], NULL, 0);
		break;
	default:
		fd = kipc_open("/sleepy", O_WRONLY);
		break;
	}
	st = reap(pid, 10);
	ckd(exited0(st), status_str(st), "the %s then completes", z_what[kase]);
	if (fd >= 0)
		kipc_close(fd);
}

/* ------------------------------------------------------------------------ */
/* kill -9                                                                  */
/* ------------------------------------------------------------------------ */

struct killer {
	pid_t victim;
	pid_t waiter;			/* tid to wait for in state S */
	double t_kill;
	int fired;
};

static void *killer_fn(void *arg)
{
	struct killer *k = arg;

	wait_sleeping(getpid(), k->waiter, secs_of(5));
	sleep_ms(50);
	k->t_kill = now();
	kill(k->victim, SIGKILL);
	__atomic_store_n(&k->fired, 1, __ATOMIC_RELEASE);
	return NULL;
}

static bool start_killer(struct killer *k, pthread_t *th, pid_t victim)
{
	k->victim = victim;
	k->waiter = gettid();
	k->fired = 0;
	return spawn(th, killer_fn, k) == 0;
}

enum {
	K_IDLE_WRITER, K_BLOCKED_WRITER, K_IDLE_READER, K_BLOCKED_READER, K_SOCK_READ,
	K_SOCK_WRITE, K_FIFO_WRITER, K_NB_READER, K_NB_WRITER, K_NCASES
};

static const char *const k_what[] = {
	"an idle writer", "a writer blocked on a full pipe", "an idle reader",
	"a reader blocked in read", "a socket peer (reading)", "a socket peer (writing)",
	"a FIFO writer", "the writer of an O_NONBLOCK reader", "the reader of an O_NONBLOCK writer",
};

static void s_kill(int kase)
{
	static char rbuf[CAP + PIPE_BUF];
	int p[2] = { -1, -1 };
	struct killer k;
	pthread_t th;
	pid_t pid;
	double c0, t0, t1;
	ssize_t r = 0;
	int err = 0, mine, theirs;
	bool want_eof = kase == K_IDLE_WRITER || kase == K_BLOCKED_WRITER || kase == K_SOCK_READ ||
			kase == K_FIFO_WRITER || kase == K_NB_READER;
	char buf[64];

	signal(SIGPIPE, SIG_IGN);
	if (kase == K_SOCK_READ || kase == K_SOCK_WRITE) {
		if (kipc_socketpair(AF_UNIX, SOCK_STREAM, 0, p)) {
			ck(0, "socketpair");
			return;
		}
		mine = 0;
		theirs = 1;
	} else if (kase == K_FIFO_WRITER) {
		kipc_unlink("/victim");
		if (kipc_mkfifo("/victim", 0600) || (p[0] = kipc_open("/victim", O_RDONLY | O_NONBLOCK)) < 0) {
			ck(0, "FIFO: %s", ename(errno));
			return;
		}
		nonblock(p[0], false);
		mine = 0;
		theirs = 1;
	} else {
		if (kipc_pipe(p)) {
			ck(0, "pipe");
			return;
		}
		mine = want_eof ? 0 : 1;
		theirs = !mine;
	}
	if (kase == K_SOCK_WRITE)
		fill_up(p[0], 's');
	pid = fork_child();
	if (pid == 0) {
		uint32_t seq;

		switch (kase) {
		case K_IDLE_WRITER:
		case K_NB_READER:
			kipc_write(p[1], "abc", 3);
			break;
		case K_BLOCKED_WRITER:
			for (seq = 0;; seq++) {
				rec_make(rbuf, 1, seq, PIPE_BUF);
				if (kipc_write(p[1], rbuf, PIPE_BUF) != PIPE_BUF)
					_exit(1);
				__atomic_store_n(&sh->val[0], (long)seq + 1, __ATOMIC_RELEASE);
			}
		case K_BLOCKED_READER:
			kipc_read(p[0], buf, sizeof(buf));
			_exit(1);
		case K_FIFO_WRITER:
			p[1] = kipc_open("/victim", O_WRONLY);
			kipc_write(p[1], "abc", 3);
			__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
			break;
		default:
			break;
		}
		for (;;)
			pause();
	}
	if (kase != K_FIFO_WRITER)
		kipc_close(p[theirs]);
	if (kase == K_BLOCKED_READER || kase == K_BLOCKED_WRITER) {
		/* The victim is the one blocked: kill it from here. */
		bool slept = wait_sleeping(pid, pid, secs_of(5));

		ck(slept, "kill: %s, asleep before the kill", k_what[kase]);
		k.t_kill = now();
		kill(pid, SIGKILL);
		k.fired = 1;
		c0 = cpu_now();
		t0 = now();
		guard(10);
		if (kase == K_BLOCKED_READER) {
			int n = 0;

			while ((r = kipc_write(p[mine], rbuf, PIPE_BUF)) == PIPE_BUF)
				n++;
			err = errno;
			ck(n <= CAP / PIPE_BUF, "kill: %s: at most a pipeful (%d writes) went in first", k_what[kase], n);
		} else {
			long completed = __atomic_load_n(&sh->val[0], __ATOMIC_ACQUIRE);
			long got = 0, bad = 0;
			struct rec_hdr h;

			while ((r = kipc_read(p[mine], rbuf, PIPE_BUF)) == PIPE_BUF) {
				if (!rec_check(rbuf, PIPE_BUF, &h) || h.seq != (uint32_t)got)
					bad++;
				got++;
			}
			err = errno;
			ck(bad == 0 && (got == completed || got == completed + 1),
			   "kill: %s: every record whose write returned is read once, whole, in order "
			   "(%ld read, %ld completed, %ld bad)", k_what[kase], got, completed, bad);
		}
		unguard();
	} else {
		if (kase == K_FIFO_WRITER)
			wait_flag(&sh->ready, secs_of(5));
		if (kase == K_IDLE_WRITER || kase == K_FIFO_WRITER || kase == K_NB_READER)
			ck(read_full(p[mine], buf, 3) == 3 && !memcmp(buf, "abc", 3),
			   "kill: %s: its bytes arrive first", k_what[kase]);
		if (kase == K_NB_READER || kase == K_NB_WRITER)
			nonblock(p[mine], true);
		if (!start_killer(&k, &th, pid)) {
			ck(0, "pthread_create");
			return;
		}
		c0 = cpu_now();
		t0 = now();
		guard(10);
		for (;;) {
			if (want_eof) {
				r = kipc_read(p[mine], buf, sizeof(buf));
			} else {
				while ((r = kipc_write(p[mine], rbuf, PIPE_BUF)) == PIPE_BUF)
					;
			}
			err = errno;
			/* O_NONBLOCK: poll, for at most 8 s */
			if (r != -1 || err != EAGAIN || now() - t0 > 8)
				break;
			sleep_ms(5);
		}
		unguard();
		pthread_join(th, NULL);
	}
	t1 = now();
	if (want_eof)
		ck(r == 0, "kill -9 of %s: the reader sees EOF (got %zd%s%s)", k_what[kase], r,
		   r < 0 ? ", " : "", r < 0 ? ename(err) : "");
	else
		ck(r == -1 && err == EPIPE, "kill -9 of %s: the writer gets EPIPE (got %zd%s%s)", k_what[kase], r,
		   r < 0 ? ", " : "", r < 0 ? ename(err) : "");
	ck(k.fired && t1 - k.t_kill < WITHIN_S, "  within %.0f s of the kill (%.3f s), the victim unreaped",
	   WITHIN_S, t1 - k.t_kill);
	ck(cpu_now() - c0 < 0.25 * (t1 - t0) + 0.1, "  without burning a core (%.3f s of CPU in %.3f s)",
	   cpu_now() - c0, t1 - t0);
	if (kase == K_SOCK_READ)
		ck_err(kipc_write(p[mine], "x", 1), EPIPE, "kill -9 of a socket peer: writing to it is EPIPE too");
	if (kase == K_SOCK_WRITE) {
		nonblock(p[mine], true);
		ck(drain(p[mine], NULL, 0) == 0 && kipc_read(p[mine], buf, 1) == 0,
		   "kill -9 of a socket peer: reading from it is EOF too");
	}
	reap(pid, 5);
}

/* ------------------------------------------------------------------------ */
/* fork                                                                     */
/* ------------------------------------------------------------------------ */

enum { F_COUNTS, F_DATA, F_CHILD_CLOSE, F_EOF_ALL, F_NONBLOCK_SHARED, F_NCASES };

static void s_fork(int kase)
{
	int p[2], q[2];
	pid_t pid;
	int st;
	char buf[64];

	if (kipc_pipe(p) || kipc_pipe(q)) {
		ck(0, "pipe");
		return;
	}
	pid = fork_child();
	if (pid == 0) {
		switch (kase) {
		case F_COUNTS:
			sh->val[0] = role_count(p[0], 0, KIPC__ROLE_READ);
			sh->val[1] = role_count(p[0], 0, KIPC__ROLE_WRITE);
			__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
			wait_flag(&sh->done, 10);
			_exit(0);
		case F_DATA:
			if (kipc_write(p[1], "from child", 10) != 10 || read_full(q[0], buf, 11) != 11 ||
			    memcmp(buf, "from parent", 11))
				_exit(1);
			_exit(0);
		case F_CHILD_CLOSE:
			kipc_close(p[0]);
			kipc_close(p[1]);
			__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
			wait_flag(&sh->done, 10);
			_exit(0);
		case F_EOF_ALL:
			kipc_close(p[0]);
			wait_flag(&sh->go, 10);
			kipc_write(p[1], "bye", 3);
			_exit(0);
		default:
			_exit(kipc_fcntl(p[0], F_SETFL, O_NONBLOCK) == 0 ? 0 : 1);
		}
	}
	switch (kase) {
	case F_COUNTS:
		wait_flag(&sh->ready, 10);
		ck(role_count(p[0], 0, KIPC__ROLE_READ) == 1 && role_count(p[0], 0, KIPC__ROLE_WRITE) == 1,
		   "fork: one reader and one writer description in the parent, the child alive");
		ck(sh->val[0] == 1 && sh->val[1] == 1, "fork: and in the child (%ld, %ld)", sh->val[0], sh->val[1]);
		__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
		break;
	case F_DATA:
		ck(read_full(p[0], buf, 10) == 10 && !memcmp(buf, "from child", 10),
		   "fork: the parent reads what the child wrote on the inherited pipe");
		kipc_write(q[1], "from parent", 11);
		break;
	case F_CHILD_CLOSE:
		wait_flag(&sh->ready, 10);
		ck(role_count(p[0], 0, KIPC__ROLE_READ) == 1 && role_count(p[0], 0, KIPC__ROLE_WRITE) == 1,
		   "fork: the child closing its copies leaves the parent's ends counted");
		ck(kipc_write(p[1], "still", 5) == 5 && read_full(p[0], buf, 5) == 5 && !memcmp(buf, "still", 5),
		   "fork: and working");
		nonblock(p[0], true);
		ck_err(kipc_read(p[0], buf, 1), EAGAIN, "fork: no EOF while the parent holds a writer");
		nonblock(p[0], false);
		__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
		break;
	case F_EOF_ALL: {
		ssize_t r;

		kipc_close(p[1]);
		nonblock(p[0], true);
		ck_err(kipc_read(p[0], buf, 1), EAGAIN,
		       "fork: the parent closed its writer, the child holds one: EAGAIN, not EOF");
		nonblock(p[0], false);
		__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
		guard(10);
		ck(read_full(p[0], buf, 3) == 3 && !memcmp(buf, "bye", 3), "fork: the child's last bytes");
		r = kipc_read(p[0], buf, sizeof(buf));
		unguard();
		ck_is(r, 0, "fork: EOF once the child, the last holder, exited");
		break;
	}
	default:
		reap(pid, 10);
		/*
		 * The kernel keeps O_NONBLOCK in the shared description; kipc
		 * keeps it per process (docs/pipe.md): the child's F_SETFL
		 * stays the child's.
		 */
		ck_is(kipc_fcntl(p[0], F_GETFL), O_RDONLY,
		      "fork: O_NONBLOCK set by the child stays the child's (per process, docs/pipe.md)");
		break;
	}
	st = reap(pid, 10);
	if (kase != F_NONBLOCK_SHARED)
		ckd(exited0(st), status_str(st), "fork: the child exited 0");
}

/* ------------------------------------------------------------------------ */
/* Atomic writes                                                            */
/* ------------------------------------------------------------------------ */

#define NWRITERS 4

enum { A_PIPE_BUF, A_RANDOM, A_NONBLOCK, A_NCASES };

static const char *const a_what[] = { "PIPE_BUF-sized records", "random-sized records",
				       "PIPE_BUF-sized O_NONBLOCK records" };

static void a_writer(int wfd, int id, int nrec, int kase)
{
	static char rec[PIPE_BUF];
	uint64_t r = mix64((uint64_t)id + rng_state);

	for (int seq = 0; seq < nrec; seq++) {
		size_t len = PIPE_BUF;
		ssize_t w;

		if (kase == A_RANDOM) {
			r = mix64(r);
			len = sizeof(struct rec_hdr) + r % (PIPE_BUF - sizeof(struct rec_hdr) + 1);
		}
		rec_make(rec, (unsigned int)id, (uint32_t)seq, len);
		while ((w = kipc_write(wfd, rec, len)) == -1 && errno == EAGAIN && kase == A_NONBLOCK)
			sched_yield();
		if (w != (ssize_t)len) {
			__atomic_fetch_add(&sh->val[1], 1, __ATOMIC_RELAXED);
			_exit(1);
		}
	}
	_exit(0);
}

static void s_atomic(int kase)
{
	static char acc[2 * CAP + 4 * PIPE_BUF];
	int nrec = slow ? 100 : 400, p[2], st[NWRITERS];
	pid_t pid[NWRITERS];
	long next[NWRITERS] = { 0 }, bad = 0, total = 0;
	size_t have = 0;
	bool eof = false;

	if (kipc_pipe(p)) {
		ck(0, "pipe");
		return;
	}
	if (kase == A_NONBLOCK)
		nonblock(p[1], true);
	for (int i = 0; i < NWRITERS; i++) {
		pid[i] = fork_child();
		if (pid[i] == 0) {
			kipc_close(p[0]);
			a_writer(p[1], i, nrec, kase);
		}
	}
	kipc_close(p[1]);
	guard(30);
	while (!eof && !bad) {
		size_t want = 1 + rnd() % (3 * PIPE_BUF), off = 0;
		ssize_t r = kipc_read(p[0], acc + have, want);

		if (r < 0) {
			note("read: %s", ename(errno));
			bad++;
			break;
		}
		eof = r == 0;
		have += (size_t)r;
		for (;;) {
			struct rec_hdr h;
			size_t len;

			if (have - off < sizeof(h))
				break;
			memcpy(&h, acc + off, sizeof(h));
			if (h.magic == REC_MAGIC && h.sum == rec_sum(&h) && h.len <= PIPE_BUF &&
			    have - off < h.len)
				break;	/* a record still arriving */
			len = rec_check(acc + off, have - off, &h);
			if (!len || h.writer >= NWRITERS || h.seq != (uint32_t)next[h.writer]) {
				bad++;
				break;
			}
			next[h.writer]++;
			total++;
			off += len;
		}
		memmove(acc, acc + off, have - off);
		have -= off;
	}
	unguard();
	for (int i = 0; i < NWRITERS; i++)
		st[i] = reap(pid[i], 10);
	ck(!bad && have == 0 && total == NWRITERS * nrec,
	   "atomic: %d writer processes, %s: none interleaved, each writer's in order, all there "
	   "(%ld of %d, %ld bad, %zu bytes left over)", NWRITERS, a_what[kase], total, NWRITERS * nrec,
	   bad, have);
	ck(exited0(st[0]) && exited0(st[1]) && exited0(st[2]) && exited0(st[3]) && sh->val[1] == 0,
	   "atomic: %s: every write returned its full length (%ld did not)", a_what[kase], sh->val[1]);
}

/* Threads of one process sharing both descriptors. */
struct tshare {
	int rfd, wfd, id, nrec;
	long reads, short_reads, bad, dups, disorder;
};

static void *t_writer(void *arg)
{
	struct tshare *t = arg;
	char rec[PIPE_BUF];

	for (int seq = 0; seq < t->nrec; seq++) {
		rec_make(rec, (unsigned int)t->id, (uint32_t)seq, PIPE_BUF);
		if (kipc_write(t->wfd, rec, PIPE_BUF) != PIPE_BUF)
			t->bad++;
	}
	return NULL;
}

static void *t_reader(void *arg)
{
	struct tshare *t = arg;
	char rec[PIPE_BUF];
	long last[NWRITERS];
	ssize_t r;

	for (int i = 0; i < NWRITERS; i++)
		last[i] = -1;
	while ((r = kipc_read(t->rfd, rec, PIPE_BUF)) != 0) {
		struct rec_hdr h;

		t->reads++;
		if (r != PIPE_BUF) {
			t->short_reads++;
			continue;
		}
		if (!rec_check(rec, PIPE_BUF, &h) || h.writer >= NWRITERS || h.seq >= 1024) {
			t->bad++;
			continue;
		}
		if (__atomic_fetch_or(&sh->seen[h.writer][h.seq / 64], 1ull << (h.seq % 64), __ATOMIC_RELAXED) &
		    (1ull << (h.seq % 64)))
			t->dups++;
		if ((long)h.seq <= last[h.writer])
			t->disorder++;
		last[h.writer] = h.seq;
	}
	return NULL;
}

static void s_threads(int unused)
{
	struct tshare w[NWRITERS], r[2];
	pthread_t wt[NWRITERS], rt[2];
	int p[2], nrec = slow ? 100 : 500;
	long missing = 0, reads = 0, shorts = 0, bad = 0, dups = 0, disorder = 0;

	(void)unused;
	if (kipc_pipe(p)) {
		ck(0, "pipe");
		return;
	}
	for (int i = 0; i < 2; i++) {
		r[i] = (struct tshare){ .rfd = p[0] };
		spawn(&rt[i], t_reader, &r[i]);
	}
	for (int i = 0; i < NWRITERS; i++) {
		w[i] = (struct tshare){ .wfd = p[1], .id = i, .nrec = nrec };
		spawn(&wt[i], t_writer, &w[i]);
	}
	for (int i = 0; i < NWRITERS; i++) {
		pthread_join(wt[i], NULL);
		bad += w[i].bad;
	}
	kipc_close(p[1]);
	for (int i = 0; i < 2; i++) {
		pthread_join(rt[i], NULL);
		reads += r[i].reads;
		shorts += r[i].short_reads;
		bad += r[i].bad;
		dups += r[i].dups;
		disorder += r[i].disorder;
	}
	for (int i = 0; i < NWRITERS; i++)
		for (int s = 0; s < nrec; s++)
			missing += !(sh->seen[i][s / 64] & (1ull << (s % 64)));
	ck(!shorts && !bad && reads == NWRITERS * nrec,
	   "threads: %d writers and 2 readers on one pipe: every PIPE_BUF read is one whole record "
	   "(%ld reads, %ld short, %ld bad)", NWRITERS, reads, shorts, bad);
	ck(!missing && !dups && !disorder, "threads: each record read once, in order per writer and reader "
	   "(%ld missing, %ld twice, %ld out of order)", missing, dups, disorder);
}

/* ------------------------------------------------------------------------ */
/* F_SETPIPE_SZ                                                             */
/* ------------------------------------------------------------------------ */

static void s_size(int unused)
{
	const struct {
		unsigned long req;
		long want;		/* the new capacity, or -errno */
	} rows[] = {
		{ 0, page }, { 1, page }, { (unsigned long)page, page }, { (unsigned long)page + 1, 2 * page },
		{ 65536, 65536 }, { 100000, 131072 }, { 1 << 20, 1 << 20 },
		{ (1 << 20) + 1, -EPERM }, { 1ul << 30, -EPERM },
	};
	static char src[(1 << 20) + CAP], got[(1 << 20) + CAP];
	int p[2], s[2];

	(void)unused;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long want = rows[i].want;
		int r;

		if (kipc_pipe(p)) {
			ck(0, "pipe");
			return;
		}
		r = kipc_fcntl(p[1], F_SETPIPE_SZ, rows[i].req);
		if (want > 0)
			ck(r == want, "F_SETPIPE_SZ %lu: %ld (got %d, %s)", rows[i].req, want, r,
			   r < 0 ? ename(errno) : "-");
		else
			ck(r == -1 && errno == -want, "F_SETPIPE_SZ %lu: %s (got %d, %s)", rows[i].req,
			   ename((int)-want), r, r < 0 ? ename(errno) : "-");
		ck_is(kipc_fcntl(p[0], F_GETPIPE_SZ), want > 0 ? want : CAP,
		      "  F_GETPIPE_SZ on the other end: %ld", want > 0 ? want : CAP);
		if (rows[i].req == (unsigned long)page + 1 || rows[i].req == 1 << 20) {
			nonblock(p[1], true);
			ck_is(put(p[1], SIZE_MAX, 'c'), want, "  the pipe now holds exactly %ld bytes", want);
		}
		kipc_close(p[0]);
		kipc_close(p[1]);
	}

	stream_fill(src, sizeof(src), 99, 0);
	kipc_pipe(p);
	kipc_write(p[1], src, 5000);
	ck_err(kipc_fcntl(p[0], F_SETPIPE_SZ, 4096), EBUSY, "F_SETPIPE_SZ below the 5000 bytes buffered: EBUSY");
	ck_is(kipc_fcntl(p[1], F_GETPIPE_SZ), CAP, "  the capacity unchanged");
	ck(drain(p[0], got, sizeof(got)) == 5000 && !memcmp(got, src, 5000), "  the data intact");
	kipc_write(p[1], src, 8192);
	ck_is(kipc_fcntl(p[0], F_SETPIPE_SZ, 8192), 8192, "F_SETPIPE_SZ to exactly the 8192 bytes buffered");
	nonblock(p[1], true);
	ck_err(kipc_write(p[1], "x", 1), EAGAIN, "  the pipe is full");
	ck(drain(p[0], got, sizeof(got)) == 8192 && !memcmp(got, src, 8192), "  the data intact");
	kipc_close(p[0]);
	kipc_close(p[1]);

	/* Resizing with the data wrapped around the ring's end, up and down. */
	{
		static const struct { long cap0, first, consumed, second, newcap; } w[] = {
			{ 65536, 60000, 50000, 40000, 131072 },
			{ 65536, 65536, 65000, 30000, 1 << 20 },
			{ 131072, 131072, 120000, 20000, 65536 },
			{ 131072, 100000, 90000, 50000, 65536 },
			{ 1 << 20, 1 << 20, (1 << 20) - 3000, 1000, 4096 },
		};

		for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
			size_t in = 0, out = 0, n;
			int r;

			kipc_pipe(p);
			kipc_fcntl(p[1], F_SETPIPE_SZ, (unsigned long)w[i].cap0);
			nonblock(p[1], true);
			in += put_buf(p[1], src, (size_t)w[i].first);
			out += (size_t)read_full(p[0], got, (size_t)w[i].consumed);
			in += put_buf(p[1], src + in, (size_t)w[i].second);
			r = kipc_fcntl(p[0], F_SETPIPE_SZ, (unsigned long)w[i].newcap);
			n = drain(p[0], got + out, sizeof(got) - out);
			ck(r == w[i].newcap && in == (size_t)(w[i].first + w[i].second) && out + n == in &&
			   !memcmp(got, src, in),
			   "F_SETPIPE_SZ %ld -> %ld with %ld bytes wrapped around the ring: the stream intact",
			   w[i].cap0, w[i].newcap, (long)in - (long)out);
			kipc_close(p[0]);
			kipc_close(p[1]);
		}
	}

	if (kipc_socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0) {
		ck_err(kipc_fcntl(s[0], F_GETPIPE_SZ), EBADF, "F_GETPIPE_SZ on a socket: EBADF, as the kernel");
		ck_err(kipc_fcntl(s[0], F_SETPIPE_SZ, 4096), EBADF, "F_SETPIPE_SZ on a socket: EBADF");
	}
}

/* A writer blocked on a full pipe, released by F_SETPIPE_SZ alone. */
static void s_size_wake(int unused)
{
	size_t pre;
	int p[2], st, r;
	pid_t pid;
	bool slept, done;

	(void)unused;
	if (kipc_pipe(p)) {
		ck(0, "pipe");
		return;
	}
	pre = fill_up(p[1], 'f');
	pid = fork_child();
	if (pid == 0) {
		char rec[PIPE_BUF];

		memset(rec, 'g', sizeof(rec));
		if (kipc_write(p[1], rec, sizeof(rec)) != PIPE_BUF)
			_exit(1);
		__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
		_exit(0);
	}
	slept = wait_sleeping(pid, pid, secs_of(5));
	r = kipc_fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
	done = wait_flag(&sh->done, WITHIN_S);
	ck(slept && r == 1 << 20 && done,
	   "a writer blocked on a full pipe proceeds when F_SETPIPE_SZ makes room (the kernel wakes it)");
	if (!done) {
		static char buf[CAP];

		read_full(p[0], buf, pre);	/* exactly the prefill: the writer's record stays */
	}
	st = reap(pid, 10);
	ckd(exited0(st), status_str(st), "  and its write completes");
	ck_is(buffered(p[0], 0), done ? CAP + PIPE_BUF : PIPE_BUF, "  the pipe holds what both wrote");
}

/* ------------------------------------------------------------------------ */
/* O_DIRECT: packet mode                                                    */
/* ------------------------------------------------------------------------ */

static void s_packet(int unused)
{
	static char src[8192], buf[CAP];
	int p[2];
	ssize_t a, b, c;

	(void)unused;
	stream_fill(src, sizeof(src), 5, 0);
	if (kipc_pipe2(p, O_DIRECT | O_NONBLOCK)) {
		ck(0, "pipe2(O_DIRECT): %s", ename(errno));
		return;
	}
	kipc_write(p[1], src, 10);
	kipc_write(p[1], src + 10, 20);
	kipc_write(p[1], src + 30, 30);
	a = kipc_read(p[0], buf, sizeof(buf));
	b = kipc_read(p[0], buf + 10, sizeof(buf));
	c = kipc_read(p[0], buf + 30, sizeof(buf));
	ck(a == 10 && b == 20 && c == 30 && !memcmp(buf, src, 60),
	   "O_DIRECT: each read returns one packet (%zd, %zd, %zd)", a, b, c);
	kipc_write(p[1], src, 10);
	kipc_write(p[1], src + 100, 5);
	a = kipc_read(p[0], buf, 3);
	b = kipc_read(p[0], buf + 3, sizeof(buf));
	ck(a == 3 && b == 5 && !memcmp(buf, src, 3) && !memcmp(buf + 3, src + 100, 5),
	   "O_DIRECT: a short read takes the start of a packet, the rest is discarded (%zd, %zd)", a, b);
	ck(kipc_write(p[1], src, PIPE_BUF) == PIPE_BUF && kipc_read(p[0], buf, sizeof(buf)) == PIPE_BUF &&
	   !memcmp(buf, src, PIPE_BUF), "O_DIRECT: a PIPE_BUF packet, whole");
	a = kipc_write(p[1], src, 5000);
	b = kipc_read(p[0], buf, sizeof(buf));
	c = kipc_read(p[0], buf + (b > 0 ? b : 0), sizeof(buf));
	ck(a == 5000 && b == PIPE_BUF && c == 5000 - PIPE_BUF && !memcmp(buf, src, 5000),
	   "O_DIRECT: a 5000-byte write is split into packets of PIPE_BUF, pipe(7) (wrote %zd, read %zd, %zd)",
	   a, b, c);
	drain(p[0], NULL, 0);
	nonblock(p[0], true);	/* drain() leaves it blocking */
	ck_is(kipc_write(p[1], src, 0), 0, "O_DIRECT: a write of 0 bytes returns 0");
	ck_err(kipc_read(p[0], buf, sizeof(buf)), EAGAIN,
	       "O_DIRECT: and makes no packet (a 0-byte read would look like EOF)");
	kipc_write(p[1], src, 7);
	kipc_close(p[1]);
	ck(kipc_read(p[0], buf, sizeof(buf)) == 7 && kipc_read(p[0], buf, sizeof(buf)) == 0,
	   "O_DIRECT: the last packet, then EOF");
}

/* ------------------------------------------------------------------------ */
/* FIFOs                                                                    */
/* ------------------------------------------------------------------------ */

static int fifo_mode(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/fifo/%s", ns_dir, name + 1);
	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static void s_fifo(int unused)
{
	static const struct { const char *name; int err; } bad_names[] = {
		{ "fifo", EINVAL }, { "", EINVAL }, { "/", EINVAL }, { "/a/b", EINVAL },
		{ "//a", EINVAL }, { "/.", EINVAL }, { "/..", EINVAL }, { NULL, ENAMETOOLONG },
	};
	char longname[NAME_MAX + 3], okname[NAME_MAX + 2], buf[64];
	int r, w, rw, r2, w2;

	(void)unused;
	longname[0] = okname[0] = '/';
	memset(longname + 1, 'n', NAME_MAX + 1);
	longname[NAME_MAX + 2] = '\0';
	memset(okname + 1, 'o', NAME_MAX);
	okname[NAME_MAX + 1] = '\0';

	umask(022);
	ck_is(kipc_mkfifo("/f", 0666), 0, "mkfifo /f 0666");
	ck_is(fifo_mode("/f"), 0644, "mkfifo: the mode less the umask 022 (0644)");
	ck_is(kipc_mkfifo("/g", 0600), 0, "mkfifo /g 0600");
	ck_is(fifo_mode("/g"), 0600, "mkfifo: mode 0600");
	ck_err(kipc_mkfifo("/f", 0600), EEXIST, "mkfifo of an existing name: EEXIST");
	ck_is(kipc_mkfifo(okname, 0600), 0, "mkfifo: a name of NAME_MAX bytes");
	ck_is(kipc_unlink(okname), 0, "unlink: that name");
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		const char *n = bad_names[i].name ? bad_names[i].name : longname;
		const char *shown = bad_names[i].name ? n : "/<256 bytes>";

		ck_err(kipc_mkfifo(n, 0600), bad_names[i].err, "mkfifo \"%s\": %s", shown, ename(bad_names[i].err));
		ck_err(kipc_open(n, O_RDONLY | O_NONBLOCK), bad_names[i].err, "open \"%s\": %s", shown,
		       ename(bad_names[i].err));
		ck_err(kipc_unlink(n), bad_names[i].err, "unlink \"%s\": %s", shown, ename(bad_names[i].err));
	}
	ck_err(kipc_open("/nope", O_RDONLY | O_NONBLOCK), ENOENT, "open of a missing FIFO: ENOENT");
	ck_err(kipc_unlink("/nope"), ENOENT, "unlink of a missing FIFO: ENOENT");
	ck_err(kipc_open("/f", O_RDONLY | O_CREAT, 0600), EINVAL, "open with O_CREAT: EINVAL (mkfifo makes FIFOs)");
	ck_err(kipc_open("/f", O_ACCMODE | O_NONBLOCK), EINVAL, "open with access mode 3: EINVAL");

	/* No one else: the O_NONBLOCK rules. */
	ck_err(kipc_open("/f", O_WRONLY | O_NONBLOCK), ENXIO, "O_WRONLY | O_NONBLOCK, no reader: ENXIO");
	r = kipc_open("/f", O_RDONLY | O_NONBLOCK);
	ck(r >= 0, "O_RDONLY | O_NONBLOCK, no writer: opens at once");
	ck_is(kipc_fcntl(r, F_GETFL), O_RDONLY | O_NONBLOCK, "  F_GETFL: O_RDONLY | O_NONBLOCK");
	ck_is(kipc_read(r, buf, sizeof(buf)), 0, "  a read with no writer ever: 0 (EOF)");
	ck_is(kipc_fcntl(r, F_GETPIPE_SZ), CAP, "  capacity 64 KiB");
	w = kipc_open("/f", O_WRONLY | O_NONBLOCK);
	ck(w >= 0, "O_WRONLY | O_NONBLOCK with a reader open: opens");
	ck_is(kipc_fcntl(w, F_GETFL), O_WRONLY | O_NONBLOCK, "  F_GETFL: O_WRONLY | O_NONBLOCK");
	ck_err(kipc_read(r, buf, sizeof(buf)), EAGAIN, "the reader: EAGAIN now that a writer is open");
	ck(kipc_write(w, "fifo", 4) == 4 && kipc_read(r, buf, sizeof(buf)) == 4 && !memcmp(buf, "fifo", 4),
	   "bytes written on one open arrive on the other");
	ck_is(kipc_fcntl(w, F_SETPIPE_SZ, 1 << 18), 1 << 18, "F_SETPIPE_SZ on the write end");
	ck_is(kipc_fcntl(r, F_GETPIPE_SZ), 1 << 18, "  seen by the reader's separate open");
	r2 = kipc_open("/f", O_RDONLY | O_NONBLOCK);
	w2 = kipc_open("/f", O_WRONLY | O_NONBLOCK);
	ck(role_count(r, 0, KIPC__ROLE_READ) == 2 && role_count(r, 0, KIPC__ROLE_WRITE) == 2,
	   "two opens per role: two reader and two writer descriptions (%d, %d)",
	   role_count(r, 0, KIPC__ROLE_READ), role_count(r, 0, KIPC__ROLE_WRITE));
	kipc_close(r2);
	kipc_close(w2);
	ck(role_count(r, 0, KIPC__ROLE_READ) == 1 && role_count(r, 0, KIPC__ROLE_WRITE) == 1,
	   "closing one of each: one left of each");
	kipc_write(w, "end", 3);
	kipc_close(w);
	ck(kipc_read(r, buf, sizeof(buf)) == 3 && kipc_read(r, buf, sizeof(buf)) == 0,
	   "the last writer closed: the buffered bytes, then EOF");
	w = kipc_open("/f", O_WRONLY | O_NONBLOCK);
	ck(w >= 0 && kipc_write(w, "again", 5) == 5, "a new writer opens after EOF");
	ck(kipc_read(r, buf, sizeof(buf)) == 5 && !memcmp(buf, "again", 5),
	   "  and the old reader reads its bytes: a FIFO reconnects");
	kipc_close(w);

	/* O_RDWR: never blocks, is its own peer. */
	rw = kipc_open("/g", O_RDWR);
	ck(rw >= 0, "O_RDWR (blocking) with no one else: opens at once");
	ck_is(kipc_fcntl(rw, F_GETFL), O_RDWR, "  F_GETFL: O_RDWR");
	ck(kipc_write(rw, "loop", 4) == 4 && kipc_read(rw, buf, sizeof(buf)) == 4 && !memcmp(buf, "loop", 4),
	   "  writes and reads through the one descriptor");
	nonblock(rw, true);
	ck_err(kipc_read(rw, buf, sizeof(buf)), EAGAIN, "  empty: EAGAIN, not EOF (it is a writer itself)");
	r2 = kipc_open("/g", O_RDONLY);
	ck(r2 >= 0, "a blocking O_RDONLY open returns at once with an O_RDWR end open");
	w2 = kipc_open("/g", O_WRONLY);
	ck(w2 >= 0, "a blocking O_WRONLY open returns at once with an O_RDWR end open");
	kipc_close(r2);
	kipc_close(w2);
	kipc_close(rw);
	kipc_close(r);

	/* unlink */
	r = kipc_open("/f", O_RDONLY | O_NONBLOCK);
	w = kipc_open("/f", O_WRONLY | O_NONBLOCK);
	ck_is(kipc_unlink("/f"), 0, "unlink /f with ends open");
	ck_err(kipc_open("/f", O_RDONLY | O_NONBLOCK), ENOENT, "  the name is gone");
	ck(kipc_write(w, "kept", 4) == 4 && kipc_read(r, buf, sizeof(buf)) == 4 && !memcmp(buf, "kept", 4),
	   "  the open ends keep working");
	ck_is(kipc_mkfifo("/f", 0600), 0, "mkfifo /f again");
	r2 = kipc_open("/f", O_RDONLY | O_NONBLOCK);
	kipc_write(w, "old", 3);
	ck(r2 >= 0 && kipc_read(r2, buf, sizeof(buf)) == 0, "  a new FIFO: nothing of the old one's data");
	ck(kipc_read(r, buf, sizeof(buf)) == 3, "  the old one still carries it");
	kipc_close(r);
	kipc_close(w);
	kipc_close(r2);

	/* A corrupt object where a FIFO should be. */
	{
		char path[PATH_MAX];
		FILE *f;

		snprintf(path, sizeof(path), "%s/fifo/junk", ns_dir);
		f = fopen(path, "w");
		if (f) {
			for (int i = 0; i < 8192; i++)
				fputc(i * 7, f);
			fclose(f);
		}
		ck_err(kipc_open("/junk", O_RDONLY | O_NONBLOCK), EBADMSG, "open of a corrupt file: EBADMSG");
	}
}

enum { O_READER_WAITS, O_WRITER_WAITS, O_BOTH_BLOCK, O_TWO_READERS, O_FORK_COUNTS, O_NCASES };

static const char *const o_what[] = {
	"a blocking reader waits for a writer", "a blocking writer waits for a reader",
	"a blocking reader and a blocking writer meet", "two blocking readers wait for one writer",
	"fork keeps the role counts",
};

/* A child opening /o blocking for reading (then reading "to reader" and EOF) or writing it. */
static pid_t fifo_child(int acc, bool expect_data, int slot)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		double t0 = now();
		char buf[16];
		int fd = kipc_open("/o", acc);

		sh->t[slot] = now() - t0;
		__atomic_store_n(&sh->flag[slot], 1, __ATOMIC_RELEASE);
		if (fd < 0)
			_exit(2);
		if (acc == O_WRONLY)
			_exit(kipc_write(fd, "to reader", 9) == 9 ? 0 : 3);
		if (expect_data && (read_full(fd, buf, 9) != 9 || memcmp(buf, "to reader", 9)))
			_exit(4);
		_exit(kipc_read(fd, buf, sizeof(buf)) == 0 ? 0 : 5);
	}
	return pid;
}

static void s_fifo_open(int kase)
{
	pid_t pid, pid2 = -1;
	int fd = -1, st, st2 = 0;
	bool slept;
	char buf[64];

	kipc_unlink("/o");
	if (kipc_mkfifo("/o", 0600)) {
		ck(0, "mkfifo: %s", ename(errno));
		return;
	}
	if (kase == O_FORK_COUNTS) {
		int r = kipc_open("/o", O_RDONLY | O_NONBLOCK), w = kipc_open("/o", O_WRONLY | O_NONBLOCK);
		int r2 = kipc_open("/o", O_RDONLY | O_NONBLOCK);

		pid = fork_child();
		if (pid == 0) {
			sh->val[0] = role_count(r, 0, KIPC__ROLE_READ);
			sh->val[1] = role_count(r, 0, KIPC__ROLE_WRITE);
			__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
			wait_flag(&sh->done, 10);
			_exit(0);
		}
		wait_flag(&sh->ready, 10);
		ck(w >= 0 && r2 >= 0 && role_count(r, 0, KIPC__ROLE_READ) == 2 &&
		   role_count(r, 0, KIPC__ROLE_WRITE) == 1 && sh->val[0] == 2 && sh->val[1] == 1,
		   "FIFO: 2 reader opens and 1 writer, the same in parent and child after fork (child %ld, %ld)",
		   sh->val[0], sh->val[1]);
		__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
		st = reap(pid, 10);
		ckd(exited0(st), status_str(st), "FIFO: the child exited 0");
		ck(role_count(r, 0, KIPC__ROLE_READ) == 2 && role_count(r, 0, KIPC__ROLE_WRITE) == 1,
		   "FIFO: the child's exit leaves the parent's opens counted");
		return;
	}
	if (kase == O_BOTH_BLOCK) {
		pid = fifo_child(O_RDONLY, true, 0);
		pid2 = fifo_child(O_WRONLY, false, 1);
		st = reap(pid, 10);
		st2 = reap(pid2, 10);
		ck(exited0(st) && exited0(st2), "FIFO: %s: both opened, the bytes went across, then EOF (%s, %s)",
		   o_what[kase], status_str(st), status_str(st2));
		return;
	}
	pid = fifo_child(kase == O_WRITER_WAITS ? O_WRONLY : O_RDONLY, kase == O_READER_WAITS, 0);
	if (kase == O_TWO_READERS)
		pid2 = fifo_child(O_RDONLY, false, 1);
	slept = wait_sleeping(pid, pid, secs_of(5)) && (pid2 < 0 || wait_sleeping(pid2, pid2, secs_of(5)));
	sleep_ms(200);
	ck(slept && !__atomic_load_n(&sh->flag[0], __ATOMIC_ACQUIRE) &&
	   !__atomic_load_n(&sh->flag[1], __ATOMIC_ACQUIRE), "FIFO: %s: still in open after 200 ms", o_what[kase]);
	fd = kipc_open("/o", kase == O_WRITER_WAITS ? O_RDONLY : O_WRONLY);
	ck(fd >= 0, "FIFO: %s: the other side's blocking open returns at once", o_what[kase]);
	slept = wait_flag(&sh->flag[0], WITHIN_S) && sh->t[0] >= 0.15 &&
		(pid2 < 0 || (wait_flag(&sh->flag[1], WITHIN_S) && sh->t[1] >= 0.15));
	ck(slept, "FIFO: %s: the waiting open returns when the other side opens (after %.3f s)", o_what[kase],
	   sh->t[0]);
	if (kase == O_WRITER_WAITS) {
		ck(read_full(fd, buf, 9) == 9 && !memcmp(buf, "to reader", 9), "FIFO: the writer's bytes arrive");
	} else {
		if (kase == O_READER_WAITS)
			kipc_write(fd, "to reader", 9);
		kipc_close(fd);
	}
	st = reap(pid, 10);
	st2 = pid2 > 0 ? reap(pid2, 10) : 0;
	ck(exited0(st) && exited0(st2), "FIFO: %s: the child%s exited 0 (%s)", o_what[kase],
	   pid2 > 0 ? "ren" : "", status_str(st == 0 ? st2 : st));
}

/* nobody versus root's FIFOs (root only) */
static void s_fifo_perm(int unused)
{
	pid_t pid;
	int st;

	(void)unused;
	umask(0);
	kipc_mkfifo("/private", 0600);
	kipc_mkfifo("/public", 0666);
	pid = fork_child();
	if (pid == 0) {
		int fd;

		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(9);
		errno = 0;
		fd = kipc_open("/private", O_RDONLY | O_NONBLOCK);
		sh->val[0] = fd < 0 ? errno : 0;
		errno = 0;
		fd = kipc_open("/private", O_RDWR);
		sh->val[1] = fd < 0 ? errno : 0;
		errno = 0;
		fd = kipc_open("/public", O_RDWR | O_NONBLOCK);
		sh->val[2] = fd < 0 ? errno : 0;
		errno = 0;
		sh->val[3] = fd >= 0 && kipc_write(fd, "ok", 2) == 2 ? 0 : errno ? errno : -1;
		_exit(0);
	}
	st = reap(pid, 10);
	ckd(exited0(st), status_str(st), "perm: a child became nobody");
	ck(sh->val[0] == EACCES, "perm: nobody opening root's 0600 FIFO for reading: EACCES (got %s)",
	   ename((int)sh->val[0]));
	ck(sh->val[1] == EACCES, "perm: nobody opening it O_RDWR: EACCES (got %s)", ename((int)sh->val[1]));
	ck(sh->val[2] == 0 && sh->val[3] == 0, "perm: nobody opens and writes root's 0666 FIFO (got %s, %s)",
	   ename((int)sh->val[2]), ename((int)sh->val[3]));
}

/* ------------------------------------------------------------------------ */
/* Socket pairs                                                             */
/* ------------------------------------------------------------------------ */

static void s_sock(int unused)
{
	static const struct { const char *what; int domain, type, protocol; int err; } bad[] = {
		{ "AF_INET", AF_INET, SOCK_STREAM, 0, EAFNOSUPPORT },
		{ "SOCK_DGRAM", AF_UNIX, SOCK_DGRAM, 0, EOPNOTSUPP },
		{ "protocol 1", AF_UNIX, SOCK_STREAM, 1, EPROTONOSUPPORT },
	};
	static char src[CAP], got[2 * CAP];
	int s[2], t[2];
	char buf[64];
	size_t n;

	(void)unused;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_err(kipc_socketpair(bad[i].domain, bad[i].type, bad[i].protocol, s), bad[i].err,
		       "socketpair %s: %s", bad[i].what, ename(bad[i].err));
	ck_err(kipc_socketpair(AF_UNIX, SOCK_STREAM, 0, NULL), EFAULT, "socketpair(NULL): EFAULT");
	if (kipc_socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s)) {
		ck(0, "socketpair: %s", ename(errno));
		return;
	}
	ck(s[0] >= 0 && s[1] >= 0 && s[0] != s[1], "socketpair: two descriptors");
	ck(kipc_fcntl(s[0], F_GETFL) == O_RDWR && kipc_fcntl(s[1], F_GETFL) == O_RDWR, "socketpair: both O_RDWR");
	ck(kipc_write(s[0], "ping", 4) == 4 && kipc_write(s[1], "pong!", 5) == 5, "socketpair: each end writes");
	ck(kipc_read(s[1], buf, sizeof(buf)) == 4 && !memcmp(buf, "ping", 4), "socketpair: 0 -> 1");
	ck(kipc_read(s[0], buf, sizeof(buf)) == 5 && !memcmp(buf, "pong!", 5), "socketpair: 1 -> 0");
	kipc_write(s[0], "ab", 2);
	kipc_write(s[0], "cd", 2);
	ck(kipc_read(s[1], buf, sizeof(buf)) == 4 && !memcmp(buf, "abcd", 4),
	   "SOCK_STREAM: no message boundaries (one read, two writes)");
	nonblock(s[0], true);
	nonblock(s[1], true);
	ck_err(kipc_read(s[0], buf, 1), EAGAIN, "socketpair: an end reading nothing: EAGAIN, though it writes too");
	stream_fill(src, sizeof(src), 3, 0);
	n = put(s[0], SIZE_MAX, 'x');
	ck(n == CAP, "socketpair: one direction holds 64 KiB (%zu)", n);
	ck(kipc_write(s[1], src, 1000) == 1000, "  with 0 -> 1 full, 1 -> 0 still takes a write");
	ck(kipc_read(s[0], got, sizeof(got)) == 1000 && !memcmp(got, src, 1000),
	   "  and 0 reads it, untouched by the full direction");
	ck(drain(s[1], got, sizeof(got)) == CAP && all_are(got, CAP, 'x'), "  then 1 drains 0's 64 KiB, intact");
	kipc_write(s[1], "bye", 3);
	kipc_close(s[1]);
	ck(kipc_read(s[0], buf, sizeof(buf)) == 3 && kipc_read(s[0], buf, sizeof(buf)) == 0,
	   "socketpair: the peer closed: its last bytes, then EOF");
	signal(SIGPIPE, SIG_IGN);
	ck_err(kipc_write(s[0], "x", 1), EPIPE, "socketpair: the peer closed: EPIPE");

	if (kipc_socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, t) == 0) {
		ck(kipc_fcntl(t[0], F_GETFL) == (O_RDWR | O_NONBLOCK), "SOCK_NONBLOCK: O_NONBLOCK");
		ck_err(kipc_read(t[1], buf, 1), EAGAIN, "SOCK_NONBLOCK: EAGAIN");
	}
}

static void s_seqpacket(int unused)
{
	static char src[CAP], buf[2 * CAP];
	int s[2];
	ssize_t a, b, c;

	(void)unused;
	stream_fill(src, sizeof(src), 11, 0);
	if (kipc_socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s)) {
		ck(0, "socketpair SOCK_SEQPACKET: %s", ename(errno));
		return;
	}
	kipc_write(s[0], src, 3);
	kipc_write(s[0], src + 3, 5);
	kipc_write(s[0], src + 8, 7);
	a = kipc_read(s[1], buf, sizeof(buf));
	b = kipc_read(s[1], buf + 3, sizeof(buf));
	c = kipc_read(s[1], buf + 8, sizeof(buf));
	ck(a == 3 && b == 5 && c == 7 && !memcmp(buf, src, 15),
	   "SOCK_SEQPACKET: one read per message (%zd, %zd, %zd)", a, b, c);
	kipc_write(s[1], src, 100);
	kipc_write(s[1], src + 200, 10);
	a = kipc_read(s[0], buf, 40);
	b = kipc_read(s[0], buf + 40, sizeof(buf));
	ck(a == 40 && b == 10 && !memcmp(buf, src, 40) && !memcmp(buf + 40, src + 200, 10),
	   "SOCK_SEQPACKET: a short read truncates the message, the next read the next message (%zd, %zd)", a, b);
	ck_is(kipc_write(s[0], src, 0), 0, "SOCK_SEQPACKET: an empty message");
	kipc_write(s[0], "after", 5);
	a = kipc_read(s[1], buf, sizeof(buf));
	b = kipc_read(s[1], buf, sizeof(buf));
	ck(a == 0 && b == 5, "SOCK_SEQPACKET: the empty message reads as 0 bytes, then the next (%zd, %zd)", a, b);
	a = kipc_write(s[0], src, 60000);
	b = kipc_read(s[1], buf, sizeof(buf));
	ck(a == 60000 && b == 60000 && !memcmp(buf, src, 60000), "SOCK_SEQPACKET: a 60000-byte message in one read");
	{
		static char huge[1 << 20];

		ck_err(kipc_write(s[0], huge, sizeof(huge)), EMSGSIZE, "SOCK_SEQPACKET: a 1 MiB message: EMSGSIZE");
	}
	nonblock(s[0], true);
	kipc_write(s[0], src, 60000);
	ck_err(kipc_write(s[0], src, 10000), EAGAIN, "SOCK_SEQPACKET, O_NONBLOCK: no room for the message: EAGAIN");
	nonblock(s[0], false);
	{
		struct twrite t = { .fd = s[0], .buf = src, .n = 10000 };
		pthread_t th;

		spawn(&th, twrite_fn, &t);
		while (!__atomic_load_n(&t.tid, __ATOMIC_ACQUIRE))
			sleep_ms(1);
		wait_sleeping(getpid(), t.tid, secs_of(5));
		ck(buffered(s[1], 1) == 60000 + 4 && !__atomic_load_n(&t.done, __ATOMIC_ACQUIRE), "SOCK_SEQPACKET: a blocked message waits, nothing of it sent");
		a = kipc_read(s[1], buf, sizeof(buf));
		b = kipc_read(s[1], buf, sizeof(buf));
		pthread_join(th, NULL);
		ck(a == 60000 && b == 10000 && t.ret == 10000 && !memcmp(buf, src, 10000),
		   "SOCK_SEQPACKET: then it goes in whole (%zd, %zd)", a, b);
	}
}

/* Several processes sending random-sized messages on one SOCK_SEQPACKET end. */
static void s_seqpacket_procs(int unused)
{
	static char buf[2 * PIPE_BUF];
	int s[2], nmsg = slow ? 100 : 400, st[3];
	pid_t pid[3];
	long next[3] = { 0 }, bad = 0, total = 0;
	ssize_t r;

	(void)unused;
	if (kipc_socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s)) {
		ck(0, "socketpair: %s", ename(errno));
		return;
	}
	for (int i = 0; i < 3; i++) {
		pid[i] = fork_child();
		if (pid[i] == 0) {
			uint64_t x = mix64((uint64_t)i + 17);

			kipc_close(s[1]);
			for (int seq = 0; seq < nmsg; seq++) {
				size_t len;

				x = mix64(x);
				len = sizeof(struct rec_hdr) + x % (PIPE_BUF - sizeof(struct rec_hdr) + 1);
				rec_make(buf, (unsigned int)i, (uint32_t)seq, len);
				if (kipc_write(s[0], buf, len) != (ssize_t)len)
					_exit(1);
			}
			_exit(0);
		}
	}
	kipc_close(s[0]);
	guard(30);
	while ((r = kipc_read(s[1], buf, sizeof(buf))) > 0) {
		struct rec_hdr h;

		if (rec_check(buf, (size_t)r, &h) != (size_t)r || h.writer >= 3 || h.seq != (uint32_t)next[h.writer]) {
			bad++;
			continue;
		}
		next[h.writer]++;
		total++;
	}
	unguard();
	for (int i = 0; i < 3; i++)
		st[i] = reap(pid[i], 10);
	ck(r == 0 && !bad && total == 3 * nmsg && exited0(st[0]) && exited0(st[1]) && exited0(st[2]),
	   "SOCK_SEQPACKET: 3 sending processes: every read one whole message, in order per sender, then EOF "
	   "(%ld of %d, %ld bad)", total, 3 * nmsg, bad);
}

/* ------------------------------------------------------------------------ */

int main(void)
{
	double t0 = now();

	seed = tap_seed();
	page = sysconf(_SC_PAGESIZE);
#if defined(__aarch64__)
	slow = true;			/* cross builds run under qemu */
#endif
	slow = slow || UNDER_TSAN;
	snprintf(ns_dir, sizeof(ns_dir), "/dev/shm/kipc-test-pipe-%d", (int)getpid());
	setenv("KIPC_NAMESPACE", ns_dir, 1);
	signal(SIGPIPE, SIG_IGN);
	board = mmap(NULL, sizeof(*board), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (board == MAP_FAILED || sh == MAP_FAILED) {
		ok(0, "mmap: %s", strerror(errno));
		return done_testing();
	}

	scenario("basics", s_basics, 0, 10);
	scenario("small writes", s_small, 0, 10);
	scenario("small writes, two threads", s_small_threads, 0, 15);
	scenario("flags", s_flags, 0, 10);
	scenario("O_NONBLOCK writes", s_nb_write, 0, 10);
	for (int i = 0; i < B_NCASES; i++)
		scenario("blocking", s_blocking, i, 15);
	scenario("SIGPIPE", s_sigpipe, 0, 10);
	for (int i = 0; i < I_NWHAT * 2; i++)
		scenario("EINTR", s_eintr, i, 15);
	for (int i = 0; i < Z_NCASES; i++)
		scenario("sleeping", s_sleep, i, 15);
	for (int i = 0; i < K_NCASES; i++)
		scenario("kill -9", s_kill, i, 15);
	for (int i = 0; i < F_NCASES; i++)
		scenario("fork", s_fork, i, 15);
	for (int i = 0; i < A_NCASES; i++)
		scenario("atomic writes", s_atomic, i, 30);
	scenario("threads", s_threads, 0, 30);
	scenario("F_SETPIPE_SZ", s_size, 0, 15);
	scenario("F_SETPIPE_SZ wakes writers", s_size_wake, 0, 15);
	scenario("O_DIRECT", s_packet, 0, 10);
	scenario("FIFO", s_fifo, 0, 10);
	for (int i = 0; i < O_NCASES; i++)
		scenario("FIFO open", s_fifo_open, i, 15);
	if (geteuid() == 0)
		scenario("FIFO permissions", s_fifo_perm, 0, 10);
	else
		ok(1, "# SKIP FIFO permissions: needs root");
	scenario("socketpair", s_sock, 0, 10);
	scenario("SOCK_SEQPACKET", s_seqpacket, 0, 10);
	scenario("SOCK_SEQPACKET senders", s_seqpacket_procs, 0, 30);

	rm_tree(ns_dir);
	diag("%.1f s", now() - t0);
	return done_testing();
}
