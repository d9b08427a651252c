// SPDX-License-Identifier: MIT
/*
 * POSIX message queue torture (SPEC section 4: "kill -9 any process at any
 * instant of any operation ... no fully sent message is lost or
 * duplicated, a half-sent one is either whole or absent, locks held by the
 * dead process are recovered").
 *
 * Sender and receiver processes hammer one small queue (8 slots, messages
 * of up to 2 KiB, random priorities) while this process kills one of them
 * with SIGKILL every few milliseconds, at whatever instant that is (inside
 * the queue's lock too), and starts a new one in its place.  Every message
 * carries its id and bytes that follow from the id; shared memory records,
 * per id:
 *
 *   attempt   set by the sender before mq_timedsend
 *   sent      set after mq_timedsend returned 0
 *   failed    set after mq_timedsend returned ETIMEDOUT (so: not sent)
 *   received  incremented by the receiver after mq_timedreceive returned
 *
 * and a receiver marks, in its slot, when it is inside mq_timedreceive or
 * between its return and the increment.  At the end the survivors stop,
 * this process drains the queue, and:
 *
 *   - no message is received twice, none that was never attempted or whose
 *     send failed is received, and every one received is whole;
 *   - a message whose send returned is received, except that a receiver
 *     killed inside mq_timedreceive or before recording may take one with
 *     it: lost <= the number of receivers killed in those two states;
 *   - each receiver sees one sender's messages of one priority in order;
 *   - no slot leaked and no lock is left held: the drained queue says 0
 *     messages, takes exactly mq_maxmsg new ones (then EAGAIN) and gives
 *     them back in priority order, at once.
 *
 * Bounded: 3 s of killing (2 s under ThreadSanitizer).  Seeded (tap_seed).
 * Every fork() happens before this process makes a thread; the queue lives
 * in a private namespace, removed at the end.
 */
#include <kipc/mq.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "testutil.h"

#define NSEND		3
#define NRECV		3
#define MAXMSG		8
#define MSGSIZE		2048
#define NPRIO		8
#define MAXINST		2048		/* sender processes over the run */
#define PER_INST	2048		/* messages per sender process at most */
#define NIDS		(MAXINST * PER_INST)
#define KILL_SECS	(UNDER_TSAN ? 2.0 : 3.0)

/* What a receiver slot is doing (its process may be replaced). */
enum { R_IDLE, R_IN_RECEIVE, R_RECORDING };

struct area {
	int stop_send, stop_recv;
	int next_inst;
	int rphase[NRECV];
	int corrupt, disorder, errors;
	uint8_t attempt[NIDS], sent[NIDS], failed[NIDS], received[NIDS];
};

static struct area *a;
static int q;
static unsigned long seed;
static char ns_root[PATH_MAX];
static const char *qname = "/torture";

/* ------------------------------------------------------------------------ */

static uint64_t rnd_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

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

/* A message: id (4 bytes), priority (4), then bytes that follow from both. */
static size_t make_msg(char *buf, uint32_t id, uint32_t prio)
{
	size_t len = 8 + (size_t)((id * 2654435761u) % (MSGSIZE - 7));

	memcpy(buf, &id, 4);
	memcpy(buf + 4, &prio, 4);
	for (size_t i = 8; i < len; i++)
		buf[i] = (char)(id * 131 + prio * 7 + i);
	return len;
}

static bool check_msg(const char *buf, ssize_t len, unsigned int prio, uint32_t *id)
{
	char want[MSGSIZE];
	uint32_t p;

	if (len < 8)
		return false;
	memcpy(id, buf, 4);
	memcpy(&p, buf + 4, 4);
	if (*id >= NIDS || p != prio)
		return false;
	return (size_t)len == make_msg(want, *id, p) && !memcmp(buf, want, (size_t)len);
}

/* ------------------------------------------------------------------------ */

static void sender(uint64_t r)
{
	int inst = __atomic_fetch_add(&a->next_inst, 1, __ATOMIC_RELAXED);
	char buf[MSGSIZE];

	if (inst >= MAXINST)
		_exit(0);
	for (uint32_t k = 0; k < PER_INST; k++) {
		uint32_t id = (uint32_t)inst * PER_INST + k, prio = (uint32_t)(rnd_next(&r) % NPRIO);
		size_t len = make_msg(buf, id, prio);
		struct timespec dl = rt_in(0.1);

		if (__atomic_load_n(&a->stop_send, __ATOMIC_ACQUIRE))
			break;
		__atomic_store_n(&a->attempt[id], 1, __ATOMIC_RELEASE);
		if (kipc_mq_timedsend(q, buf, len, prio, &dl) == 0) {
			__atomic_store_n(&a->sent[id], 1, __ATOMIC_RELEASE);
		} else {
			if (errno != ETIMEDOUT)
				__atomic_fetch_add(&a->errors, 1, __ATOMIC_RELAXED);
			__atomic_store_n(&a->failed[id], 1, __ATOMIC_RELEASE);
		}
	}
	_exit(0);		/* retired: the parent starts another */
}

