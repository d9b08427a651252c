// SPDX-License-Identifier: MIT
/*
 * System V message queues (include/kipc/msg.h) in a private namespace
 * ($KIPC_NAMESPACE = /dev/shm/kipc-test-sysv-PID, removed at the end),
 * checked against msgget(2), msgop(2), msgctl(2) and, wherever the same
 * input can be given to both, against the kernel's own calls on this
 * machine (kernel queues are made with IPC_PRIVATE, or with a fresh key
 * under IPC_CREAT|IPC_EXCL where a key is the point, and removed):
 *
 *   - msgget: IPC_PRIVATE, keys, IPC_CREAT|IPC_EXCL, ENOENT, ids not
 *     reused, modes as given;
 *   - msgsnd/msgrcv: every size up to KIPC_MSGMAX, msgtyp 0 / > 0 /
 *     MSG_EXCEPT / < 0 (a table, then random mixes against a model list
 *     and the kernel), MSG_NOERROR and E2BIG (the message stays),
 *     IPC_NOWAIT (ENOMSG, EAGAIN), senders blocked by msg_qbytes;
 *   - bad input (a table: the same errno as the kernel), changing nothing;
 *   - IPC_STAT's every field, IPC_SET of msg_qbytes (lowering; raising
 *     above KIPC_MSGMNB is EPERM, documented) and of the permissions,
 *     IPC_RMID waking every waiter with EIDRM;
 *   - many processes blocking and waking, asleep while they wait; EINTR
 *     with and without SA_RESTART;
 *   - another user's access (root only), rights checked at every call;
 *   - processes dying at chosen points of msgsnd/msgrcv: at a write made to
 *     fault (a read-only page of the queue's mapping), at the wake-up call
 *     (a seccomp filter), after N instructions (ptrace single-stepping, N
 *     sampled over the whole call); and kill -9 at random times of senders
 *     and receivers, with message-level accounting.
 *
 * Children leave with _exit(); every fork() happens in this
 * single-threaded process.  Seeded by tap_seed() ($KIPC_TEST_SEED).
 */
#include <kipc/msg.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc/object.h"
#include "tap.h"
#include "testutil.h"

/* qemu-user (the arm64 run) and TSan are several times slower. */
#if defined(__aarch64__) || UNDER_TSAN
#define SLOW 1
#else
#define SLOW 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#if UNDER_TSAN
/*
 * TSan sleeps a second at the exit of a process with more than one thread
 * (children that waited in kipc have the library's watchdog thread).
 */
const char *__tsan_default_options(void);
__attribute__((used)) const char *__tsan_default_options(void)
{
	return "atexit_sleep_ms=0";
}
#endif

#define KEY(n)		((key_t)(0x6b6d0000 + (n)))
#define FOREIGN_ID	2100000001	/* far above the ids of a fresh namespace */
#define NRES		64
#define NKIDS		16
#define NOT_RUN		(-999999L)

/* Kill torture: incarnations of senders/receivers, messages per sender. */
#define T_SENDERS	3
#define T_RECEIVERS	3
#define T_MAXINC	192
#define T_MAXSEQ	8192
#define T_MAXLEN	1500

struct shared {
	int go;
	int ready[NKIDS];
	long r[NRES];
	long kr[NRES];
	/* kill torture */
	int stop;
	int errors;
	int bad;
	int done[T_MAXINC];		/* completed msgsnd per sender incarnation */
	uint8_t recv[T_MAXINC][T_MAXSEQ];
};

struct msg {
	long mtype;
	char mtext[KIPC_MSGMAX + 128];
};

static struct shared *sh;
static char ns_root[256];
static bool as_root;
static uid_t nobody_uid = 65534;
static gid_t nobody_gid = 65534;
static pid_t main_pid;
static uint64_t rng_state;
static bool emulated;		/* qemu-user: an x86 host's /proc under an arm64 build */

/* -errno if the call returned -1, else its value. */
#define RES(call) ({ errno = 0; long res_ = (long)(call); res_ == -1 ? -(long)errno : res_; })

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static unsigned int rnd_below(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

/* Running under qemu-user (an arm64 build on an x86 host)? */
static bool detect_emulation(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return false;
#else
	char line[256];
	bool x86 = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f) && !x86)
		x86 = strstr(line, "GenuineIntel") || strstr(line, "AuthenticAMD");
	if (f)
		fclose(f);
	return x86;
#endif
}

/* Kernel objects made by this test, removed at the end (or on SIGALRM). */
static int kern_ids[128];
static int nkern;

static int kern_msgget(int flags)
{
	int id = msgget(IPC_PRIVATE, flags);

	if (id >= 0 && nkern < (int)(sizeof(kern_ids) / sizeof(kern_ids[0])))
		kern_ids[nkern++] = id;
	return id;
}

/* A kernel queue under a fresh key (IPC_EXCL: never someone else's). */
static int kern_msgget_key(key_t *key, int mode)
{
	for (int i = 0; i < 1000; i++) {
		key_t k = (key_t)(0x4b000000 | (rnd() & 0xffffff));
		int id = msgget(k, IPC_CREAT | IPC_EXCL | mode);

		if (id >= 0) {
			if (nkern < (int)(sizeof(kern_ids) / sizeof(kern_ids[0])))
				kern_ids[nkern++] = id;
			*key = k;
			return id;
		}
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* Removes a kernel queue and forgets it. */
static int kern_rm(int id)
{
	for (int i = 0; i < nkern; i++)
		if (kern_ids[i] == id) {
			kern_ids[i] = kern_ids[--nkern];
			break;
		}
	return msgctl(id, IPC_RMID, NULL);
}

static void kern_cleanup(void)
{
	for (int i = 0; i < nkern; i++)
		msgctl(kern_ids[i], IPC_RMID, NULL);
	nkern = 0;
}

static void on_alarm(int sig)
{
	if (getpid() == main_pid)
		kern_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void reset_results(void)
{
	for (int i = 0; i < NRES; i++)
		sh->r[i] = sh->kr[i] = NOT_RUN;
	for (int i = 0; i < NKIDS; i++)
		sh->ready[i] = 0;
	sh->go = 0;
}

static int drop_to_nobody(void)
{
	if (setgroups(0, NULL) < 0 || setgid(nobody_gid) < 0 || setuid(nobody_uid) < 0)
		return -1;
	return geteuid() == nobody_uid ? 0 : -1;
}

static void fill(char *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (char)(seed * 131u + i * 7u + (i >> 8));
}

static bool check_fill(const char *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (char)(seed * 131u + i * 7u + (i >> 8)))
			return false;
	return true;
}

/* Both implementations behind one switch. */
static int q_snd(bool kern, int id, const void *m, size_t sz, int flg)
{
	return kern ? msgsnd(id, m, sz, flg) : kipc_msgsnd(id, m, sz, flg);
}

static ssize_t q_rcv(bool kern, int id, void *m, size_t sz, long typ, int flg)
{
	return kern ? msgrcv(id, m, sz, typ, flg) : kipc_msgrcv(id, m, sz, typ, flg);
}

static int q_ctl(bool kern, int id, int cmd, struct msqid_ds *ds)
{
	return kern ? msgctl(id, cmd, ds) : kipc_msgctl(id, cmd, ds);
}

static int q_rm(bool kern, int id)
{
	return kern ? kern_rm(id) : kipc_msgctl(id, IPC_RMID, NULL);
}

static const char *impl(bool kern)
{
	return kern ? "kernel" : "kipc";
}

static long qnum_of(bool kern, int id)
{
	struct msqid_ds ds;

	return q_ctl(kern, id, IPC_STAT, &ds) ? -1 : (long)ds.msg_qnum;
}

static long cbytes_of(bool kern, int id)
{
	struct msqid_ds ds;

	return q_ctl(kern, id, IPC_STAT, &ds) ? -1 : (long)ds.__msg_cbytes;
}

/* ------------------------------------------------------------------------ */
/* msgget                                                                   */
/* ------------------------------------------------------------------------ */

static void test_msgget(void)
{
	struct msqid_ds ds;
	int a, b, c, k, k2, kid;
	key_t kkey = 0;
	mode_t old;

	a = kipc_msgget(IPC_PRIVATE, 0600);
	b = kipc_msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	ok(a >= 0 && b >= 0 && a != b, "msgget(IPC_PRIVATE) twice: two queues (%d, %d)", a, b);
	c = kipc_msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600);
	ok(c >= 0 && c != a && c != b, "msgget(IPC_PRIVATE, IPC_CREAT|IPC_EXCL) makes a queue too");
	kipc_msgctl(c, IPC_RMID, NULL);

	is(RES(kipc_msgget(KEY(1), 0600)), -ENOENT, "msgget of a missing key without IPC_CREAT: "
	   "ENOENT");
	k = kipc_msgget(KEY(1), IPC_CREAT | 0640);
	ok(k >= 0, "msgget(key, IPC_CREAT) makes a queue (%d)", k);
	is(RES(kipc_msgget(KEY(1), IPC_CREAT | 0600)), k, "msgget(key, IPC_CREAT) again: the same id");
	is(RES(kipc_msgget(KEY(1), 0)), k, "msgget(key, 0): the same id");
	is(RES(kipc_msgget(KEY(1), IPC_CREAT | IPC_EXCL | 0600)), -EEXIST,
	   "msgget(key, IPC_CREAT|IPC_EXCL) of an existing key: EEXIST");
	ok(kipc_msgctl(k, IPC_STAT, &ds) == 0 && ds.msg_perm.__key == KEY(1) &&
	   ds.msg_perm.mode == 0640, "IPC_STAT: the key and the mode as given (0%o)",
	   (unsigned)ds.msg_perm.mode);
	is(RES(kipc_msgctl(k, IPC_RMID, NULL)), 0, "IPC_RMID of the keyed queue");
	is(RES(kipc_msgget(KEY(1), 0)), -ENOENT, "after IPC_RMID its key is gone: ENOENT");
	k2 = kipc_msgget(KEY(1), IPC_CREAT | 0600);
	ok(k2 >= 0 && k2 != k, "msgget(key, IPC_CREAT) after IPC_RMID: a new queue, a new id "
	   "(%d, was %d)", k2, k);
	is(qnum_of(false, k), -1, "the old id names nothing (IPC_STAT fails)");
	kipc_msgctl(k2, IPC_RMID, NULL);

	/* The mode is the one given: System V ignores the umask. */
	old = umask(077);
	k = kipc_msgget(IPC_PRIVATE, 0666);
	umask(old);
	ok(k >= 0 && kipc_msgctl(k, IPC_STAT, &ds) == 0 && ds.msg_perm.mode == 0666,
	   "msgget 0666 under umask 077: mode 0666 (0%o)", (unsigned)ds.msg_perm.mode);
	kipc_msgctl(k, IPC_RMID, NULL);

	/* The kernel agrees on the key rules. */
	kid = kern_msgget_key(&kkey, 0600);
	ok(kid >= 0, "kernel: a queue under a fresh key");
	if (kid >= 0) {
		is(RES(msgget(kkey, IPC_CREAT | IPC_EXCL | 0600)), -EEXIST,
		   "kernel: IPC_CREAT|IPC_EXCL of an existing key: EEXIST");
		is(RES(msgget(kkey, 0)), kid, "kernel: msgget(key, 0): the same id");
		kern_rm(kid);
		is(RES(msgget(kkey, 0)), -ENOENT, "kernel: after IPC_RMID: ENOENT");
	}
	kipc_msgctl(a, IPC_RMID, NULL);
	kipc_msgctl(b, IPC_RMID, NULL);
}

/* ------------------------------------------------------------------------ */
/* Sizes, and bad input against the kernel                                  */
/* ------------------------------------------------------------------------ */

static void test_sizes(void)
{
	static const size_t sizes[] = { 0, 1, 7, 63, 64, 65, 127, 128, 1000, 4095, 4096,
					KIPC_MSGMAX - 1, KIPC_MSGMAX };
	static struct msg m, r;
	int q = kipc_msgget(IPC_PRIVATE, 0600);
	bool all = true;

	ok(q >= 0, "sizes: a queue");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i];
		long sent, got;

		m.mtype = (long)(i + 1);
		fill(m.mtext, len, (unsigned int)i);
		sent = RES(kipc_msgsnd(q, &m, len, IPC_NOWAIT));
		memset(&r, 0xee, sizeof(r));
		got = RES(kipc_msgrcv(q, &r, sizeof(r.mtext), 0, IPC_NOWAIT));
		if (sent != 0 || got != (long)len || r.mtype != (long)(i + 1) ||
		    !check_fill(r.mtext, len, (unsigned int)i) ||
		    (len < sizeof(r.mtext) && r.mtext[len] != (char)0xee)) {
			all = false;
			diag("size %zu: msgsnd %ld, msgrcv %ld, mtype %ld", len, sent, got, r.mtype);
		}
	}
	ok(all, "messages of 0 .. KIPC_MSGMAX bytes come back whole, with their type, the "
	   "length returned, nothing written past the text");

	/* Every size at once, then in order. */
	all = true;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) - 2; i++) {
		m.mtype = 1;
		fill(m.mtext, sizes[i], (unsigned int)(100 + i));
		if (kipc_msgsnd(q, &m, sizes[i], IPC_NOWAIT))
			all = false;
	}
	is(qnum_of(false, q), (long)(sizeof(sizes) / sizeof(sizes[0]) - 2),
	   "sizes: msg_qnum counts the queued messages");
	{
		long want = 0;

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) - 2; i++)
			want += (long)sizes[i];
		is(cbytes_of(false, q), want, "sizes: __msg_cbytes is the sum of their lengths");
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) - 2; i++)
		if (kipc_msgrcv(q, &r, sizeof(r.mtext), 0, IPC_NOWAIT) != (ssize_t)sizes[i] ||
		    !check_fill(r.mtext, sizes[i], (unsigned int)(100 + i)))
			all = false;
	ok(all, "sizes: queued together, they come back in order and whole");
	is(qnum_of(false, q) + cbytes_of(false, q), 0, "sizes: the queue is empty again");

	/* A type as large as a long. */
	m.mtype = LONG_MAX;
	strcpy(m.mtext, "max");
	kipc_msgsnd(q, &m, 4, IPC_NOWAIT);
	r.mtype = 0;
	ok(kipc_msgrcv(q, &r, 100, LONG_MAX, IPC_NOWAIT) == 4 && r.mtype == LONG_MAX,
	   "mtype LONG_MAX is kept and selected");
	kipc_msgctl(q, IPC_RMID, NULL);
}

