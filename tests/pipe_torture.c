// SPDX-License-Identifier: MIT
/*
 * Pipe torture (SPEC sections 3 and 4): many processes, kill -9 at random
 * instants, long streams, resizing under load.  Each phase runs for a
 * wall-clock budget or a byte count that shrinks under ThreadSanitizer and
 * in cross (qemu) builds, so a slow run does less instead of taking longer.
 *
 *   interleave    4 writer processes, records of random sizes up to
 *                 PIPE_BUF (a header: writer, sequence, length, sum; then
 *                 bytes derived from them), one reader reading random
 *                 amounts: no record torn or interleaved, each writer's in
 *                 order, every completed write read once
 *   writer kills  the same while the supervisor kills writers with SIGKILL
 *                 at random instants and starts new ones: every record
 *                 whose write() returned (writers report completed
 *                 sequence numbers in shared memory after write() returns)
 *                 is read exactly once, nothing else but possibly the one
 *                 in flight, never a partial record; then EOF once the
 *                 last writer is gone.  Through a pipe, and through a
 *                 SOCK_SEQPACKET socket pair (a message per read)
 *   reader kills  writers of PIPE_BUF records, two readers reading
 *                 PIPE_BUF at a time into shared memory, killed at random
 *                 and replaced: every read returns one whole record, no
 *                 record is read twice, and every completed record was read
 *                 by a reader that lived on, or lies whole in the buffer of
 *                 one that was killed
 *   stream        tens of MB through a pipe, random write and read sizes,
 *                 every byte checked and an FNV-1a sum compared end to end
 *   socket stream a SOCK_STREAM socket pair carrying a stream each way at
 *                 once (a writer thread and a reader on each side), and a
 *                 SOCK_SEQPACKET pair carrying messages each way at once
 *   resize        a stream while other processes set F_SETPIPE_SZ at random
 *                 (EBUSY allowed) and are killed at random mid-resize: the
 *                 stream stays intact
 *
 * As in tests/pipe.c, each phase runs in a process of its own forked from
 * the single-threaded main one, forking its helpers before anything could
 * start a thread in it (ThreadSanitizer does not support a child creating
 * threads after a multi-threaded fork): supervisors that fork during a
 * phase only kill, reap and fork, and close their ends once the last
 * helper is forked.  Points are recorded in shared memory and printed by
 * the main process.  $KIPC_TEST_SCALE multiplies the budgets.
 */
#include <kipc/ipc.h>
#include <kipc/pipe.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#include "tap.h"
#include "testutil.h"

#ifdef KIPC_TSAN
/* Processes with threads would sleep a second at exit ($TSAN_OPTIONS overrides). */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "atexit_sleep_ms=0";
}
#endif

#define CAP 65536

static char ns_dir[128];
static unsigned long seed;
static long page;
static bool slow;			/* ThreadSanitizer, or a cross build under qemu */
static double scale = 1.0;		/* $KIPC_TEST_SCALE */
static uint64_t rng_state;

/* ------------------------------------------------------------------------ */
/* Points recorded by phase processes, printed by the main one              */
/* ------------------------------------------------------------------------ */

#define MAX_POINTS 128

struct point {
	int pass;			/* 1, 0, or -1: a diag line */
	int line;
	char msg[240];
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

__attribute__((format(printf, 3, 4)))
static int record(int pass, int line, const char *fmt, ...)
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
	return pass;
}

#define ck(cond, ...) record(!!(cond), __LINE__, __VA_ARGS__)
#define note(...) record(-1, __LINE__, __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* What the phases share with their helpers                                 */
/* ------------------------------------------------------------------------ */

#define MAX_INC 4096			/* writer incarnations per phase */
#define NW 4				/* writer slots */
#define NR 2				/* reader slots (reader kills) */
#define MAXSEQ (1 << 19)		/* records per writer (reader kills) */
#define MAX_LOST 4096			/* buffers of killed readers */