static void receiver(int slot)
{
	/* The last id seen per sender instance and priority: FIFO within one. */
	static int64_t last[MAXINST][NPRIO];
	char buf[MSGSIZE];

	memset(last, -1, sizeof(last));
	for (;;) {
		struct timespec dl = rt_in(0.1);
		unsigned int prio = UINT_MAX;
		uint32_t id;
		ssize_t n;

		__atomic_store_n(&a->rphase[slot], R_IN_RECEIVE, __ATOMIC_SEQ_CST);
		n = kipc_mq_timedreceive(q, buf, MSGSIZE, &prio, &dl);
		if (n < 0) {
			__atomic_store_n(&a->rphase[slot], R_IDLE, __ATOMIC_SEQ_CST);
			if (errno != ETIMEDOUT)
				__atomic_fetch_add(&a->errors, 1, __ATOMIC_RELAXED);
			else if (__atomic_load_n(&a->stop_recv, __ATOMIC_ACQUIRE))
				_exit(0);
			continue;
		}
		__atomic_store_n(&a->rphase[slot], R_RECORDING, __ATOMIC_SEQ_CST);
		if (!check_msg(buf, n, prio, &id)) {
			__atomic_fetch_add(&a->corrupt, 1, __ATOMIC_RELAXED);
		} else {
			uint32_t inst = id / PER_INST, k = id % PER_INST;

			__atomic_fetch_add(&a->received[id], 1, __ATOMIC_SEQ_CST);
			if ((int64_t)k <= last[inst][prio])
				__atomic_fetch_add(&a->disorder, 1, __ATOMIC_RELAXED);
			last[inst][prio] = k;
		}
		__atomic_store_n(&a->rphase[slot], R_IDLE, __ATOMIC_SEQ_CST);
	}
}

static pid_t spawn_sender(uint64_t r)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		alarm(60);
		sender(r);
	}
	return pid;
}

static pid_t spawn_receiver(int slot)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		alarm(60);
		receiver(slot);
	}
	return pid;
}