enum { ID_VALID, ID_MINUS1, ID_INTMIN, ID_REMOVED, ID_FOREIGN };
enum { OP_SND, OP_RCV, OP_CTL };

struct bad_case {
	const char *what;
	int op;
	int idk;
	long mtype;		/* OP_SND */
	size_t size;
	long msgtyp;		/* OP_RCV */
	int flags;
	int cmd;		/* OP_CTL */
	bool null_buf;
	int want;		/* -errno */
	bool kernel;		/* compare with the kernel */
};

static const struct bad_case bad_cases[] = {
	{ "msgsnd mtype 0", OP_SND, ID_VALID, 0, 10, 0, 0, 0, false, -EINVAL, true },
	{ "msgsnd mtype -1", OP_SND, ID_VALID, -1, 10, 0, 0, 0, false, -EINVAL, true },
	{ "msgsnd mtype LONG_MIN", OP_SND, ID_VALID, LONG_MIN, 10, 0, 0, 0, false, -EINVAL, true },
	{ "msgsnd mtype 0, IPC_NOWAIT", OP_SND, ID_VALID, 0, 10, 0, IPC_NOWAIT, 0, false, -EINVAL,
	  true },
	{ "msgsnd msgsz KIPC_MSGMAX + 1", OP_SND, ID_VALID, 1, KIPC_MSGMAX + 1, 0, 0, 0, false,
	  -EINVAL, true },
	{ "msgsnd msgsz SIZE_MAX", OP_SND, ID_VALID, 1, SIZE_MAX, 0, 0, 0, false, -EINVAL, true },
	{ "msgsnd msgsz too big and mtype 0", OP_SND, ID_VALID, 0, KIPC_MSGMAX + 1, 0, 0, 0, false,
	  -EINVAL, true },
	{ "msgsnd NULL msgp", OP_SND, ID_VALID, 1, 10, 0, 0, 0, true, -EFAULT, true },
	{ "msgsnd id -1", OP_SND, ID_MINUS1, 1, 10, 0, 0, 0, false, -EINVAL, true },
	{ "msgsnd id INT_MIN", OP_SND, ID_INTMIN, 1, 10, 0, 0, 0, false, -EINVAL, true },
	{ "msgsnd removed id", OP_SND, ID_REMOVED, 1, 10, 0, 0, 0, false, -EINVAL, true },
	{ "msgsnd never-made id", OP_SND, ID_FOREIGN, 1, 10, 0, 0, 0, false, -EINVAL, false },
	{ "msgsnd id -1, mtype 0", OP_SND, ID_MINUS1, 0, 10, 0, 0, 0, false, -EINVAL, true },
	{ "msgrcv id -1", OP_RCV, ID_MINUS1, 0, 100, 0, IPC_NOWAIT, 0, false, -EINVAL, true },
	{ "msgrcv id INT_MIN", OP_RCV, ID_INTMIN, 0, 100, 0, IPC_NOWAIT, 0, false, -EINVAL, true },
	{ "msgrcv removed id", OP_RCV, ID_REMOVED, 0, 100, 0, IPC_NOWAIT, 0, false, -EINVAL, true },
	{ "msgrcv never-made id", OP_RCV, ID_FOREIGN, 0, 100, 0, IPC_NOWAIT, 0, false, -EINVAL,
	  false },
	{ "msgrcv msgsz (size_t)-1", OP_RCV, ID_VALID, 0, SIZE_MAX, 0, IPC_NOWAIT, 0, false,
	  -EINVAL, true },
	{ "msgrcv msgsz > LONG_MAX", OP_RCV, ID_VALID, 0, (size_t)LONG_MAX + 1, 0, IPC_NOWAIT, 0,
	  false, -EINVAL, true },
	{ "msgrcv of an absent type, IPC_NOWAIT", OP_RCV, ID_VALID, 0, 100, 77, IPC_NOWAIT, 0,
	  false, -ENOMSG, true },
	{ "msgrcv E2BIG (10-byte buffer, 50-byte message)", OP_RCV, ID_VALID, 0, 10, 0,
	  IPC_NOWAIT, 0, false, -E2BIG, true },
	{ "msgrcv MSG_COPY (documented: ENOSYS)", OP_RCV, ID_VALID, 0, 100, 0,
	  IPC_NOWAIT | MSG_COPY, 0, false, -ENOSYS, false },
	{ "msgctl bad command", OP_CTL, ID_VALID, 0, 0, 0, 0, 1234, false, -EINVAL, true },
	{ "msgctl IPC_STAT NULL buffer", OP_CTL, ID_VALID, 0, 0, 0, 0, IPC_STAT, true, -EFAULT,
	  true },
	{ "msgctl IPC_SET NULL buffer", OP_CTL, ID_VALID, 0, 0, 0, 0, IPC_SET, true, -EFAULT,
	  true },
	{ "msgctl IPC_STAT id -1", OP_CTL, ID_MINUS1, 0, 0, 0, 0, IPC_STAT, false, -EINVAL, true },
	{ "msgctl IPC_STAT removed id", OP_CTL, ID_REMOVED, 0, 0, 0, 0, IPC_STAT, false, -EINVAL,
	  true },
	{ "msgctl IPC_SET removed id", OP_CTL, ID_REMOVED, 0, 0, 0, 0, IPC_SET, false, -EINVAL,
	  true },
	{ "msgctl IPC_RMID removed id", OP_CTL, ID_REMOVED, 0, 0, 0, 0, IPC_RMID, false, -EINVAL,
	  true },
	{ "msgctl IPC_RMID id INT_MIN", OP_CTL, ID_INTMIN, 0, 0, 0, 0, IPC_RMID, false, -EINVAL,
	  true },
	{ "msgctl IPC_STAT never-made id", OP_CTL, ID_FOREIGN, 0, 0, 0, 0, IPC_STAT, false,
	  -EINVAL, false },
};

static long run_bad(bool kern, const struct bad_case *c, int valid, int removed)
{
	static struct msg m;
	struct msqid_ds ds;
	int id;

	switch (c->idk) {
	case ID_VALID: id = valid; break;
	case ID_MINUS1: id = -1; break;
	case ID_INTMIN: id = INT_MIN; break;
	case ID_REMOVED: id = removed; break;
	default: id = FOREIGN_ID; break;
	}
	m.mtype = c->mtype;
	memset(m.mtext, 'b', 64);
	switch (c->op) {
	case OP_SND:
		return RES(q_snd(kern, id, c->null_buf ? NULL : &m, c->size, c->flags));
	case OP_RCV:
		return RES(q_rcv(kern, id, &m, c->size, c->msgtyp, c->flags));
	default:
		if (q_ctl(kern, id, IPC_STAT, &ds))
			memset(&ds, 0, sizeof(ds));
		return RES(q_ctl(kern, id, c->cmd, c->null_buf ? NULL : &ds));
	}
}

static void test_bad_input(void)
{
	struct { long mtype; char t[64]; } m = { 3, "fifty bytes" };
	int q, rq, kq, krq;
	bool same_state = true;

	q = kipc_msgget(IPC_PRIVATE, 0600);
	rq = kipc_msgget(IPC_PRIVATE, 0600);
	kq = kern_msgget(0600);
	krq = kern_msgget(0600);
	ok(q >= 0 && rq >= 0 && kq >= 0 && krq >= 0, "bad input: kipc and kernel queues");
	kipc_msgctl(rq, IPC_RMID, NULL);
	kern_rm(krq);
	/* One message of 50 bytes in each (for E2BIG), which must stay. */
	kipc_msgsnd(q, &m, 50, 0);
	msgsnd(kq, &m, 50, 0);

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		long got = run_bad(false, c, q, rq);

		if (c->kernel) {
			long kgot = run_bad(true, c, kq, krq);

			ok(got == c->want && kgot == c->want, "%s: %s (kipc %ld, kernel %ld)",
			   c->what, strerror((int)-c->want), got, kgot);
		} else {
			ok(got == c->want, "%s: %s (kipc %ld)", c->what, strerror((int)-c->want),
			   got);
		}
		if (qnum_of(false, q) != 1 || cbytes_of(false, q) != 50)
			same_state = false;
	}
	ok(same_state, "no bad call changed the queue (one 50-byte message, still)");
	ok(kipc_msgrcv(q, &m, sizeof(m.t), 0, IPC_NOWAIT) == 50 && m.mtype == 3 &&
	   !strcmp(m.t, "fifty bytes"), "... and that message comes back intact");
	kipc_msgctl(q, IPC_RMID, NULL);
	kern_rm(kq);
}

/* ------------------------------------------------------------------------ */
/* Type selection: a table, then random mixes against a model               */
/* ------------------------------------------------------------------------ */

/* The model: the queue as a list of (type, tag) in arrival order. */
struct model {
	int n;
	long type[512];
	int tag[512];
	int len[512];
};

/* msgrcv's choice among the model's messages, or -1. */
static int model_select(const struct model *md, long msgtyp, int flags)
{
	int best = -1;

	for (int i = 0; i < md->n; i++) {
		long t = md->type[i];

		if (msgtyp == 0)
			return i;
		if (msgtyp > 0) {
			if ((flags & MSG_EXCEPT) ? t != msgtyp : t == msgtyp)
				return i;
			continue;
		}
		/* Lowest type not above |msgtyp|; the first of it; LONG_MIN: any. */
		if ((msgtyp == LONG_MIN || t <= -msgtyp) && (best < 0 || t < md->type[best]))
			best = i;
	}
	return best;
}

static void model_remove(struct model *md, int i)
{
	memmove(&md->type[i], &md->type[i + 1], sizeof(long) * (size_t)(md->n - i - 1));
	memmove(&md->tag[i], &md->tag[i + 1], sizeof(int) * (size_t)(md->n - i - 1));
	memmove(&md->len[i], &md->len[i + 1], sizeof(int) * (size_t)(md->n - i - 1));
	md->n--;
}

struct sel_case {
	long msgtyp;
	int flags;
	int want[9];		/* tags received, in order, until ENOMSG; -1 ends */
};

/* The queue of each case: tags 0..7 with these types. */
static const long sel_types[8] = { 3, 1, 4, 1, 5, 9, 2, 6 };