struct shared {
	int stop, done, ready;
	long errors;			/* helpers' failures: atomic */
	long first_error_line;
	char first_error[160];
	long completed[MAX_INC];	/* writes returned, by incarnation */
	long got[MAX_INC];		/* records read, by incarnation */
	long resizes, ebusy;
	uint64_t sum_out, sum_in;	/* FNV-1a, writer and reader side */
	uint64_t bytes_in;
	/* reader kills */
	uint8_t reads[NW][MAXSEQ];	/* atomic: times each record was read */
	char slot[NR][PIPE_BUF] __attribute__((aligned(64)));
	struct { uint16_t writer; uint32_t seq; } lost[MAX_LOST];
	int nlost;
};

static struct shared *sh;

/* A helper's failure: counted, the first one described. */
__attribute__((format(printf, 2, 3)))
static void fault(int line, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED) == 0) {
		sh->first_error_line = line;
		va_start(ap, fmt);
		vsnprintf(sh->first_error, sizeof(sh->first_error), fmt, ap);
		va_end(ap);
	}
}

#define FAULT(...) fault(__LINE__, __VA_ARGS__)

static void print_points(void)
{
	int n = board->n < MAX_POINTS ? board->n : MAX_POINTS;

	for (int i = 0; i < n; i++) {
		struct point *p = &board->p[i];

		if (p->pass < 0)
			diag("%s", p->msg);
		else
			tap_ok(p->pass, __FILE__, p->line, "%s", p->msg);
	}
}

static void phase(const char *name, void (*fn)(int), int arg, double secs)
{
	static int index;
	int status = -1;
	bool hung = false;
	double t0 = now(), end = t0 + secs * (slow ? 4 : 1) * scale;
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
	if (sh->errors)
		diag("  first helper failure (line %ld): %s", sh->first_error_line, sh->first_error);
	ok(pid > 0 && !hung && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "%s: the phase ran to its end (%.2f s)", name, now() - t0);
	if (hung)
		diag("  it hung: killed after %.0f s", end - t0);
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

/* The offset of the first byte that differs from the stream, or n. */
static size_t stream_diff(const void *src, size_t n, uint64_t key, uint64_t off)
{
	unsigned char want[4096];

	for (size_t i = 0; i < n; i += sizeof(want)) {
		size_t k = n - i < sizeof(want) ? n - i : sizeof(want);

		stream_fill(want, k, key, off + i);
		if (memcmp((const char *)src + i, want, k)) {
			for (size_t j = 0; j < k; j++)
				if (((const unsigned char *)src)[i + j] != want[j])
					return i + j;
		}
	}
	return n;
}

static uint64_t fnv(uint64_t h, const void *buf, size_t n)
{
	const unsigned char *b = buf;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ull

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

static bool rec_head(const void *buf, struct rec_hdr *h)
{
	memcpy(h, buf, sizeof(*h));
	return h->magic == REC_MAGIC && h->sum == rec_sum(h) && h->len >= sizeof(*h) && h->len <= PIPE_BUF;
}

/* The length of the whole record at buf (avail bytes there), 0 if torn. */
static size_t rec_check(const void *buf, size_t avail, struct rec_hdr *out)
{
	struct rec_hdr h;

	if (avail < sizeof(h) || !rec_head(buf, &h) || h.len > avail ||
	    stream_diff((const char *)buf + sizeof(h), h.len - sizeof(h), rec_key(h.writer, h.seq), 0) !=
	    h.len - sizeof(h))
		return 0;
	*out = h;
	return h.len;
}

/* Reaps a child, killing it after secs: its status, -1 if it had to be killed. */
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
		sleep_ms(1);
	}
	return status;
}

static bool exited0(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static double budget(double secs)
{
	return secs * scale;
}

/* A random pause in [lo, hi) microseconds. */
static void random_pause(long lo, long hi)
{
	sleep_us(lo + (long)(rnd() % (uint64_t)(hi - lo)));
}

static void *spawn_blocked(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err ? NULL : t;
}

/* ------------------------------------------------------------------------ */
/* Writers and a record reader                                              */
/* ------------------------------------------------------------------------ */

/*
 * A writer incarnation: records inc, 0, 1, ... of random sizes (or always
 * PIPE_BUF) until sh->stop; completed[inc] after each write returns.
 */
static void writer(int fd, int inc, bool fixed, uint64_t r)
{
	static char rec[PIPE_BUF];

	for (uint32_t seq = 0; !__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE); seq++) {
		size_t len = PIPE_BUF;
		ssize_t w;

		r = mix64(r + seq);
		if (!fixed && r % 4)
			len = sizeof(struct rec_hdr) + (r >> 8) % (PIPE_BUF - sizeof(struct rec_hdr) + 1);
		rec_make(rec, (unsigned int)inc, seq, len);
		w = kipc_write(fd, rec, len);
		if (w != (ssize_t)len) {
			FAULT("writer %d: write of %zu returned %zd (%s)", inc, len, w, w < 0 ? ename(errno) : "-");
			_exit(1);
		}
		__atomic_store_n(&sh->completed[inc], (long)seq + 1, __ATOMIC_RELEASE);
		if (seq + 1 >= MAXSEQ)
			break;
	}
	_exit(0);
}