int main(void)
{
	pid_t snd[NSEND], rcv[NRECV];
	uint64_t r;
	long kills_s = 0, kills_r = 0, allowance = 0, retired = 0;
	long dup = 0, lost = 0, phantom = 0, failed_delivered = 0, delivered = 0, sent = 0;
	long inflight_ok = 0, attempted = 0, drained = 0;
	double end, t0;
	int live_s = 0, live_r = 0;

	setvbuf(stdout, NULL, _IONBF, 0);
	signal(SIGPIPE, SIG_IGN);	/* a reader gone: still clean up */
	seed = tap_seed();
	r = seed * 0x9E3779B97F4A7C15ull | 1;
	snprintf(ns_root, sizeof(ns_root), "/dev/shm/kipc-test-mq_torture-%d", (int)getpid());
	setenv("KIPC_NAMESPACE", ns_root, 1);
	a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED) {
		ok(0, "mmap: %s", strerror(errno));
		return done_testing();
	}
	q = kipc_mq_open(qname, O_RDWR | O_CREAT | O_EXCL, 0600,
			 &(struct mq_attr){ .mq_maxmsg = MAXMSG, .mq_msgsize = MSGSIZE });
	ok(q >= 0, "a queue of %d x %d", MAXMSG, MSGSIZE);

	for (int i = 0; i < NRECV; i++)
		rcv[i] = spawn_receiver(i);
	for (int i = 0; i < NSEND; i++)
		snd[i] = spawn_sender(rnd_next(&r));

	/* Kill one at a random instant every 0.5 .. 8 ms; start another. */
	end = now() + KILL_SECS;
	while (now() < end) {
		int who = (int)(rnd_next(&r) % (NSEND + NRECV)), st;

		sleep_us(500 + (long)(rnd_next(&r) % 7500));
		for (int i = 0; i < NSEND; i++)
			if (waitpid(snd[i], &st, WNOHANG) == snd[i]) {
				retired++;
				snd[i] = spawn_sender(rnd_next(&r));
			}
		if (who < NSEND) {
			kill(snd[who], SIGKILL);
			waitpid(snd[who], NULL, 0);
			kills_s++;
			snd[who] = spawn_sender(rnd_next(&r));
		} else {
			who -= NSEND;
			kill(rcv[who], SIGKILL);
			waitpid(rcv[who], NULL, 0);
			kills_r++;
			/* Inside the call or before its record: it may take one with it. */
			if (__atomic_load_n(&a->rphase[who], __ATOMIC_SEQ_CST) != R_IDLE)
				allowance++;
			__atomic_store_n(&a->rphase[who], R_IDLE, __ATOMIC_SEQ_CST);
			rcv[who] = spawn_receiver(who);
		}
	}
	diag("%ld senders and %ld receivers killed, %ld senders retired, %d sender processes",
	     kills_s, kills_r, retired, a->next_inst);

	/* The survivors stop: senders after their current send, receivers once
	 * the queue stays empty for 100 ms. */
	__atomic_store_n(&a->stop_send, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NSEND; i++)
		live_s += reap_child(snd[i], 20.0);
	__atomic_store_n(&a->stop_recv, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NRECV; i++)
		live_r += reap_child(rcv[i], 20.0);
	is(live_s, NSEND, "the last senders stop by themselves (no lock left held)");
	is(live_r, NRECV, "the last receivers drain the queue and stop");

	/* Whatever they left: this process receives it, recording as they do. */
	{
		struct mq_attr nb = { .mq_flags = O_NONBLOCK };
		char buf[MSGSIZE];
		unsigned int prio;
		ssize_t n;
		uint32_t id;

		kipc_mq_setattr(q, &nb, NULL);
		while (drained <= 2 * MAXMSG && (n = kipc_mq_receive(q, buf, MSGSIZE, &prio)) >= 0) {
			drained++;
			if (check_msg(buf, n, prio, &id))
				a->received[id]++;
			else
				a->corrupt++;
		}
		ok(drained <= MAXMSG && errno == EAGAIN, "the queue drains to EAGAIN (%ld left over)",
		   drained);
	}

	for (long id = 0; id < (long)a->next_inst * PER_INST && id < NIDS; id++) {
		int got = a->received[id];

		attempted += a->attempt[id];
		sent += a->sent[id];
		delivered += got;
		if (got > 1)
			dup++;
		if (got && !a->attempt[id])
			phantom++;
		if (got && a->failed[id])
			failed_delivered++;
		if (a->sent[id] && !got)
			lost++;
		if (a->attempt[id] && !a->sent[id] && !a->failed[id] && got)
			inflight_ok++;
	}
	diag("%ld sends attempted, %ld returned 0, %ld received; %ld sends cut short by a kill "
	     "were delivered whole", attempted, sent, delivered, inflight_ok);
	ok(sent > 1000 && delivered > 1000, "the processes got work done (%ld sent, %ld received)",
	   sent, delivered);
	is(a->errors, 0, "no send or receive failed but by its deadline");
	is(a->corrupt, 0, "every message received is whole and intact");
	is(dup, 0, "no message is received twice");
	is(phantom, 0, "no message is received that was never sent");
	is(failed_delivered, 0, "no message whose send failed (ETIMEDOUT) is received");
	ok(lost <= allowance, "messages sent but never received: %ld, at most the %ld receivers killed "
	   "inside mq_timedreceive or before recording", lost, allowance);
	is(a->disorder, 0, "each receiver saw each sender's messages of a priority in order");

	/* No slot leaked, no lock held. */
	{
		struct mq_attr at;
		char buf[MSGSIZE];
		unsigned int prio, last = UINT_MAX;
		int n = 0, back = 0;
		bool order = true;

		memset(&at, 0, sizeof(at));
		n = kipc_mq_getattr(q, &at);
		ok(n == 0 && at.mq_curmsgs == 0 && at.mq_maxmsg == MAXMSG,
		   "drained: mq_getattr says %ld messages of at most %ld", at.mq_curmsgs, at.mq_maxmsg);
		t0 = now();
		n = 0;
		while (n <= MAXMSG && kipc_mq_send(q, "refill", 6, (unsigned int)(n * 5 % NPRIO)) == 0)
			n++;
		ok(n == MAXMSG && errno == EAGAIN, "the queue takes exactly mq_maxmsg (%d) messages again, "
		   "then EAGAIN: no slot leaked", n);
		while (back <= MAXMSG && kipc_mq_receive(q, buf, MSGSIZE, &prio) == 6) {
			if (prio > last)
				order = false;
			last = prio;
			back++;
		}
		ok(back == MAXMSG && order, "... and gives them back, highest priority first (%d)", back);
		ok(now() - t0 < 5.0, "... at once (%.0f ms)", (now() - t0) * 1e3);
	}
	kipc_mq_close(q);
	kipc_mq_unlink(qname);
	rm_tree(ns_root);
	return done_testing();
}