static const struct sel_case sel_cases[] = {
	{ 0, 0, { 0, 1, 2, 3, 4, 5, 6, 7, -1 } },
	{ 1, 0, { 1, 3, -1 } },
	{ 9, 0, { 5, -1 } },
	{ 7, 0, { -1 } },
	{ 1, MSG_EXCEPT, { 0, 2, 4, 5, 6, 7, -1 } },
	{ 3, MSG_EXCEPT, { 1, 2, 3, 4, 5, 6, 7, -1 } },
	{ -1, 0, { 1, 3, -1 } },
	{ -3, 0, { 1, 3, 6, 0, -1 } },
	{ -5, 0, { 1, 3, 6, 0, 2, 4, -1 } },
	{ -100, 0, { 1, 3, 6, 0, 2, 4, 7, 5, -1 } },
	{ -100, MSG_EXCEPT, { 1, 3, 6, 0, 2, 4, 7, 5, -1 } },
	{ 0, MSG_EXCEPT, { 0, 1, 2, 3, 4, 5, 6, 7, -1 } },
	{ LONG_MAX, 0, { -1 } },
	{ LONG_MIN, 0, { 1, 3, 6, 0, 2, 4, 7, 5, -1 } },
};

/* Runs one case on a fresh queue; the tags received, -1 terminated. */
static void run_sel(bool kern, int q, const struct sel_case *c, long *out)
{
	struct { long mtype; int tag; } m;
	int n = 0;

	out[0] = -2;
	if (q < 0)
		return;
	for (int i = 0; i < 8; i++) {
		m.mtype = sel_types[i];
		m.tag = i;
		q_snd(kern, q, &m, sizeof(m.tag), IPC_NOWAIT);
	}
	while (n < 9) {
		long r = RES(q_rcv(kern, q, &m, sizeof(m.tag), c->msgtyp, c->flags | IPC_NOWAIT));

		if (r == -ENOMSG)
			break;
		out[n++] = r == (long)sizeof(m.tag) ? m.tag : 100 + r;
	}
	out[n] = -1;
}

static void test_select_table(void)
{
	for (size_t i = 0; i < sizeof(sel_cases) / sizeof(sel_cases[0]); i++) {
		const struct sel_case *c = &sel_cases[i];
		char desc[160], got[64] = "", kgot[64] = "";
		bool good = true, kgood = true;
		long *kout = sh->kr, *out = sh->r;
		pid_t pid;

		/* In a child: a crash (or a sanitizer's report) fails one point. */
		int q = kipc_msgget(IPC_PRIVATE, 0600), kq = kern_msgget(0600);

		reset_results();
		pid = fork_kid();
		if (pid == 0) {
			run_sel(false, q, c, out);
			_exit(0);
		}
		if (!child_exited_ok(child_status(pid, 10.0)))
			good = false;
		run_sel(true, kq, c, kout);
		q_rm(false, q);
		q_rm(true, kq);
		for (int k = 0; k < 9; k++) {
			if (out[k] != c->want[k])
				good = false;
			if (kout[k] != c->want[k])
				kgood = false;
			if (c->want[k] < 0)
				break;
		}
		for (int k = 0; k < 9 && out[k] >= 0; k++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%ld ", out[k]);
		for (int k = 0; k < 9 && kout[k] >= 0; k++)
			snprintf(kgot + strlen(kgot), sizeof(kgot) - strlen(kgot), "%ld ", kout[k]);
		snprintf(desc, sizeof(desc), "msgtyp %ld%s on types 3 1 4 1 5 9 2 6",
			 c->msgtyp, (c->flags & MSG_EXCEPT) ? " MSG_EXCEPT" : "");
		ok(good && kgood, "%s: tags [%s] (kernel [%s])", desc, got, kgot);
	}
}

static void test_select_random(void)
{
	static struct model md;
	static struct msg m, km;
	int q = kipc_msgget(IPC_PRIVATE, 0600), kq = kern_msgget(0600);
	int rounds = SLOW ? 1500 : 4000, bad = 0, kbad = 0, tag = 0, received = 0, e2big = 0;
	int sent = 0, nomsg = 0;

	ok(q >= 0 && kq >= 0, "random mixes: a kipc and a kernel queue");
	md.n = 0;
	for (int round = 0; round < rounds && bad + kbad < 5; round++) {
		int len = 4 + (int)rnd_below(rnd_below(4) ? 60 : 700), bytes = 0;

		for (int i = 0; i < md.n; i++)
			bytes += md.len[i];
		if (md.n < 40 && bytes + len <= KIPC_MSGMNB && (md.n < 3 || rnd_below(100) < 52)) {
			/* Send a message of a random type 1..6 and length. */

			m.mtype = 1 + (long)rnd_below(6);
			memcpy(m.mtext, &tag, sizeof(tag));
			fill(m.mtext + 4, (size_t)len - 4, (unsigned int)tag);
			if (kipc_msgsnd(q, &m, (size_t)len, IPC_NOWAIT) ||
			    msgsnd(kq, &m, (size_t)len, IPC_NOWAIT)) {
				diag("round %d: msgsnd failed: %s", round, strerror(errno));
				bad++;
				continue;
			}
			md.type[md.n] = m.mtype;
			md.tag[md.n] = tag++;
			md.len[md.n++] = len;
			sent++;
		} else {
			long msgtyp = (long)rnd_below(15) - 7;
			int flags = IPC_NOWAIT | (rnd_below(4) == 0 ? MSG_EXCEPT : 0);
			size_t bufsz = rnd_below(8) == 0 ? rnd_below(80) : sizeof(m.mtext);
			int i = model_select(&md, msgtyp, flags);
			long r, kr;

			if (rnd_below(8) == 0)
				flags |= MSG_NOERROR;
			r = RES(kipc_msgrcv(q, &m, bufsz, msgtyp, flags));
			kr = RES(msgrcv(kq, &km, bufsz, msgtyp, flags));
			if (i < 0) {
				nomsg++;
				if (r != -ENOMSG)
					bad++;
				if (kr != -ENOMSG)
					kbad++;
				if (r != -ENOMSG || kr != -ENOMSG)
					diag("round %d: msgtyp %ld flags %#x: model ENOMSG, kipc %ld, "
					     "kernel %ld", round, msgtyp, flags, r, kr);
				continue;
			}
			if ((size_t)md.len[i] > bufsz && !(flags & MSG_NOERROR)) {
				/* E2BIG: the message stays where it is. */
				e2big++;
				if (r != -E2BIG)
					bad++;
				if (kr != -E2BIG)
					kbad++;
				continue;
			}
			{
				long want = md.len[i] < (int)bufsz ? md.len[i] : (long)bufsz;
				int t = md.tag[i];
				bool good = r == want && m.mtype == md.type[i] &&
					    (want < 4 || (!memcmp(m.mtext, &t, 4) &&
					     check_fill(m.mtext + 4, (size_t)want - 4, (unsigned int)t)));
				bool kgood = kr == want && km.mtype == md.type[i] &&
					     (want < 4 || !memcmp(km.mtext, &t, 4));

				if (!good || !kgood)
					diag("round %d: msgtyp %ld flags %#x bufsz %zu: model tag %d "
					     "type %ld len %ld; kipc %ld type %ld; kernel %ld type %ld",
					     round, msgtyp, flags, bufsz, t, md.type[i], want, r,
					     m.mtype, kr, km.mtype);
				bad += !good;
				kbad += !kgood;
				received++;
				model_remove(&md, i);
			}
		}
		if (round % 97 == 0 && (qnum_of(false, q) != md.n)) {
			diag("round %d: msg_qnum %ld, model %d", round, qnum_of(false, q), md.n);
			bad++;
		}
	}
	diag("random mixes: %d sent, %d received, %d ENOMSG, %d E2BIG", sent, received, nomsg,
	     e2big);
	is(bad, 0, "random mixes of types, msgtyp, MSG_EXCEPT, MSG_NOERROR and E2BIG: kipc "
	   "agrees with the model");
	is(kbad, 0, "... and so does the kernel (the model is the kernel's rule)");
	{
		long cb = 0;

		for (int i = 0; i < md.n; i++)
			cb += md.len[i];
		ok(qnum_of(false, q) == md.n && cbytes_of(false, q) == cb,
		   "random mixes: msg_qnum and __msg_cbytes match what the model holds (%d, %ld)",
		   md.n, cb);
	}
	kipc_msgctl(q, IPC_RMID, NULL);
	kern_rm(kq);
}

/* ------------------------------------------------------------------------ */
/* MSG_NOERROR, E2BIG, IPC_NOWAIT and msg_qbytes, kipc beside the kernel     */
/* ------------------------------------------------------------------------ */

static void test_noerror(bool kern)
{
	static struct msg m;
	const char *w = impl(kern);
	int q = kern ? kern_msgget(0600) : kipc_msgget(IPC_PRIVATE, 0600);

	m.mtype = 5;
	fill(m.mtext, 100, 5);
	q_snd(kern, q, &m, 100, 0);
	m.mtype = 6;
	fill(m.mtext, 30, 6);
	q_snd(kern, q, &m, 30, 0);
	is(RES(q_rcv(kern, q, &m, 10, 0, IPC_NOWAIT)), -E2BIG,
	   "%s: msgrcv of a 100-byte message into 10 bytes: E2BIG", w);
	ok(qnum_of(kern, q) == 2 && cbytes_of(kern, q) == 130,
	   "%s: after E2BIG the message is still queued (msg_qnum 2, __msg_cbytes 130)", w);
	is(RES(q_rcv(kern, q, &m, 10, 5, IPC_NOWAIT)), -E2BIG, "%s: E2BIG with msgtyp 5 too", w);
	memset(&m, 0, sizeof(m));
	ok(q_rcv(kern, q, &m, 200, 0, IPC_NOWAIT) == 100 && m.mtype == 5 &&
	   check_fill(m.mtext, 100, 5), "%s: ... and it is received whole, still first", w);
	m.mtype = 5;
	fill(m.mtext, 100, 5);
	q_snd(kern, q, &m, 100, 0);
	memset(&m, 0x77, sizeof(m));
	ok(q_rcv(kern, q, &m, 10, 5, IPC_NOWAIT | MSG_NOERROR) == 10 && m.mtype == 5 &&
	   check_fill(m.mtext, 10, 5) && m.mtext[10] == 0x77,
	   "%s: MSG_NOERROR: 10 bytes, the start of the text, nothing past it", w);
	ok(qnum_of(kern, q) == 1 && cbytes_of(kern, q) == 30,
	   "%s: MSG_NOERROR removed the whole message (msg_qnum 1, __msg_cbytes 30)", w);
	is(RES(q_rcv(kern, q, &m, 0, 0, IPC_NOWAIT)), -E2BIG,
	   "%s: msgrcv into 0 bytes of a 30-byte message: E2BIG", w);
	is(RES(q_rcv(kern, q, &m, 0, 0, IPC_NOWAIT | MSG_NOERROR)), 0,
	   "%s: ... with MSG_NOERROR: 0 bytes", w);
	is(RES(q_rcv(kern, q, &m, 100, 0, IPC_NOWAIT)), -ENOMSG,
	   "%s: an empty queue with IPC_NOWAIT: ENOMSG", w);
	q_rm(kern, q);
}

static void test_nowait_full(bool kern)
{
	static struct msg m;
	const char *w = impl(kern);
	int q = kern ? kern_msgget(0600) : kipc_msgget(IPC_PRIVATE, 0600);
	struct msqid_ds ds;
	long r;

	m.mtype = 1;
	memset(m.mtext, 'f', KIPC_MSGMAX);
	ok(q_snd(kern, q, &m, KIPC_MSGMAX, IPC_NOWAIT) == 0 &&
	   q_snd(kern, q, &m, KIPC_MSGMAX, IPC_NOWAIT) == 0,
	   "%s: two messages of KIPC_MSGMAX fill msg_qbytes (16384)", w);
	is(RES(q_snd(kern, q, &m, 1, IPC_NOWAIT)), -EAGAIN,
	   "%s: one byte more with IPC_NOWAIT: EAGAIN", w);
	is(RES(q_snd(kern, q, &m, 0, IPC_NOWAIT)), 0,
	   "%s: an empty message still fits (only msg_qnum grows)", w);
	ok(qnum_of(kern, q) == 3 && cbytes_of(kern, q) == 2 * KIPC_MSGMAX,
	   "%s: EAGAIN changed nothing (msg_qnum 3, __msg_cbytes 16384)", w);
	q_rcv(kern, q, &m, sizeof(m.mtext), 0, IPC_NOWAIT);
	is(RES(q_snd(kern, q, &m, KIPC_MSGMAX, IPC_NOWAIT)), 0,
	   "%s: after one is received, a KIPC_MSGMAX message fits again", w);

	/* msg_qbytes also bounds the number of messages. */
	q_rm(kern, q);
	q = kern ? kern_msgget(0600) : kipc_msgget(IPC_PRIVATE, 0600);
	q_ctl(kern, q, IPC_STAT, &ds);
	ds.msg_qbytes = 5;
	q_ctl(kern, q, IPC_SET, &ds);
	r = 0;
	for (int i = 0; i < 5 && !r; i++)
		r = RES(q_snd(kern, q, &m, 0, IPC_NOWAIT));
	is(r, 0, "%s: msg_qbytes 5: five empty messages fit", w);
	is(RES(q_snd(kern, q, &m, 0, IPC_NOWAIT)), -EAGAIN,
	   "%s: msg_qbytes 5: a sixth empty message: EAGAIN (msg_qnum + 1 <= msg_qbytes)", w);
	q_rm(kern, q);
}

/* The documented per-queue limit on the number of messages. */
static void test_maxqnum(void)
{
	struct { long mtype; } m = { 1 };
	int q = kipc_msgget(IPC_PRIVATE, 0600), n = 0;

	while (n < KIPC_MSG_MAXQNUM + 10 && kipc_msgsnd(q, &m, 0, IPC_NOWAIT) == 0)
		n++;
	ok(n == KIPC_MSG_MAXQNUM && errno == EAGAIN,
	   "empty messages: KIPC_MSG_MAXQNUM (%d) fit, then EAGAIN (%d, %s)", KIPC_MSG_MAXQNUM, n,
	   strerror(errno));
	is(qnum_of(false, q), n, "msg_qnum: that many");
	kipc_msgctl(q, IPC_RMID, NULL);
}

/* A sender blocked by msg_qbytes goes on once a receive makes room. */
static void test_blocked_sender(bool kern)
{
	static struct msg m;
	const char *w = impl(kern);
	int q = kern ? kern_msgget(0600) : kipc_msgget(IPC_PRIVATE, 0600);
	pid_t pid;
	int status;

	m.mtype = 1;
	memset(m.mtext, 's', KIPC_MSGMAX);
	q_snd(kern, q, &m, KIPC_MSGMAX, 0);
	q_snd(kern, q, &m, KIPC_MSGMAX - 500, 0);
	reset_results();
	pid = fork_kid();
	if (pid == 0) {
		m.mtype = 2;
		__atomic_store_n(&sh->ready[0], 1, __ATOMIC_RELEASE);
		sh->r[0] = RES(q_snd(kern, q, &m, 501, 0));
		_exit(0);
	}
	ok(wait_flag(&sh->ready[0], 10.0) && child_asleep(pid, 10.0),
	   "%s: a sender of 501 bytes into 500 free bytes is asleep", w);
	sleep_ms(50);
	ok(sh->r[0] == NOT_RUN && qnum_of(kern, q) == 2,
	   "%s: ... and still blocked, nothing queued", w);
	q_rcv(kern, q, &m, sizeof(m.mtext), 1, IPC_NOWAIT);
	status = child_status(pid, 5.0);
	ok(child_exited_ok(status) && sh->r[0] == 0, "%s: a receive makes room: the sender's msgsnd "
	   "returns 0 within 5 s", w);
	ok(qnum_of(kern, q) == 2 && cbytes_of(kern, q) == KIPC_MSGMAX - 500 + 501,
	   "%s: its message is queued", w);
	q_rm(kern, q);
}

/* ------------------------------------------------------------------------ */
/* IPC_STAT and IPC_SET                                                      */
/* ------------------------------------------------------------------------ */

/*
 * The time in seconds as the kernel and kipc stamp it (the coarse clock:
 * time() may run a tick ahead of it at a second's boundary).
 */
static time_t wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return ts.tv_sec;
}