static pid_t start_writer(int fd, int inc, bool fixed)
{
	uint64_t r = mix64(rnd() + (uint64_t)inc);
	pid_t pid = fork_child();

	if (pid == 0)
		writer(fd, inc, fixed, r);
	return pid;
}

/*
 * Reads records until EOF: a stream read in random amounts, reassembled
 * (packet: one message a read).  Each incarnation's records must come in
 * order, whole; got[] counts them.  Returns the records read.
 */
static long read_records(int fd, bool packet, int ninc)
{
	static char acc[4 * PIPE_BUF + CAP];
	size_t have = 0;
	long total = 0;

	for (;;) {
		size_t want = packet ? sizeof(acc) : 1 + rnd() % (3 * PIPE_BUF), off = 0;
		ssize_t r = kipc_read(fd, acc + have, want);

		if (r < 0) {
			FAULT("reader: read: %s", ename(errno));
			return total;
		}
		if (r == 0)
			break;
		if (packet) {
			struct rec_hdr h;

			if (rec_check(acc, (size_t)r, &h) != (size_t)r || h.writer >= ninc ||
			    h.seq != (uint32_t)sh->got[h.writer]) {
				FAULT("reader: message of %zd bytes is not the next whole record", r);
				return total;
			}
			sh->got[h.writer]++;
			total++;
			continue;
		}
		have += (size_t)r;
		for (;;) {
			struct rec_hdr h;
			size_t len;

			if (have - off < sizeof(h))
				break;
			if (rec_head(acc + off, &h) && have - off < h.len)
				break;	/* still arriving */
			len = rec_check(acc + off, have - off, &h);
			if (!len || h.writer >= ninc || h.seq != (uint32_t)sh->got[h.writer]) {
				FAULT("reader: torn, interleaved or out-of-order record after %ld records "
				      "(writer %u seq %u, expected seq %ld)", total, h.writer, h.seq,
				      h.writer < ninc ? sh->got[h.writer] : -1);
				return total;
			}
			sh->got[h.writer]++;
			total++;
			off += len;
		}
		memmove(acc, acc + off, have - off);
		have -= off;
	}
	if (have)
		FAULT("reader: %zu bytes of a partial record before EOF", have);
	return total;
}

/* ------------------------------------------------------------------------ */
/* interleave, writer kills                                                 */
/* ------------------------------------------------------------------------ */

enum { W_CALM_PIPE, W_KILL_PIPE, W_KILL_SEQPACKET };