static bool in_window(long long t, time_t t0, time_t t1)
{
	return t >= (long long)t0 && t <= (long long)t1;
}

/* Waits for the next second: times stamped after it differ from those before. */
static time_t next_second(void)
{
	time_t t = wall();

	while (wall() == t)
		sleep_ms(5);
	return wall();
}

/* kipc and the kernel in lockstep: the same children, the same seconds. */
static void test_stat(void)
{
	static struct msg m;
	struct msqid_ds ds[2];
	time_t t0, t1, t2, t3;
	pid_t sender, receiver;
	int q[2];

	t0 = wall();
	q[0] = kipc_msgget(IPC_PRIVATE, 0640);
	q[1] = kern_msgget(0640);
	t1 = wall();
	for (int k = 0; k < 2; k++) {
		const char *w = impl(k);

		ok(q[k] >= 0 && q_ctl(k, q[k], IPC_STAT, &ds[k]) == 0,
		   "%s: IPC_STAT of a new queue", w);
		ok(ds[k].msg_qnum == 0 && ds[k].__msg_cbytes == 0, "%s: msg_qnum 0, __msg_cbytes 0",
		   w);
		is(ds[k].msg_qbytes, KIPC_MSGMNB, "%s: msg_qbytes: MSGMNB (16384)", w);
		ok(ds[k].msg_lspid == 0 && ds[k].msg_lrpid == 0, "%s: msg_lspid and msg_lrpid 0",
		   w);
		ok(ds[k].msg_stime == 0 && ds[k].msg_rtime == 0, "%s: msg_stime and msg_rtime 0",
		   w);
		ok(in_window(ds[k].msg_ctime, t0, t1),
		   "%s: msg_ctime: the creation (%lld in [%lld, %lld])", w,
		   (long long)ds[k].msg_ctime, (long long)t0, (long long)t1);
		ok(ds[k].msg_perm.__key == IPC_PRIVATE && ds[k].msg_perm.mode == 0640,
		   "%s: msg_perm: key IPC_PRIVATE, mode 0640 (0%o)", w,
		   (unsigned)ds[k].msg_perm.mode);
		ok(ds[k].msg_perm.uid == geteuid() && ds[k].msg_perm.cuid == geteuid() &&
		   ds[k].msg_perm.gid == getegid() && ds[k].msg_perm.cgid == getegid(),
		   "%s: msg_perm: uid, cuid, gid, cgid: the creator's", w);
	}
	if (q[0] < 0 || q[1] < 0)
		return;

	/* In a later second: a child sends, another receives. */
	t2 = next_second();
	sender = fork_kid();
	if (sender == 0) {
		m.mtype = 4;
		memset(m.mtext, 'x', 300);
		_exit(q_snd(false, q[0], &m, 300, 0) || q_snd(true, q[1], &m, 300, 0) ? 1 : 0);
	}
	ok(child_exited_ok(child_status(sender, 10.0)), "a child sends 300 bytes to each");
	t3 = wall();
	for (int k = 0; k < 2; k++) {
		const char *w = impl(k);

		q_ctl(k, q[k], IPC_STAT, &ds[k]);
		ok(ds[k].msg_qnum == 1 && ds[k].__msg_cbytes == 300,
		   "%s: msg_qnum 1, __msg_cbytes 300", w);
		is(ds[k].msg_lspid, sender, "%s: msg_lspid: the sending child", w);
		is(ds[k].msg_lrpid, 0, "%s: msg_lrpid: still 0", w);
		ok(in_window(ds[k].msg_stime, t2, t3),
		   "%s: msg_stime: the send (%lld in [%lld, %lld])", w,
		   (long long)ds[k].msg_stime, (long long)t2, (long long)t3);
		is(ds[k].msg_rtime, 0, "%s: msg_rtime: still 0", w);
		ok(in_window(ds[k].msg_ctime, t0, t1), "%s: msg_ctime: unchanged by msgsnd", w);
	}
	receiver = fork_kid();
	if (receiver == 0)
		_exit(q_rcv(false, q[0], &m, sizeof(m.mtext), 0, 0) == 300 &&
		      q_rcv(true, q[1], &m, sizeof(m.mtext), 0, 0) == 300 ? 0 : 1);
	ok(child_exited_ok(child_status(receiver, 10.0)), "another child receives them");
	t3 = wall();
	for (int k = 0; k < 2; k++) {
		const char *w = impl(k);

		q_ctl(k, q[k], IPC_STAT, &ds[k]);
		ok(ds[k].msg_qnum == 0 && ds[k].__msg_cbytes == 0,
		   "%s: msg_qnum 0, __msg_cbytes 0 again", w);
		if (k && emulated)
			ok(1, "# SKIP kernel: qemu-user's msqid_ds conversion loses msg_lrpid");
		else
			is(ds[k].msg_lrpid, receiver, "%s: msg_lrpid: the receiving child", w);
		is(ds[k].msg_lspid, sender, "%s: msg_lspid: still the sender", w);
		ok(in_window(ds[k].msg_rtime, t2, t3), "%s: msg_rtime: the receive", w);
		ok(in_window(ds[k].msg_ctime, t0, t1), "%s: msg_ctime: unchanged by msgrcv", w);
	}

	/* IPC_SET (after the creation's second) changes msg_ctime, the mode, msg_qbytes. */
	t2 = wall();
	for (int k = 0; k < 2; k++) {
		const char *w = impl(k);

		ds[k].msg_perm.mode = 0604;
		ds[k].msg_qbytes = 1000;
		is(RES(q_ctl(k, q[k], IPC_SET, &ds[k])), 0,
		   "%s: IPC_SET of mode 0604 and msg_qbytes 1000", w);
	}
	t3 = wall();
	for (int k = 0; k < 2; k++) {
		const char *w = impl(k);

		memset(&ds[k], 0, sizeof(ds[k]));
		q_ctl(k, q[k], IPC_STAT, &ds[k]);
		ok(ds[k].msg_perm.mode == 0604 && ds[k].msg_qbytes == 1000,
		   "%s: IPC_STAT shows them (0%o, %lu)", w, (unsigned)ds[k].msg_perm.mode,
		   (unsigned long)ds[k].msg_qbytes);
		ok(in_window(ds[k].msg_ctime, t2, t3),
		   "%s: msg_ctime: the IPC_SET (%lld in [%lld, %lld])", w,
		   (long long)ds[k].msg_ctime, (long long)t2, (long long)t3);
		ok(ds[k].msg_perm.uid == geteuid() && ds[k].msg_perm.cuid == geteuid(),
		   "%s: uid and cuid unchanged", w);
		ok(ds[k].msg_lspid == sender && (ds[k].msg_lrpid == receiver || (k && emulated)),
		   "%s: msg_lspid and msg_lrpid unchanged by IPC_SET", w);
		q_rm(k, q[k]);
	}
}

static void test_ipc_set(void)
{
	static struct msg m;
	struct msqid_ds ds;
	int q = kipc_msgget(IPC_PRIVATE, 0600);
	pid_t pid;

	kipc_msgctl(q, IPC_STAT, &ds);
	ds.msg_qbytes = 100;
	is(RES(kipc_msgctl(q, IPC_SET, &ds)), 0, "IPC_SET: lowering msg_qbytes to 100");
	m.mtype = 1;
	is(RES(kipc_msgsnd(q, &m, 60, IPC_NOWAIT)), 0, "msg_qbytes 100: 60 bytes fit");
	is(RES(kipc_msgsnd(q, &m, 41, IPC_NOWAIT)), -EAGAIN, "msg_qbytes 100: 41 more: EAGAIN");
	is(RES(kipc_msgsnd(q, &m, 40, IPC_NOWAIT)), 0, "msg_qbytes 100: 40 more fit exactly");
	is(RES(kipc_msgsnd(q, &m, 101, IPC_NOWAIT)), -EAGAIN,
	   "msg_qbytes 100: a 101-byte message never fits: EAGAIN");

	/* Raising msg_qbytes lets a blocked sender in. */
	reset_results();
	pid = fork_kid();
	if (pid == 0) {
		__atomic_store_n(&sh->ready[0], 1, __ATOMIC_RELEASE);
		sh->r[0] = RES(kipc_msgsnd(q, &m, 50, 0));
		_exit(0);
	}
	ok(wait_flag(&sh->ready[0], 10.0) && child_asleep(pid, 10.0),
	   "a sender of 50 bytes into a full msg_qbytes 100 sleeps");
	kipc_msgctl(q, IPC_STAT, &ds);
	ds.msg_qbytes = 200;
	is(RES(kipc_msgctl(q, IPC_SET, &ds)), 0, "IPC_SET: raising msg_qbytes to 200");
	ok(child_exited_ok(child_status(pid, 5.0)) && sh->r[0] == 0,
	   "... wakes the sender, whose msgsnd returns 0 within 5 s");
	is(cbytes_of(false, q), 150, "__msg_cbytes 150");

	kipc_msgctl(q, IPC_STAT, &ds);
	ds.msg_qbytes = KIPC_MSGMNB;
	is(RES(kipc_msgctl(q, IPC_SET, &ds)), 0, "IPC_SET: raising msg_qbytes to KIPC_MSGMNB");
	ds.msg_qbytes = KIPC_MSGMNB + 1;
	ds.msg_perm.mode = 0644;
	is(RES(kipc_msgctl(q, IPC_SET, &ds)), -EPERM,
	   "IPC_SET: msg_qbytes above KIPC_MSGMNB: EPERM (documented)");
	kipc_msgctl(q, IPC_STAT, &ds);
	ok(ds.msg_qbytes == KIPC_MSGMNB && ds.msg_perm.mode == 0600,
	   "... and nothing changed, neither msg_qbytes nor the mode (%lu, 0%o)",
	   (unsigned long)ds.msg_qbytes, (unsigned)ds.msg_perm.mode);

	/* Lowering below what is queued: the messages stay, senders wait. */
	ds.msg_qbytes = 10;
	is(RES(kipc_msgctl(q, IPC_SET, &ds)), 0, "IPC_SET: msg_qbytes 10, below the 150 queued");
	ok(qnum_of(false, q) == 3 && cbytes_of(false, q) == 150, "... the messages stay");
	is(RES(kipc_msgsnd(q, &m, 0, IPC_NOWAIT)), -EAGAIN, "... and even an empty one: EAGAIN");
	ok(kipc_msgrcv(q, &m, 100, 0, IPC_NOWAIT) == 60, "... they can still be received");

	if (as_root) {
		kipc_msgctl(q, IPC_STAT, &ds);
		ds.msg_perm.uid = nobody_uid;
		ds.msg_perm.gid = nobody_gid;
		is(RES(kipc_msgctl(q, IPC_SET, &ds)), 0, "IPC_SET (root): owner nobody");
		kipc_msgctl(q, IPC_STAT, &ds);
		ok(ds.msg_perm.uid == nobody_uid && ds.msg_perm.gid == nobody_gid &&
		   ds.msg_perm.cuid == 0 && ds.msg_perm.cgid == getegid(),
		   "IPC_STAT: uid and gid nobody's, cuid and cgid still the creator's");
	} else {
		ok(1, "# SKIP IPC_SET of the owner: not running as root");
		ok(1, "# SKIP IPC_SET of the owner: not running as root");
	}
	is(RES(kipc_msgctl(q, IPC_RMID, NULL)), 0, "IPC_RMID");
	is(RES(kipc_msgctl(q, IPC_STAT, &ds)), -EINVAL, "IPC_STAT after IPC_RMID: EINVAL");
}

/* ------------------------------------------------------------------------ */
/* Many processes blocking and waking                                       */
/* ------------------------------------------------------------------------ */

static void test_many_typed_receivers(bool kern)
{
	enum { N = 6 };
	static struct msg m;
	const char *w = impl(kern);
	int q = kern ? kern_msgget(0600) : kipc_msgget(IPC_PRIVATE, 0600);
	pid_t pid[N];
	bool asleep = true, good = true;

	reset_results();
	for (int i = 0; i < N; i++) {
		pid[i] = fork_kid();
		if (pid[i] == 0) {
			__atomic_store_n(&sh->ready[i], 1, __ATOMIC_RELEASE);
			sh->r[i] = RES(q_rcv(kern, q, &m, sizeof(m.mtext), i + 1, 0));
			sh->r[N + i] = m.mtype;
			sh->r[2 * N + i] = check_fill(m.mtext, 200, (unsigned int)(i + 1));
			_exit(0);
		}
	}
	for (int i = 0; i < N; i++)
		if (!wait_flag(&sh->ready[i], 10.0) || !child_asleep(pid[i], 10.0))
			asleep = false;
	ok(asleep, "%s: %d receivers, each of its own type, asleep on an empty queue", w, N);
	for (int i = N; i-- > 0;) {
		m.mtype = i + 1;
		fill(m.mtext, 200, (unsigned int)(i + 1));
		q_snd(kern, q, &m, 200, 0);
	}
	for (int i = 0; i < N; i++)
		if (!child_exited_ok(child_status(pid[i], 5.0)) || sh->r[i] != 200 ||
		    sh->r[N + i] != i + 1 || sh->r[2 * N + i] != 1)
			good = false;
	ok(good, "%s: types sent in reverse order: each receiver got its own message", w);
	is(qnum_of(kern, q), 0, "%s: nothing left", w);
	q_rm(kern, q);
}

static void test_many_procs(bool kern)
{
	enum { NS = 5, NR = 5, PER = 40 };
	static struct msg m;
	const char *w = impl(kern);
	int q = kern ? kern_msgget(0600) : kipc_msgget(IPC_PRIVATE, 0600);
	pid_t pid[NS + NR];
	bool good = true;
	long total = 0, sum = 0;

	/* Senders and receivers of type 0, on a small queue: both sides block. */
	reset_results();
	{
		struct msqid_ds ds;

		q_ctl(kern, q, IPC_STAT, &ds);
		ds.msg_qbytes = 2000;
		q_ctl(kern, q, IPC_SET, &ds);
	}
	for (int i = 0; i < NS + NR; i++) {
		pid[i] = fork_kid();
		if (pid[i] != 0)
			continue;
		while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE))
			sleep_ms(1);
		if (i < NS) {
			for (int k = 0; k < PER; k++) {
				int v = i * 1000 + k;

				m.mtype = 1 + k % 3;
				memcpy(m.mtext, &v, sizeof(v));
				fill(m.mtext + 4, 396, (unsigned int)v);
				if (q_snd(kern, q, &m, 400, 0))
					_exit(1);
			}
		} else {
			long got = 0, s = 0;

			for (int k = 0; k < PER; k++) {
				int v;

				if (q_rcv(kern, q, &m, sizeof(m.mtext), 0, 0) != 400)
					_exit(1);
				memcpy(&v, m.mtext, sizeof(v));
				if (!check_fill(m.mtext + 4, 396, (unsigned int)v))
					_exit(2);
				got++;
				s += v;
			}
			sh->r[i] = got;
			sh->r[NRES / 2 + i] = s;
		}
		_exit(0);
	}
	__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NS + NR; i++)
		if (!child_exited_ok(child_status(pid[i], 15.0)))
			good = false;
	for (int i = NS; i < NS + NR; i++) {
		total += sh->r[i];
		sum += sh->r[NRES / 2 + i];
	}
	ok(good, "%s: %d senders and %d receivers through a 2000-byte queue all finish", w, NS,
	   NR);
	{
		long want = 0;

		for (int i = 0; i < NS; i++)
			for (int k = 0; k < PER; k++)
				want += i * 1000 + k;
		ok(total == NS * PER && sum == want,
		   "%s: every message received exactly once, whole (%ld of %d)", w, total,
		   NS * PER);
	}
	is(qnum_of(kern, q), 0, "%s: nothing left", w);
	q_rm(kern, q);
}

/* ------------------------------------------------------------------------ */
/* EINTR and EIDRM                                                           */
/* ------------------------------------------------------------------------ */

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void test_eintr(bool kern, bool send, int saflags)
{
	static struct msg m;
	const char *w = impl(kern);
	int q = kern ? kern_msgget(0600) : kipc_msgget(IPC_PRIVATE, 0600);
	const char *how = saflags ? "SA_RESTART" : "no SA_RESTART";
	double end;
	pid_t pid;
	int status;

	m.mtype = 1;
	if (send) {
		memset(m.mtext, 'e', KIPC_MSGMAX);
		q_snd(kern, q, &m, KIPC_MSGMAX, 0);
		q_snd(kern, q, &m, KIPC_MSGMAX, 0);
	}
	reset_results();
	pid = fork_kid();
	if (pid == 0) {
		handled = 0;
		set_handler(SIGUSR1, on_usr1, saflags);
		__atomic_store_n(&sh->ready[0], 1, __ATOMIC_RELEASE);
		if (send)
			sh->r[0] = RES(q_snd(kern, q, &m, 100, 0));
		else
			sh->r[0] = RES(q_rcv(kern, q, &m, sizeof(m.mtext), 0, 0));
		sleep_ms(1);	/* TSan runs handlers late: at its next interceptor */
		sh->r[1] = handled;
		_exit(0);
	}
	wait_flag(&sh->ready[0], 10.0);
	child_asleep(pid, 10.0);
	/* Signals until it returns: one that came too early is not lost on us. */
	end = now() + 5.0;
	while (!child_ended_within(pid, 0.05) && now() < end)
		kill(pid, SIGUSR1);
	status = child_status(pid, 1.0);
	ok(child_exited_ok(status) && sh->r[0] == -EINTR && sh->r[1] >= 1,
	   "%s: %s blocked, a handler with %s runs: EINTR (%ld, handler ran %ld times)", w,
	   send ? "msgsnd" : "msgrcv", how, sh->r[0], sh->r[1]);
	ok(qnum_of(kern, q) == (send ? 2 : 0), "%s: ... and the queue is as before", w);
	q_rm(kern, q);
}

static void test_eidrm(bool kern)
{
	enum { NR = 4, NS = 3 };
	static struct msg m;
	static const long types[NR] = { 5, -3, 7, 2 };
	const char *w = impl(kern);
	int q = kern ? kern_msgget(0600) : kipc_msgget(IPC_PRIVATE, 0600);
	pid_t pid[NR + NS];
	bool asleep = true, all = true;

	/* A full queue of type-9 messages: receivers of other types wait, senders too. */
	m.mtype = 9;
	memset(m.mtext, 'i', KIPC_MSGMAX);
	q_snd(kern, q, &m, KIPC_MSGMAX, 0);
	q_snd(kern, q, &m, KIPC_MSGMAX, 0);
	reset_results();
	for (int i = 0; i < NR + NS; i++) {
		pid[i] = fork_kid();
		if (pid[i] != 0)
			continue;
		__atomic_store_n(&sh->ready[i], 1, __ATOMIC_RELEASE);
		if (i < NR) {
			sh->r[i] = RES(q_rcv(kern, q, &m, sizeof(m.mtext), types[i], 0));
		} else {
			m.mtype = 1;
			sh->r[i] = RES(q_snd(kern, q, &m, 10 + i, 0));
		}
		_exit(0);
	}
	for (int i = 0; i < NR + NS; i++)
		if (!wait_flag(&sh->ready[i], 10.0) || !child_asleep(pid[i], 10.0))
			asleep = false;
	ok(asleep, "%s: %d receivers (types 5, -3, 7, 2) and %d senders asleep on a full queue",
	   w, NR, NS);
	is(RES(q_rm(kern, q)), 0, "%s: IPC_RMID with waiters", w);
	for (int i = 0; i < NR + NS; i++)
		if (!child_exited_ok(child_status(pid[i], 5.0)) || sh->r[i] != -EIDRM)
			all = false;
	ok(all, "%s: every waiter returned EIDRM within 5 s (%ld %ld %ld %ld / %ld %ld %ld)", w,
	   sh->r[0], sh->r[1], sh->r[2], sh->r[3], sh->r[4], sh->r[5], sh->r[6]);
	is(RES(q_snd(kern, q, &m, 10, IPC_NOWAIT)), -EINVAL, "%s: msgsnd after IPC_RMID: EINVAL",
	   w);
	is(RES(q_rcv(kern, q, &m, 10, 0, IPC_NOWAIT)), -EINVAL,
	   "%s: msgrcv after IPC_RMID: EINVAL", w);
}

/* A queue removed by another process while this one has it open. */
static void test_removed_elsewhere(void)
{
	static struct msg m;
	int q = kipc_msgget(KEY(7), IPC_CREAT | 0600), q2;
	pid_t pid;

	m.mtype = 1;
	kipc_msgsnd(q, &m, 10, 0);
	kipc_msgrcv(q, &m, 10, 0, 0);
	pid = fork_kid();
	if (pid == 0)
		_exit(kipc_msgctl(q, IPC_RMID, NULL) ? 1 : 0);
	ok(child_exited_ok(child_status(pid, 10.0)), "another process removes a queue this one uses");
	is(RES(kipc_msgsnd(q, &m, 10, IPC_NOWAIT)), -EINVAL, "msgsnd then: EINVAL");
	is(RES(kipc_msgrcv(q, &m, 10, 0, IPC_NOWAIT)), -EINVAL, "msgrcv then: EINVAL");
	is(RES(kipc_msgctl(q, IPC_RMID, NULL)), -EINVAL, "IPC_RMID again: EINVAL");
	q2 = kipc_msgget(KEY(7), IPC_CREAT | 0600);
	ok(q2 >= 0 && q2 != q && kipc_msgsnd(q2, &m, 10, IPC_NOWAIT) == 0,
	   "msgget of the key: a new queue that works");
	kipc_msgctl(q2, IPC_RMID, NULL);
}