static void p_writers(int kase)
{
	int fds[2], rfd, wfd, inc = 0, kills = 0, st;
	bool packet = kase == W_KILL_SEQPACKET, killing = kase != W_CALM_PIPE;
	pid_t wpid[NW], rpid;
	int slot_inc[NW];
	bool killed[MAX_INC] = { false };
	long total = 0, completed = 0, bad_counts = 0, extra = 0;
	double end;

	if (packet ? kipc_socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds) : kipc_pipe(fds)) {
		ck(0, "pipe / socketpair: %s", ename(errno));
		return;
	}
	rfd = packet ? fds[1] : fds[0];
	wfd = packet ? fds[0] : fds[1];
	/* The reader: reads to EOF, reports through sh. */
	rpid = fork_child();
	if (rpid == 0) {
		long n;

		alarm(0);
		kipc_close(wfd);
		n = read_records(rfd, packet, MAX_INC);
		sh->bytes_in = (uint64_t)n;
		__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
		_exit(0);
	}
	for (int i = 0; i < NW; i++) {
		slot_inc[i] = inc;
		wpid[i] = start_writer(wfd, inc++, false);
	}
	end = now() + budget(killing ? 2.5 : 1.5);
	while (now() < end) {
		int s;

		if (!killing) {
			sleep_ms(10);
			continue;
		}
		random_pause(1000, 30000);
		s = (int)(rnd() % NW);
		kill(wpid[s], SIGKILL);
		waitpid(wpid[s], NULL, 0);
		killed[slot_inc[s]] = true;
		kills++;
		slot_inc[s] = inc;
		wpid[s] = start_writer(wfd, inc++, false);
		if (inc >= MAX_INC)
			break;
	}
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NW; i++) {
		st = reap(wpid[i], 10);
		if (!exited0(st))
			FAULT("a writer did not exit 0 at the end");
	}
	/* Every writer is gone now: the supervisor's end is the last. */
	kipc_close(wfd);
	st = reap(rpid, 20);
	ck(exited0(st) && sh->done, "%s: the reader reached EOF once the last writer was gone",
	   packet ? "seqpacket" : "pipe");
	for (int i = 0; i < inc; i++) {
		long c = sh->completed[i], g = sh->got[i];

		total += g;
		completed += c;
		if (g == c + 1 && killed[i])
			extra++;	/* killed between write() and its report */
		else if (g != c)
			bad_counts++;
	}
	ck(sh->errors == 0, "%s%s: %ld records from %d writers, none torn, interleaved or out of order "
	   "(%ld helper failures)", packet ? "seqpacket" : "pipe", killing ? ", writers killed" : "", total,
	   inc, sh->errors);
	ck(bad_counts == 0, "%s%s: every completed write read exactly once, nothing else but a killed "
	   "writer's last (%ld completed, %ld read, %ld writers' counts wrong, %ld in-flight records read)",
	   packet ? "seqpacket" : "pipe", killing ? ", writers killed" : "", completed, total, bad_counts,
	   extra);
	if (killing)
		ck(kills >= 10 && total >= 100, "%s: %d writers killed at random instants, %ld records through",
		   packet ? "seqpacket" : "pipe", kills, total);
	else
		ck(extra == 0 && total >= 100, "pipe: no writer killed, so no record beyond the completed ones "
		   "(%ld through)", total);
}

/* ------------------------------------------------------------------------ */
/* reader kills                                                             */
/* ------------------------------------------------------------------------ */

static void kill_reader(int fd, int wfd, int slot)
{
	char *buf = sh->slot[slot];
	long last[NW];

	kipc_close(wfd);
	for (int i = 0; i < NW; i++)
		last[i] = -1;
	for (;;) {
		struct rec_hdr h;
		ssize_t r = kipc_read(fd, buf, PIPE_BUF);

		if (r == 0)
			_exit(0);
		if (r != PIPE_BUF) {
			FAULT("reader: read returned %zd%s%s, not one record", r, r < 0 ? ", " : "",
			      r < 0 ? ename(errno) : "");
			_exit(1);
		}
		if (!rec_check(buf, PIPE_BUF, &h) || h.writer >= NW || h.seq >= MAXSEQ) {
			FAULT("reader: a torn record");
			_exit(1);
		}
		if ((long)h.seq <= last[h.writer])
			FAULT("reader: writer %u's record %u after %ld", h.writer, h.seq, last[h.writer]);
		last[h.writer] = h.seq;
		__atomic_fetch_add(&sh->reads[h.writer][h.seq], 1, __ATOMIC_RELAXED);
	}
}

static pid_t start_reader(int fd, int wfd, int slot)
{
	pid_t pid = fork_child();

	if (pid == 0)
		kill_reader(fd, wfd, slot);
	return pid;
}