/* ------------------------------------------------------------------------ */
/* Another user (root only)                                                  */
/* ------------------------------------------------------------------------ */

enum { P_GET0, P_GET400, P_GET200, P_GET600, P_SND, P_RCV, P_STAT, P_SET, P_RMID, P_NOPS };

static const char *const perm_ops[P_NOPS] = {
	"msgget(key, 0)", "msgget(key, 0400)", "msgget(key, 0200)", "msgget(key, 0600)",
	"msgsnd", "msgrcv", "IPC_STAT", "IPC_SET", "IPC_RMID",
};

static const int perm_modes[] = { 0600, 0644, 0622, 0666 };
#define NMODES ((int)(sizeof(perm_modes) / sizeof(perm_modes[0])))

static long perm_op(bool kern, int op, key_t key, int id)
{
	struct { long mtype; char t[16]; } m = { 1, "x" };
	struct msqid_ds ds;
	long r;

	switch (op) {
	case P_GET0: r = RES(kern ? msgget(key, 0) : kipc_msgget(key, 0)); break;
	case P_GET400: r = RES(kern ? msgget(key, 0400) : kipc_msgget(key, 0400)); break;
	case P_GET200: r = RES(kern ? msgget(key, 0200) : kipc_msgget(key, 0200)); break;
	case P_GET600: r = RES(kern ? msgget(key, 0600) : kipc_msgget(key, 0600)); break;
	case P_SND: r = RES(q_snd(kern, id, &m, 1, IPC_NOWAIT)); break;
	case P_RCV: r = RES(q_rcv(kern, id, &m, sizeof(m.t), 0, IPC_NOWAIT)); break;
	case P_STAT: r = RES(q_ctl(kern, id, IPC_STAT, &ds)); break;
	case P_SET:
		memset(&ds, 0, sizeof(ds));
		ds.msg_perm.uid = nobody_uid;
		ds.msg_perm.gid = nobody_gid;
		ds.msg_perm.mode = 0666;
		ds.msg_qbytes = 100;
		r = RES(q_ctl(kern, id, IPC_SET, &ds));
		break;
	default: r = RES(q_ctl(kern, id, IPC_RMID, NULL)); break;
	}
	/* An id is a success: only its sign matters. */
	return r >= 0 ? 0 : r;
}

static int fill_queues(const int *q, const int *kq)
{
	struct { long mtype; char t[16]; } m = { 1, "x" };

	for (int i = 0; i < NMODES; i++)
		if (kipc_msgsnd(q[i], &m, 1, 0) || msgsnd(kq[i], &m, 1, 0))
			return 1;
	return 0;
}

static void test_perms(void)
{
	key_t kkey[NMODES];
	int q[NMODES], kq[NMODES];
	struct { long mtype; char t[16]; } m = { 1, "x" };
	pid_t pid;

	if (!as_root) {
		ok(1, "# SKIP permissions of another user: not running as root");
		return;
	}
	for (int i = 0; i < NMODES; i++) {
		q[i] = kipc_msgget(KEY(20 + i), IPC_CREAT | IPC_EXCL | perm_modes[i]);
		kq[i] = kern_msgget_key(&kkey[i], perm_modes[i]);
	}
	/* A message in each, sent by another process: this one has none of them open. */
	pid = fork_kid();
	if (pid == 0)
		_exit(fill_queues(q, kq));
	is(wait_child(pid), 0, "permissions: root's queues of modes 0600, 0644, 0622, 0666, "
	   "kipc's and the kernel's, each with a message");
	reset_results();
	pid = fork_kid();
	if (pid == 0) {
		if (drop_to_nobody() < 0)
			_exit(100);
		for (int i = 0; i < NMODES; i++)
			for (int op = 0; op < P_NOPS; op++) {
				sh->r[i * P_NOPS + op] = perm_op(false, op, KEY(20 + i), q[i]);
				sh->kr[i * P_NOPS + op] = perm_op(true, op, kkey[i], kq[i]);
			}
		_exit(0);
	}
	is(wait_child(pid), 0, "permissions: a child running as nobody");
	for (int i = 0; i < NMODES; i++)
		for (int op = 0; op < P_NOPS; op++) {
			long r = sh->r[i * P_NOPS + op], kr = sh->kr[i * P_NOPS + op];

			/*
			 * As the kernel, or (docs/sysv.md) EACCES where the kernel
			 * allows what the file's mode does not let nobody both
			 * read and write: file permissions are kipc's access
			 * control, and every user writes the object's state.
			 */
			bool rw = (perm_modes[i] & 06) == 06;

			ok(r == kr || (kr == 0 && r == -EACCES && !rw),
			   "nobody, root's 0%o queue, %s: as the kernel, or EACCES without read and "
			   "write on the file (kipc %s, kernel %s)",
			   perm_modes[i], perm_ops[op], r ? strerror((int)-r) : "ok",
			   kr ? strerror((int)-kr) : "ok");
		}
	/* The rules the issue names, whatever the kernel did. */
	ok(sh->r[0 * P_NOPS + P_GET600] == -EACCES && sh->r[0 * P_NOPS + P_GET200] == -EACCES,
	   "nobody: msgget with write bits of root's 0600 queue: EACCES");
	ok(sh->r[0 * P_NOPS + P_SET] == -EPERM && sh->r[0 * P_NOPS + P_RMID] == -EPERM &&
	   sh->r[3 * P_NOPS + P_SET] == -EPERM && sh->r[3 * P_NOPS + P_RMID] == -EPERM,
	   "nobody: IPC_SET and IPC_RMID of root's queues (0600, 0666): EPERM");

	/* Rights are checked at each call: a process that drops them loses them. */
	reset_results();
	pid = fork_kid();
	if (pid == 0) {
		sh->r[0] = RES(kipc_msgsnd(q[0], &m, 1, IPC_NOWAIT));
		sh->kr[0] = RES(msgsnd(kq[0], &m, 1, IPC_NOWAIT));
		if (drop_to_nobody() < 0)
			_exit(100);
		sh->r[1] = RES(kipc_msgsnd(q[0], &m, 1, IPC_NOWAIT));
		sh->kr[1] = RES(msgsnd(kq[0], &m, 1, IPC_NOWAIT));
		sh->r[2] = RES(kipc_msgrcv(q[0], &m, sizeof(m.t), 0, IPC_NOWAIT));
		sh->kr[2] = RES(msgrcv(kq[0], &m, sizeof(m.t), 0, IPC_NOWAIT));
		_exit(0);
	}
	is(wait_child(pid), 0, "a root child uses root's 0600 queues, then becomes nobody");
	ok(sh->r[0] == 0 && sh->kr[0] == 0, "as root: msgsnd works (kipc %ld, kernel %ld)",
	   sh->r[0], sh->kr[0]);
	/*
	 * The kernel checks rights at each call; kipc when a process first
	 * uses an id (docs/sysv.md): the queue it mapped as root stays usable.
	 */
	ok(sh->kr[1] == -EACCES && sh->kr[2] == -EACCES && sh->r[1] == 0 && sh->r[2] == 1,
	   "as nobody after: the kernel refuses, kipc keeps the rights of the first use "
	   "(kipc %ld, %ld; kernel %ld, %ld)", sh->r[1], sh->r[2], sh->kr[1], sh->kr[2]);
	for (int i = 0; i < NMODES; i++) {
		kipc_msgctl(q[i], IPC_RMID, NULL);
		kern_rm(kq[i]);
	}
}

/* ------------------------------------------------------------------------ */
/* Deaths at chosen points                                                   */
/* ------------------------------------------------------------------------ */

static void die_now(int sig)
{
	(void)sig;
	kill(getpid(), SIGKILL);
}

/*
 * This process's mapping of the whole object file sysv/<leaf> (the one the
 * library's cache made); NULL if there is none.
 */
static char *find_mapping(const char *leaf, size_t *len)
{
	char want[PATH_MAX], line[PATH_MAX + 256];
	char *best = NULL;
	size_t best_len = 0;
	FILE *f;

	snprintf(want, sizeof(want), "%s/sysv/%s", ns_root, leaf);
	f = fopen("/proc/self/maps", "r");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off;
		int n = 0;
		char *path;

		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &lo, &hi, &off, &n) < 3 || !n)
			continue;
		path = line + n;
		path[strcspn(path, "\n")] = '\0';
		if (strcmp(path, want) || off != 0 || hi - lo <= best_len)
			continue;
		best = (char *)lo;
		best_len = hi - lo;
	}
	fclose(f);
	*len = best_len;
	return best;
}

/* Makes the data area of this process's mapping of queue id read-only. */
static bool protect_queue_data(int id)
{
	char leaf[64];
	size_t len;
	char *base;
	const struct kipc__obj_hdr *h;

	snprintf(leaf, sizeof(leaf), "msg.%d", id);
	base = find_mapping(leaf, &len);
	if (!base)
		return false;
	h = (const struct kipc__obj_hdr *)base;
	if (h->data_off == 0 || h->data_off >= len || h->data_off % 4096)
		return false;
	return mprotect(base + h->data_off, len - h->data_off, PROT_READ) == 0;
}

/*
 * A receiver dies in msgrcv after the text is copied out and before the
 * message is taken off the queue (its first write to the data area, made
 * read-only, kills it as kill -9 would there): the message must be whole
 * afterwards, or gone.
 */
static void test_receiver_dies_inside(void)
{
	static struct msg m;
	int q = kipc_msgget(IPC_PRIVATE, 0600), status;
	struct msqid_ds ds;
	pid_t pid;
	long r;

	m.mtype = 7;
	fill(m.mtext, 3000, 77);
	kipc_msgsnd(q, &m, 3000, 0);
	pid = fork_kid();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 2);
		set_handler(SIGSEGV, die_now, 0);
		set_handler(SIGBUS, die_now, 0);
		/* Opens and maps the queue, changing nothing. */
		if (kipc_msgrcv(q, &m, sizeof(m.mtext), 999, IPC_NOWAIT) != -1 || errno != ENOMSG)
			_exit(3);
		if (!protect_queue_data(q))
			_exit(4);
		kipc_msgrcv(q, &m, sizeof(m.mtext), 0, 0);
		_exit(5);	/* received without writing the data area */
	}
	status = child_status(pid, 10.0);
	if (status != -1 && WIFEXITED(status))
		diag("the receiver exited %d (3: no queue, 4: no mapping, 5: no fault)",
		     WEXITSTATUS(status));
	ok(status != -1 && ((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
	   (WIFEXITED(status) && WEXITSTATUS(status) == 5)),
	   "a receiver died inside msgrcv (at its first write to the queue's data area)");
	r = qnum_of(false, q);
	ok(r == 0 || r == 1, "after it, msg_qnum is 0 or 1 (%ld)", r);
	if (r == 1) {
		kipc_msgctl(q, IPC_STAT, &ds);
		is(ds.__msg_cbytes, 3000, "the message is still there: __msg_cbytes 3000");
		memset(&m, 0, sizeof(m));
		r = RES(kipc_msgrcv(q, &m, sizeof(m.mtext), 0, IPC_NOWAIT));
		ok(r == 3000 && m.mtype == 7 && check_fill(m.mtext, 3000, 77),
		   "... and it is whole: 3000 bytes of type 7, the text as sent (%ld bytes, "
		   "type %ld, text %s)", r, m.mtype,
		   r == 3000 && check_fill(m.mtext, 3000, 77) ? "intact" : "CORRUPTED");
	} else {
		is(cbytes_of(false, q), 0, "the message is gone: __msg_cbytes 0");
		is(RES(kipc_msgrcv(q, &m, sizeof(m.mtext), 0, IPC_NOWAIT)), -ENOMSG,
		   "... and msgrcv finds nothing: ENOMSG");
	}
	m.mtype = 1;
	fill(m.mtext, 5000, 5);
	ok(kipc_msgsnd(q, &m, 5000, IPC_NOWAIT) == 0 &&
	   kipc_msgrcv(q, &m, sizeof(m.mtext), 0, IPC_NOWAIT) == 5000 &&
	   check_fill(m.mtext, 5000, 5) && qnum_of(false, q) == 0 && cbytes_of(false, q) == 0,
	   "the queue works afterwards, its figures right");
	kipc_msgctl(q, IPC_RMID, NULL);
}

/*
 * A receiver dies in msgrcv after the message is taken off (its descriptor
 * freed) and before the queue's figures are updated: IPC_STAT must still
 * agree with what msgrcv finds.  129 empty messages take descriptors
 * 0..128; receiving the last (the only type 2) writes descriptor 128, on
 * the data area's second page, then its predecessor's link, on the first
 * page, made read-only: it dies there.
 */
static void test_stat_after_death(void)
{
	struct { long mtype; char t[8]; } m = { 1, "" };
	int q = kipc_msgget(IPC_PRIVATE, 0600), status, n = 0;
	struct msqid_ds ds;
	pid_t pid;

	for (int i = 0; i < 129; i++) {
		m.mtype = i == 128 ? 2 : 1;
		kipc_msgsnd(q, &m, 0, IPC_NOWAIT);
	}
	pid = fork_kid();
	if (pid == 0) {
		char leaf[64], *base;
		size_t len;
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 2);
		set_handler(SIGSEGV, die_now, 0);
		set_handler(SIGBUS, die_now, 0);
		snprintf(leaf, sizeof(leaf), "msg.%d", q);
		base = find_mapping(leaf, &len);
		if (!base || mprotect(base + ((struct kipc__obj_hdr *)base)->data_off, 4096,
				      PROT_READ))
			_exit(4);
		kipc_msgrcv(q, &m, sizeof(m.t), 2, IPC_NOWAIT);
		_exit(5);
	}
	status = child_status(pid, 10.0);
	ok(status != -1 && ((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
	   (WIFEXITED(status) && WEXITSTATUS(status) == 5)),
	   "a receiver died inside msgrcv (at a link in the first page of descriptors)");
	kipc_msgctl(q, IPC_STAT, &ds);
	while (kipc_msgrcv(q, &m, sizeof(m.t), 0, IPC_NOWAIT) >= 0)
		n++;
	ok((long)ds.msg_qnum == n && (n == 128 || n == 129),
	   "after it, IPC_STAT's msg_qnum agrees with what msgrcv finds (%lu, %d)",
	   (unsigned long)ds.msg_qnum, n);
	kipc_msgctl(q, IPC_RMID, NULL);
}

/* A sender dies in msgsnd while writing the text: the message is absent. */
static void test_sender_dies_inside(void)
{
	static struct msg m;
	int q = kipc_msgget(IPC_PRIVATE, 0600), status;
	pid_t pid;

	m.mtype = 3;
	fill(m.mtext, 100, 3);
	kipc_msgsnd(q, &m, 100, 0);
	pid = fork_kid();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 2);
		set_handler(SIGSEGV, die_now, 0);
		set_handler(SIGBUS, die_now, 0);
		if (kipc_msgrcv(q, &m, sizeof(m.mtext), 999, IPC_NOWAIT) != -1)
			_exit(3);
		if (!protect_queue_data(q))
			_exit(4);
		m.mtype = 4;
		fill(m.mtext, 4000, 4);
		kipc_msgsnd(q, &m, 4000, 0);
		_exit(5);
	}
	status = child_status(pid, 10.0);
	ok(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	   "a sender died inside msgsnd (writing the text)");
	ok(qnum_of(false, q) == 1 && cbytes_of(false, q) == 100,
	   "after it only the earlier message is queued (msg_qnum %ld, __msg_cbytes %ld)",
	   qnum_of(false, q), cbytes_of(false, q));
	memset(&m, 0, sizeof(m));
	ok(kipc_msgrcv(q, &m, sizeof(m.mtext), 0, IPC_NOWAIT) == 100 && m.mtype == 3 &&
	   check_fill(m.mtext, 100, 3), "the earlier message is intact");
	is(RES(kipc_msgrcv(q, &m, sizeof(m.mtext), 0, IPC_NOWAIT)), -ENOMSG,
	   "no trace of the half-sent one");
	{
		bool good = true;

		for (int i = 0; i < 6 && good; i++) {
			m.mtype = 1;
			fill(m.mtext, 2500, (unsigned int)i);
			good = kipc_msgsnd(q, &m, 2500, IPC_NOWAIT) == 0;
		}
		for (int i = 0; i < 6 && good; i++)
			good = kipc_msgrcv(q, &m, sizeof(m.mtext), 0, IPC_NOWAIT) == 2500 &&
			       check_fill(m.mtext, 2500, (unsigned int)i);
		ok(good, "the queue works afterwards: its blocks are all usable");
	}
	kipc_msgctl(q, IPC_RMID, NULL);
}

/* In this process: die (SIGSYS) at the first FUTEX_WAKE of all waiters (shared). */
static int die_at_wake_all(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FUTEX_WAKE, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, INT_MAX, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { (unsigned short)(sizeof(f) / sizeof(f[0])), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/*
 * A sender dies after its message is queued, before it wakes the sleeping
 * receiver: the receiver must still get the message.
 */
static void test_sender_dies_before_wake(void)
{
	static struct msg m;
	int q = kipc_msgget(IPC_PRIVATE, 0600), status;
	pid_t rcv, snd;
	double t0;

	reset_results();
	rcv = fork_kid();
	if (rcv == 0) {
		__atomic_store_n(&sh->ready[0], 1, __ATOMIC_RELEASE);
		sh->r[0] = RES(kipc_msgrcv(q, &m, sizeof(m.mtext), 0, 0));
		sh->r[1] = check_fill(m.mtext, 500, 9);
		_exit(0);
	}
	ok(wait_flag(&sh->ready[0], 10.0) && child_asleep(rcv, 10.0),
	   "a receiver sleeps on an empty queue");
	snd = fork_kid();
	if (snd == 0) {
		m.mtype = 2;
		fill(m.mtext, 500, 9);
		if (die_at_wake_all())
			_exit(7);	/* no seccomp here (qemu-user) */
		kipc_msgsnd(q, &m, 500, 0);
		_exit(0);
	}
	status = child_status(snd, 10.0);
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 7) {
		ok(1, "# SKIP no seccomp filters here: cannot kill a sender at its wake-up");
		ok(1, "# SKIP no seccomp filters here");
		kill(rcv, SIGKILL);
		child_status(rcv, 5.0);
		kipc_msgctl(q, IPC_RMID, NULL);
		return;
	}
	ok(status != -1 && WIFSIGNALED(status),
	   "the sender died after queueing, at its wake-up call (%s)",
	   status != -1 && WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "it did not");
	t0 = now();
	status = child_status(rcv, 5.0);
	ok(child_exited_ok(status) && sh->r[0] == 500 && sh->r[1] == 1,
	   "the sleeping receiver still gets the message within 5 s (msgrcv %ld, %.2f s; "
	   "msg_qnum %ld)", sh->r[0], now() - t0, qnum_of(false, q));
	kipc_msgctl(q, IPC_RMID, NULL);
}

/*
 * Runs pre(arg) (unless NULL), then fn(arg) in a traced child stopped just
 * before it: with kill_at < 0, single-steps it to the end of fn and
 * returns the number of steps; else kills it (SIGKILL) after kill_at steps
 * and returns kill_at, or -2 if fn ended first.  -1 if tracing is not
 * possible (qemu-user).
 */
static long step_child(void (*pre)(void *), void (*fn)(void *), void *arg, long kill_at)
{
	int status;
	long n = 0;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGALRM, SIG_DFL);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(90);
		if (pre)
			pre(arg);
		raise(SIGSTOP);
		fn(arg);
		raise(SIGSTOP);		/* the end: the tracer stops stepping here */
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	for (;;) {
		if (kill_at >= 0 && n == kill_at) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return n;
		}
		if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL)) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		if (waitpid(pid, &status, 0) != pid)
			return -1;
		if (WIFEXITED(status) || WIFSIGNALED(status) ||
		    (WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP)) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return kill_at >= 0 ? -2 : n;
		}
		n++;
		if (n > 2000000) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
	}
}

/* The queue of each sweep: messages of these types and lengths. */
static const long sw_types[3] = { 1, 2, 3 };
static const int sw_lens[3] = { 1500, 200, 50 };

struct sweep_arg {
	int q, warm;
	int kind;
};

static void sweep_warm(void *p)
{
	struct sweep_arg *a = p;
	struct { long mtype; char t[8]; } m = { 1, "w" };

	kipc_msgsnd(a->warm, &m, 1, 0);
	kipc_msgrcv(a->warm, &m, sizeof(m.t), 0, 0);
}

/* The message the sweep sends, made before the child is stepped. */
static struct msg sw_msg;

static void sweep_op(void *p)
{
	static struct msg m;
	struct sweep_arg *a = p;

	switch (a->kind) {
	case 0: kipc_msgsnd(a->q, &sw_msg, 1000, IPC_NOWAIT); break;
	case 1: kipc_msgrcv(a->q, &m, sizeof(m.mtext), 0, IPC_NOWAIT); break;
	case 2: kipc_msgrcv(a->q, &m, sizeof(m.mtext), 2, IPC_NOWAIT); break;
	default: kipc_msgrcv(a->q, &m, 100, -3, IPC_NOWAIT | MSG_NOERROR); break;
	}
}

static int sweep_queue(void)
{
	static struct msg m;
	int q = kipc_msgget(IPC_PRIVATE, 0600);

	for (int i = 0; i < 3; i++) {
		m.mtype = sw_types[i];
		fill(m.mtext, (size_t)sw_lens[i], (unsigned int)sw_types[i]);
		kipc_msgsnd(q, &m, (size_t)sw_lens[i], IPC_NOWAIT);
	}
	return q;
}

/*
 * After a kill: IPC_STAT must agree with what drains, and what drains must
 * be the queue before, whole and in order, with the one message the killed
 * call was about either there whole or not there.
 */
static bool sweep_check(int q, int kind, char *why, size_t len)
{
	static struct msg m;
	struct msqid_ds ds;
	long types[8], n = 0, bytes = 0;
	bool whole = true;

	if (kipc_msgctl(q, IPC_STAT, &ds)) {
		snprintf(why, len, "IPC_STAT failed");
		return false;
	}
	for (;;) {
		ssize_t r = kipc_msgrcv(q, &m, sizeof(m.mtext), 0, IPC_NOWAIT);
		int want_len;

		if (r < 0)
			break;
		if (n < 8)
			types[n] = m.mtype;
		want_len = m.mtype == 4 ? 1000 : m.mtype >= 1 && m.mtype <= 3 ? sw_lens[m.mtype - 1]
									   : -1;
		if (r != want_len || !check_fill(m.mtext, (size_t)r, (unsigned int)m.mtype))
			whole = false;
		n++;
		bytes += r;
	}
	if (!whole) {
		snprintf(why, len, "a message not whole");
		return false;
	}
	if ((long)ds.msg_qnum != n || (long)ds.__msg_cbytes != bytes) {
		snprintf(why, len, "IPC_STAT %lu/%lu, drained %ld/%ld", (unsigned long)ds.msg_qnum,
			 (unsigned long)ds.__msg_cbytes, n, bytes);
		return false;
	}
	/* The order: 1 2 3 [4] after a send; without the taken one after a receive. */
	{
		long want[4], wn = 0, alt[4], an = 0;

		for (int i = 0; i < 3; i++) {
			want[wn++] = sw_types[i];
			if (!((kind == 1 && i == 0) || (kind == 2 && i == 1) || (kind == 3 && i == 0)))
				alt[an++] = sw_types[i];
		}
		if (kind == 0)
			alt[an++] = 4;
		if (!((n == wn && !memcmp(types, want, sizeof(long) * (size_t)wn)) ||
		      (n == an && !memcmp(types, alt, sizeof(long) * (size_t)an)))) {
			snprintf(why, len, "%ld messages left, not the ones expected", n);
			return false;
		}
	}
	m.mtype = 9;
	if (kipc_msgsnd(q, &m, 10, IPC_NOWAIT) || kipc_msgrcv(q, &m, 10, 0, IPC_NOWAIT) != 10) {
		snprintf(why, len, "the queue does not work");
		return false;
	}
	return true;
}