static void p_readers(int unused)
{
	int fds[2], kills = 0, st;
	pid_t wpid[NW - 1], rpid[NR];
	long lost = 0, twice = 0, read_once = 0, from_buffers = 0, completed = 0;
	double end;

	(void)unused;
	if (kipc_pipe(fds)) {
		ck(0, "pipe: %s", ename(errno));
		return;
	}
	for (int i = 0; i < NW - 1; i++)
		wpid[i] = start_writer(fds[1], i, true);
	for (int i = 0; i < NR; i++)
		rpid[i] = start_reader(fds[0], fds[1], i);
	end = now() + budget(2.5);
	while (now() < end) {
		int s = (int)(rnd() % NR);
		struct rec_hdr h;

		random_pause(1000, 30000);
		kill(rpid[s], SIGKILL);
		waitpid(rpid[s], NULL, 0);
		kills++;
		/* What it may have taken with it: a whole record in its buffer. */
		if (rec_check(sh->slot[s], PIPE_BUF, &h) && h.writer < NW && sh->nlost < MAX_LOST) {
			sh->lost[sh->nlost].writer = h.writer;
			sh->lost[sh->nlost].seq = h.seq;
			sh->nlost++;
		}
		memset(sh->slot[s], 0, PIPE_BUF);
		rpid[s] = start_reader(fds[0], fds[1], s);
	}
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NW - 1; i++)
		if (!exited0(reap(wpid[i], 10)))
			FAULT("a writer did not exit 0 at the end");
	kipc_close(fds[1]);
	for (int i = 0; i < NR; i++) {
		st = reap(rpid[i], 20);
		if (!exited0(st))
			FAULT("a reader did not reach EOF");
	}
	for (int w = 0; w < NW - 1; w++) {
		long c = sh->completed[w];

		completed += c;
		for (long s = 0; s < c; s++) {
			int n = sh->reads[w][s];

			if (n == 1) {
				read_once++;
			} else if (n > 1) {
				twice++;
			} else {
				bool found = false;

				for (int i = 0; i < sh->nlost && !found; i++)
					found = sh->lost[i].writer == w && sh->lost[i].seq == (uint32_t)s;
				if (found)
					from_buffers++;
				else
					lost++;
			}
		}
		for (long s = c; s < MAXSEQ; s++)
			if (sh->reads[w][s])
				twice++;	/* never written */
	}
	ck(sh->errors == 0, "reader kills: every read returned one whole record, in order per writer "
	   "(%ld helper failures)", sh->errors);
	ck(twice == 0, "reader kills: no record read twice (%ld)", twice);
	ck(lost == 0, "reader kills: every completed record read once, or whole in a killed reader's buffer "
	   "(%ld completed, %ld read, %ld in buffers, %ld lost)", completed, read_once, from_buffers, lost);
	ck(from_buffers <= kills && kills >= 10 && completed >= 100,
	   "reader kills: %d readers killed at random instants, %ld records through", kills, completed);
}

/* ------------------------------------------------------------------------ */
/* Streams                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Writes n bytes of stream key in random-sized writes (or, n UINT64_MAX,
 * until sh->stop, leaving the count in *wrote); its FNV-1a sum.
 */
static uint64_t stream_write(int fd, uint64_t key, uint64_t n, uint64_t r, uint64_t *wrote)
{
	char *buf = malloc(1 << 18);
	uint64_t off = 0, sum = FNV_INIT;

	while (buf && off < n && !(n == UINT64_MAX && __atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))) {
		size_t k;
		ssize_t w;

		r = mix64(r);
		k = 1 + (size_t)(r % (1 << 18));
		if (r & 0x10000)
			k = 1 + k % PIPE_BUF;
		if (k > n - off)
			k = (size_t)(n - off);
		stream_fill(buf, k, key, off);
		sum = fnv(sum, buf, k);
		for (size_t done = 0; done < k; done += (size_t)w) {
			w = kipc_write(fd, buf + done, k - done);
			if (w <= 0) {
				FAULT("stream writer: write at %llu returned %zd (%s)",
				      (unsigned long long)(off + done), w, w < 0 ? ename(errno) : "-");
				off += done;
				goto out;
			}
		}
		off += k;
	}
out:
	free(buf);
	if (wrote)
		*wrote = off;
	return sum;
}

/*
 * Reads n bytes of stream key in random-sized reads (n UINT64_MAX: until
 * EOF), checking every byte; its FNV-1a sum.  *got: the bytes read (the
 * mismatch offset if one).
 */
static uint64_t stream_read(int fd, uint64_t key, uint64_t n, uint64_t r, uint64_t *got, bool want_eof)
{
	char *buf = malloc(1 << 18);
	uint64_t off = 0, sum = FNV_INIT;

	while (buf && off < n) {
		size_t k, d;
		ssize_t g;

		r = mix64(r);
		k = 1 + (size_t)(r % (1 << 18));
		if (k > n - off)
			k = (size_t)(n - off);
		g = kipc_read(fd, buf, k);
		if (g == 0 && n == UINT64_MAX)
			break;
		if (g <= 0) {
			FAULT("stream reader: read at %llu returned %zd (%s)", (unsigned long long)off, g,
			      g < 0 ? ename(errno) : "EOF");
			break;
		}
		d = stream_diff(buf, (size_t)g, key, off);
		if (d != (size_t)g) {
			FAULT("stream reader: byte %llu differs", (unsigned long long)(off + d));
			off += d;
			break;
		}
		sum = fnv(sum, buf, (size_t)g);
		off += (size_t)g;
	}
	free(buf);
	*got = off;
	if (want_eof && off == n) {
		char c;
		ssize_t e = kipc_read(fd, &c, 1);

		if (e != 0)
			FAULT("stream reader: %zd, not EOF, after the stream", e);
	}
	return sum;
}

static uint64_t stream_bytes(uint64_t mb)
{
	return (uint64_t)((double)(slow ? mb / 4 : mb) * scale * 1048576.0);
}

static void p_stream(int unused)
{
	uint64_t n = stream_bytes(64), key = mix64(seed) | 1, got, sum;
	int fds[2], st;
	double t0 = now();
	pid_t pid;

	(void)unused;
	if (kipc_pipe(fds)) {
		ck(0, "pipe: %s", ename(errno));
		return;
	}
	pid = fork_child();
	if (pid == 0) {
		alarm(0);
		kipc_close(fds[0]);
		sh->sum_out = stream_write(fds[1], key, n, rnd(), NULL);
		_exit(0);
	}
	kipc_close(fds[1]);
	sum = stream_read(fds[0], key, n, rnd(), &got, true);
	st = reap(pid, 10);
	ck(exited0(st) && sh->errors == 0 && got == n,
	   "stream: %.0f MB through a pipe, random write sizes up to 256 KiB, every byte in order, then EOF "
	   "(%llu bytes, %.1f MB/s)", (double)n / 1048576, (unsigned long long)got,
	   (double)got / 1048576 / (now() - t0));
	ck(sum == sh->sum_out && got == n, "stream: the FNV-1a sums agree end to end (%016llx, %016llx)",
	   (unsigned long long)sum, (unsigned long long)sh->sum_out);
}

struct sender {
	int fd;
	uint64_t key, n, r, sum;
	bool packet;
	long msgs;
};

/* Messages of random sizes: each a record whose bytes come from (key, index). */
static void *packet_send(void *arg)
{
	struct sender *s = arg;
	char rec[8192];

	for (long i = 0; i < s->msgs; i++) {
		size_t len;
		struct rec_hdr h;

		s->r = mix64(s->r);
		len = sizeof(h) + (size_t)(s->r % (sizeof(rec) - sizeof(h)));
		h = (struct rec_hdr){ REC_MAGIC, (uint16_t)(s->key & 0xffff), (uint16_t)len, (uint32_t)i, 0 };
		h.sum = rec_sum(&h);
		memcpy(rec, &h, sizeof(h));
		stream_fill(rec + sizeof(h), len - sizeof(h), s->key ^ (uint64_t)i, 0);
		if (kipc_write(s->fd, rec, len) != (ssize_t)len) {
			FAULT("packet sender: write of %zu failed (%s)", len, ename(errno));
			break;
		}
	}
	return NULL;
}

static long packet_recv(int fd, uint64_t key, long msgs)
{
	char rec[8192 + 64];
	long i;

	for (i = 0; i < msgs; i++) {
		struct rec_hdr h;
		ssize_t r = kipc_read(fd, rec, sizeof(rec));

		memcpy(&h, rec, sizeof(h));
		if (r < (ssize_t)sizeof(h) || h.magic != REC_MAGIC || h.sum != rec_sum(&h) || h.len != r ||
		    h.seq != (uint32_t)i || h.writer != (key & 0xffff) ||
		    stream_diff(rec + sizeof(h), (size_t)r - sizeof(h), key ^ (uint64_t)i, 0) != (size_t)r - sizeof(h)) {
			FAULT("packet receiver: message %ld is not whole (read %zd)", i, r);
			break;
		}
	}
	return i;
}