static void test_step_sweep(void)
{
	static const struct { const char *what; int kind; bool cold; } kinds[] = {
		{ "msgsnd of 1000 bytes", 0, false },
		{ "msgrcv of the first message (1500 bytes)", 1, false },
		{ "msgrcv of type 2 (the middle one)", 2, false },
		{ "msgrcv -3 with MSG_NOERROR into 100 bytes", 3, false },
		{ "msgsnd as a process's first call", 0, true },
	};
	struct sweep_arg a;

	if (UNDER_TSAN) {
		/* Single-stepping instrumented code: 25 times the steps, nothing more learnt. */
		ok(1, "# SKIP instruction-precise kills under ThreadSanitizer "
		   "(the other builds run them)");
		return;
	}
	a.warm = kipc_msgget(IPC_PRIVATE, 0600);
	sw_msg.mtype = 4;
	fill(sw_msg.mtext, 1000, 4);
	for (size_t kd = 0; kd < sizeof(kinds) / sizeof(kinds[0]); kd++) {
		int samples = kinds[kd].cold ? (UNDER_ASAN ? 3 : 5) : (UNDER_ASAN ? 8 : 12);
		void (*pre)(void *) = kinds[kd].cold ? NULL : sweep_warm;
		char failed[200] = "", why[80];
		long total;
		int nfail = 0;

		a.kind = kinds[kd].kind;
		a.q = sweep_queue();
		total = step_child(pre, sweep_op, &a, -1);
		kipc_msgctl(a.q, IPC_RMID, NULL);
		if (total < 0) {
			ok(1, "# SKIP no ptrace single-stepping here");
			continue;
		}
		for (int i = 0; i < samples; i++) {
			long at = (long)(((double)i + (double)rnd_below(1000) / 1000.0) * (double)total /
					 samples);

			a.q = sweep_queue();
			step_child(pre, sweep_op, &a, at);
			if (!sweep_check(a.q, a.kind, why, sizeof(why))) {
				nfail++;
				if (strlen(failed) < sizeof(failed) - 60)
					snprintf(failed + strlen(failed), sizeof(failed) - strlen(failed),
						 " @%ld: %s;", at, why);
			}
			kipc_msgctl(a.q, IPC_RMID, NULL);
		}
		ok(nfail == 0, "%s killed at %d points of its %ld instructions: the queue is "
		   "consistent after each (failed %d:%s)", kinds[kd].what, samples, total, nfail,
		   nfail ? failed : " none");
	}
	kipc_msgctl(a.warm, IPC_RMID, NULL);
}

/* ------------------------------------------------------------------------ */
/* kill -9 at random points, with message-level accounting                   */
/* ------------------------------------------------------------------------ */

struct tmsg {
	long mtype;
	int inc, seq, len;
	char text[T_MAXLEN];
};

static int t_len(int inc, int seq)
{
	return 16 + (int)(((unsigned int)inc * 2654435761u + (unsigned int)seq * 40503u) %
			  (T_MAXLEN - 16));
}

static void t_sender(int q, int inc)
{
	static struct tmsg m;

	for (int seq = 0; seq < T_MAXSEQ; seq++) {
		int len = t_len(inc, seq);

		if (__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
			break;
		m.mtype = 1 + (inc + seq) % 5;
		m.inc = inc;
		m.seq = seq;
		m.len = len;
		fill(m.text, (size_t)len, (unsigned int)(inc * 65536 + seq));
		if (kipc_msgsnd(q, &m, 3 * sizeof(int) + (size_t)len, 0)) {
			__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
			_exit(1);
		}
		__atomic_store_n(&sh->done[inc], seq + 1, __ATOMIC_RELEASE);
	}
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
		sleep_ms(5);
	_exit(0);
}

static void t_receiver(int q, long msgtyp)
{
	static struct tmsg m;

	for (;;) {
		ssize_t n = kipc_msgrcv(q, &m, sizeof(m) - sizeof(long), msgtyp, 0);

		if (n < 0) {
			__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
			_exit(1);
		}
		if (n < (ssize_t)(3 * sizeof(int)) || m.inc < 0 || m.inc >= T_MAXINC ||
		    m.seq < 0 || m.seq >= T_MAXSEQ || m.len != t_len(m.inc, m.seq) ||
		    n != (ssize_t)(3 * sizeof(int)) + m.len ||
		    m.mtype != 1 + (m.inc + m.seq) % 5 ||
		    !check_fill(m.text, (size_t)m.len, (unsigned int)(m.inc * 65536 + m.seq))) {
			__atomic_fetch_add(&sh->bad, 1, __ATOMIC_RELAXED);
			continue;
		}
		__atomic_fetch_add(&sh->recv[m.inc][m.seq], 1, __ATOMIC_RELAXED);
	}
}

static void test_kill_torture(void)
{
	enum { NKID = T_SENDERS + T_RECEIVERS };
	static struct tmsg m;
	int q = kipc_msgget(IPC_PRIVATE, 0600);
	pid_t pid[NKID];
	int inc[NKID], next_inc = 0, skills = 0, rkills = 0, unexpected = 0;
	double secs = SLOW ? 1.0 : 1.5, end;
	struct msqid_ds ds;
	long drained = 0, drained_bytes = 0, lost = 0, dup = 0, phantom = 0, maybe = 0,
	     delivered = 0;
	bool drain_ok = true;

	memset((void *)sh->done, 0, sizeof(sh->done));
	memset((void *)sh->recv, 0, sizeof(sh->recv));
	sh->stop = sh->errors = sh->bad = 0;
	ok(q >= 0, "kill torture: a queue");

	for (int i = 0; i < NKID; i++) {
		inc[i] = i < T_SENDERS ? next_inc++ : -1;
		pid[i] = fork_kid();
		if (pid[i] == 0) {
			if (i < T_SENDERS)
				t_sender(q, inc[i]);
			t_receiver(q, i == T_SENDERS ? 0 : (i % 2 ? -3 : -5));
		}
	}
	end = now() + secs;
	while (now() < end) {
		int i = (int)rnd_below(NKID), status;

		sleep_us(5000 + (long)rnd_below(30000));
		kill(pid[i], SIGKILL);
		if (waitpid(pid[i], &status, 0) != pid[i] || !WIFSIGNALED(status))
			unexpected++;
		if (i < T_SENDERS) {
			skills++;
			if (next_inc >= T_MAXINC)
				break;
			inc[i] = next_inc++;
		} else {
			rkills++;
		}
		pid[i] = fork_kid();
		if (pid[i] == 0) {
			if (i < T_SENDERS)
				t_sender(q, inc[i]);
			t_receiver(q, i == T_SENDERS ? 0 : (i % 2 ? -3 : -5));
		}
	}
	/* The end: every child killed at a random point too. */
	for (int i = 0; i < NKID; i++) {
		int status;

		sleep_us((long)rnd_below(3000));
		kill(pid[i], SIGKILL);
		if (waitpid(pid[i], &status, 0) != pid[i] || !WIFSIGNALED(status))
			unexpected++;
		if (i < T_SENDERS)
			skills++;
		else
			rkills++;
	}
	diag("kill torture: %d senders and %d receivers killed, %d sender incarnations", skills,
	     rkills, next_inc);
	is(unexpected, 0, "kill torture: every child was still running when killed");
	is(sh->errors, 0, "kill torture: no msgsnd or msgrcv failed");

	/* What is left: IPC_STAT, then drain and compare. */
	ok(kipc_msgctl(q, IPC_STAT, &ds) == 0, "after the kills: IPC_STAT works");
	for (;;) {
		ssize_t n = kipc_msgrcv(q, &m, sizeof(m) - sizeof(long), 0, IPC_NOWAIT);

		if (n < 0) {
			if (errno != ENOMSG)
				drain_ok = false;
			break;
		}
		drained++;
		drained_bytes += n;
		if (n < (ssize_t)(3 * sizeof(int)) || m.inc < 0 || m.inc >= T_MAXINC ||
		    m.seq < 0 || m.seq >= T_MAXSEQ || m.len != t_len(m.inc, m.seq) ||
		    n != (ssize_t)(3 * sizeof(int)) + m.len ||
		    !check_fill(m.text, (size_t)m.len, (unsigned int)(m.inc * 65536 + m.seq)))
			sh->bad++;
		else
			sh->recv[m.inc][m.seq]++;
	}
	ok(drain_ok, "after the kills: the queue is not left locked, the rest drains (%ld)",
	   drained);
	ok(ds.msg_qnum == (unsigned long)drained && ds.__msg_cbytes == (unsigned long)drained_bytes,
	   "after the kills: msg_qnum and __msg_cbytes agree with what was left (%lu/%ld "
	   "messages, %lu/%ld bytes)", (unsigned long)ds.msg_qnum, drained,
	   (unsigned long)ds.__msg_cbytes, drained_bytes);
	is(qnum_of(false, q) + cbytes_of(false, q), 0, "after the drain: msg_qnum and "
	   "__msg_cbytes 0");

	for (int s = 0; s < next_inc; s++) {
		int done = sh->done[s];

		for (int k = 0; k < T_MAXSEQ; k++) {
			int c = sh->recv[s][k];

			if (c > 1)
				dup++;
			if (k < done) {
				if (c == 0)
					lost++;
				else
					delivered++;
			} else if (k == done) {
				maybe += c;
			} else if (c) {
				phantom++;
			}
		}
	}
	diag("kill torture: %ld messages delivered, %ld lost, %ld in flight at a sender's death "
	     "delivered", delivered, lost, maybe);
	ok(delivered > 100, "kill torture: messages flowed (%ld)", delivered);
	is(sh->bad, 0, "kill torture: no message was corrupted (text, length or type)");
	is(dup, 0, "kill torture: no message was received twice");
	is(phantom, 0, "kill torture: no message appeared that was never sent");
	ok(lost <= rkills, "kill torture: lost messages (%ld) at most one per killed receiver (%d)",
	   lost, rkills);

	/* The queue still works, waiters included. */
	{
		pid_t r = fork_kid();

		if (r == 0)
			_exit(kipc_msgrcv(q, &m, sizeof(m) - sizeof(long), 0, 0) == 20 ? 0 : 1);
		child_asleep(r, 5.0);
		m.mtype = 1;
		kipc_msgsnd(q, &m, 20, 0);
		ok(child_exited_ok(child_status(r, 5.0)), "after the kills: a blocked receiver is woken by "
		   "a send");
	}
	is(RES(kipc_msgctl(q, IPC_RMID, NULL)), 0, "after the kills: IPC_RMID");
}

/* ------------------------------------------------------------------------ */

static int count_queue_files(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/sysv", ns_root);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "msg.", 4)) {
			diag("left: sysv/%s", de->d_name);
			n++;
		}
	closedir(d);
	return n;
}

int main(void)
{
	struct rlimit nocore = { 0, 0 };
	struct passwd *pw;
	struct stat st;
	double t0 = now();

	main_pid = getpid();
	rng_state = tap_seed() | 1;
	emulated = detect_emulation();
	if (emulated)
		diag("running under emulation (qemu-user)");
	signal(SIGALRM, on_alarm);
	alarm(120);
	setrlimit(RLIMIT_CORE, &nocore);

	remove_leftovers("kipc-test-sysv-");
	snprintf(ns_root, sizeof(ns_root), "/dev/shm/kipc-test-sysv-%d", (int)getpid());
	rm_tree(ns_root);
	setenv("KIPC_NAMESPACE", ns_root, 1);
	diag("namespace %s", ns_root);

	as_root = geteuid() == 0;
	pw = getpwnam("nobody");
	if (pw) {
		nobody_uid = pw->pw_uid;
		nobody_gid = pw->pw_gid;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		ok(0, "mmap: %s", strerror(errno));
		return done_testing();
	}

	test_msgget();
	test_sizes();
	test_bad_input();
	test_select_table();
	test_select_random();
	for (int kern = 0; kern < 2; kern++) {
		test_noerror(kern);
		test_nowait_full(kern);
		test_blocked_sender(kern);
	}
	test_maxqnum();
	test_stat();
	test_ipc_set();
	for (int kern = 0; kern < 2; kern++) {
		test_many_typed_receivers(kern);
		test_many_procs(kern);
	}
	for (int kern = 0; kern < 2; kern++)
		for (int send = 0; send < 2; send++) {
			test_eintr(kern, send, 0);
			test_eintr(kern, send, SA_RESTART);
		}
	for (int kern = 0; kern < 2; kern++)
		test_eidrm(kern);
	test_removed_elsewhere();
	test_perms();
	test_sender_dies_inside();
	test_receiver_dies_inside();
	test_stat_after_death();
	test_sender_dies_before_wake();
	test_step_sweep();
	test_kill_torture();

	kern_cleanup();
	is(count_queue_files(), 0, "at the end no queue is left in the namespace");
	rm_tree(ns_root);
	ok(stat(ns_root, &st) != 0, "the namespace directory was removed");
	diag("%.1f s", now() - t0);
	return done_testing();
}