static void *stream_send(void *arg)
{
	struct sender *s = arg;

	s->sum = stream_write(s->fd, s->key, s->n, s->r, NULL);
	return NULL;
}

/* A socket pair, each side sending (a thread) and receiving at once. */
static void p_socket(int packet)
{
	uint64_t n = stream_bytes(32), ka = mix64(seed + 1) | 1, kb = mix64(seed + 2) | 1, got = 0, sum = 0;
	long msgs = (long)((slow ? 5000 : 20000) * scale), recvd = 0;
	int sv[2], st;
	double t0 = now();
	pthread_t th;
	pid_t pid;

	if (kipc_socketpair(AF_UNIX, packet ? SOCK_SEQPACKET : SOCK_STREAM, 0, sv)) {
		ck(0, "socketpair: %s", ename(errno));
		return;
	}
	pid = fork_child();
	if (pid == 0) {
		struct sender s = { .fd = sv[1], .key = ka, .n = n, .r = rnd(), .msgs = msgs };
		uint64_t g;

		alarm(0);
		kipc_close(sv[0]);
		if (!spawn_blocked(&th, packet ? packet_send : stream_send, &s))
			_exit(2);
		if (packet) {
			sh->got[1] = packet_recv(sv[1], kb, msgs);
		} else {
			sh->sum_in = stream_read(sv[1], kb, n, rnd(), &g, false);
			sh->bytes_in = g;
		}
		pthread_join(th, NULL);
		sh->sum_out = s.sum;
		_exit(0);
	}
	kipc_close(sv[1]);
	{
		struct sender s = { .fd = sv[0], .key = kb, .n = n, .r = rnd(), .msgs = msgs };

		if (!spawn_blocked(&th, packet ? packet_send : stream_send, &s)) {
			ck(0, "pthread_create");
			return;
		}
		if (packet)
			recvd = packet_recv(sv[0], ka, msgs);
		else
			sum = stream_read(sv[0], ka, n, rnd(), &got, false);
		pthread_join(th, NULL);
		st = reap(pid, 20);
		if (packet) {
			ck(exited0(st) && sh->errors == 0 && recvd == msgs && sh->got[1] == msgs,
			   "SOCK_SEQPACKET both ways at once: %ld messages of up to 8 KiB each way, every read one "
			   "whole message, in order (%ld and %ld)", msgs, recvd, sh->got[1]);
			return;
		}
		ck(exited0(st) && sh->errors == 0 && got == n && sh->bytes_in == n,
		   "SOCK_STREAM both ways at once: %.0f MB each way, every byte in order (%.1f MB/s each)",
		   (double)n / 1048576, (double)n / 1048576 / (now() - t0));
		ck(sum == sh->sum_out && sh->sum_in == s.sum,
		   "SOCK_STREAM both ways: the FNV-1a sums agree end to end in each direction");
	}
}

/* ------------------------------------------------------------------------ */
/* Resizing under load                                                      */
/* ------------------------------------------------------------------------ */

#define NRESIZERS 2

static void resizer(int fd, uint64_t r)
{
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		unsigned long size;
		int ret;

		r = mix64(r);
		size = (unsigned long)page << (r % 9);	/* a page .. 256 pages (1 MiB with 4 KiB pages) */
		if (size > 1 << 20)
			size = 1 << 20;
		ret = kipc_fcntl(fd, F_SETPIPE_SZ, size);
		if (ret < 0 && errno == EBUSY)
			__atomic_fetch_add(&sh->ebusy, 1, __ATOMIC_RELAXED);
		else if (ret < 0 || (unsigned long)ret != size)
			FAULT("resizer: F_SETPIPE_SZ %lu returned %d (%s)", size, ret, ret < 0 ? ename(errno) : "-");
		else
			__atomic_fetch_add(&sh->resizes, 1, __ATOMIC_RELAXED);
		if (r & 0x100)
			sleep_us((long)((r >> 12) % 500));
	}
	_exit(0);
}

static pid_t start_resizer(int fd)
{
	uint64_t r = mix64(rnd());
	pid_t pid = fork_child();

	if (pid == 0)
		resizer(fd, r);
	return pid;
}

static void p_resize(int unused)
{
	uint64_t key = mix64(seed + 3) | 1, wrote = 0;
	int fds[2], kills = 0, cap, stw, str;
	pid_t wpid, rpid, zpid[NRESIZERS];
	double t0 = now(), end = t0 + budget(2.5);

	(void)unused;
	if (kipc_pipe(fds)) {
		ck(0, "pipe: %s", ename(errno));
		return;
	}
	wpid = fork_child();
	if (wpid == 0) {
		alarm(0);
		kipc_close(fds[0]);
		sh->sum_out = stream_write(fds[1], key, UINT64_MAX, rnd(), &wrote);
		sh->completed[0] = (long)wrote;
		_exit(0);
	}
	rpid = fork_child();
	if (rpid == 0) {
		uint64_t g;

		alarm(0);
		kipc_close(fds[1]);
		sh->sum_in = stream_read(fds[0], key, UINT64_MAX, rnd(), &g, false);
		sh->bytes_in = g;
		_exit(0);
	}
	for (int i = 0; i < NRESIZERS; i++)
		zpid[i] = start_resizer(i ? fds[0] : fds[1]);
	while (now() < end) {
		int s = (int)(rnd() % NRESIZERS);

		random_pause(2000, 20000);
		kill(zpid[s], SIGKILL);
		waitpid(zpid[s], NULL, 0);
		kills++;
		zpid[s] = start_resizer(s ? fds[0] : fds[1]);
	}
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NRESIZERS; i++)
		reap(zpid[i], 10);
	stw = reap(wpid, 10);
	cap = kipc_fcntl(fds[0], F_GETPIPE_SZ);
	/* The resizers and the writer are gone: the reader's EOF comes with this. */
	kipc_close(fds[1]);
	str = reap(rpid, 10);
	wrote = (uint64_t)sh->completed[0];
	ck(exited0(stw) && exited0(str) && sh->errors == 0 && sh->bytes_in == wrote && sh->sum_in == sh->sum_out,
	   "resize: %.0f MB through a pipe resized at random meanwhile: every byte in order, then EOF, the "
	   "sums agree (%llu bytes read)", (double)wrote / 1048576, (unsigned long long)sh->bytes_in);
	ck(sh->resizes > 0 && kills >= 10, "resize: %ld resizes, %ld refused with EBUSY, %d resizers killed at "
	   "random instants", sh->resizes, sh->ebusy, kills);
	ck(cap >= page && cap <= 1 << 20 && !(cap & (cap - 1)), "resize: the capacity is sane after it all (%d)",
	   cap);
	(void)t0;
}

/* ------------------------------------------------------------------------ */

int main(void)
{
	const char *sc = getenv("KIPC_TEST_SCALE");
	double t0 = now();

	seed = tap_seed();
	page = sysconf(_SC_PAGESIZE);
	if (sc && atof(sc) > 0)
		scale = atof(sc);
#if defined(__aarch64__)
	slow = true;			/* cross builds run under qemu */
#endif
	slow = slow || UNDER_TSAN;
	snprintf(ns_dir, sizeof(ns_dir), "/dev/shm/kipc-test-pipe-torture-%d", (int)getpid());
	setenv("KIPC_NAMESPACE", ns_dir, 1);
	signal(SIGPIPE, SIG_IGN);
	board = mmap(NULL, sizeof(*board), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (board == MAP_FAILED || sh == MAP_FAILED) {
		ok(0, "mmap: %s", strerror(errno));
		return done_testing();
	}

	phase("interleave", p_writers, W_CALM_PIPE, 20);
	phase("writer kills, pipe", p_writers, W_KILL_PIPE, 20);
	phase("writer kills, SOCK_SEQPACKET", p_writers, W_KILL_SEQPACKET, 20);
	phase("reader kills", p_readers, 0, 20);
	phase("stream", p_stream, 0, 30);
	phase("socket stream", p_socket, 0, 30);
	phase("socket messages", p_socket, 1, 30);
	phase("resize", p_resize, 0, 30);

	rm_tree(ns_dir);
	diag("%.1f s", now() - t0);
	return done_testing();
}
