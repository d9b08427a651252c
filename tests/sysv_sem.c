// SPDX-License-Identifier: MIT
/*
 * System V semaphore sets (include/kipc/sem.h) in a private namespace
 * ($KIPC_NAMESPACE = /dev/shm/kipc-test-sysv-PID, removed at the end),
 * checked against semget(2), semop(2), semctl(2) and, wherever the same
 * input can be given to both, against the kernel's own calls on this
 * machine (kernel sets are made with IPC_PRIVATE, or under a fresh key
 * with IPC_CREAT|IPC_EXCL where a key is the point, and removed):
 *
 *   - semget: sizes, keys, IPC_CREAT|IPC_EXCL, nsems of an existing set;
 *   - semop arrays applied all or nothing (a table, then random arrays
 *     against the kernel), IPC_NOWAIT, SEMVMX/ERANGE, the error order
 *     (EINVAL, E2BIG, EFBIG), semtimedop's relative timeout (EAGAIN);
 *   - every semctl command, GETPID as the last operator, sem_otime and
 *     sem_ctime, GETNCNT/GETZCNT while processes wait;
 *   - many processes blocking and waking; EINTR with and without
 *     SA_RESTART; IPC_RMID waking waiters with EIDRM;
 *   - SEM_UNDO applied at a normal exit and at kill -9 (also while the
 *     process is an unreaped zombie), a waiter blocked on the value woken,
 *     SETVAL clearing adjustments, clamping, fork not inheriting them;
 *   - processes dying at chosen points of semop: at a write made to fault
 *     (a read-only page of the set's mapping), at the wake-up call (a
 *     seccomp filter), after N instructions (ptrace single-stepping, N
 *     sampled over the whole call); and kill -9 at random times of
 *     processes using a set as a mutex with SEM_UNDO;
 *   - another user's access (root only), rights checked at every call.
 *
 * Every semop that may sleep in kipc runs in a child: a sleeping kipc
 * semop starts the library's watchdog thread, and this process forks.
 * Children leave with _exit().
 */
#include <kipc/sem.h>

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
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc/object.h"
#include "tap.h"
#include "testutil.h"

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

#define KEY(n)		((key_t)(0x6b730000 + (n)))
#define FOREIGN_ID	2100000002
#define NRES		96
#define NKIDS		24
#define NOT_RUN		(-999999L)
#define NW		IPC_NOWAIT
#define NKILLED		512

/* As POSIX requires, the caller defines it. */
union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

struct shared {
	int go;
	int ready[NKIDS];
	long r[NRES];
	long kr[NRES];
	/* kill torture */
	int stop;
	int owner;
	int violations;
	int errors;
	long entries;
	int killed[NKILLED];
	int nkilled;
};

static struct shared *sh;
static char ns_root[256];
static bool as_root;
static uid_t nobody_uid = 65534;
static gid_t nobody_gid = 65534;
static pid_t main_pid;
static uint64_t rng_state;

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

static int kern_ids[128];
static int nkern;

static void kern_track(int id)
{
	if (id >= 0 && nkern < (int)(sizeof(kern_ids) / sizeof(kern_ids[0])))
		kern_ids[nkern++] = id;
}

static int kern_semget(int nsems, int flags)
{
	int id = semget(IPC_PRIVATE, nsems, flags);

	kern_track(id);
	return id;
}

static int kern_semget_key(key_t *key, int nsems, int mode)
{
	for (int i = 0; i < 1000; i++) {
		key_t k = (key_t)(0x4c000000 | (rnd() & 0xffffff));
		int id = semget(k, nsems, IPC_CREAT | IPC_EXCL | mode);

		if (id >= 0) {
			kern_track(id);
			*key = k;
			return id;
		}
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

static int kern_rm(int id)
{
	for (int i = 0; i < nkern; i++)
		if (kern_ids[i] == id) {
			kern_ids[i] = kern_ids[--nkern];
			break;
		}
	return semctl(id, 0, IPC_RMID);
}

static void kern_cleanup(void)
{
	for (int i = 0; i < nkern; i++)
		semctl(kern_ids[i], 0, IPC_RMID);
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

static const char *impl(bool kern)
{
	return kern ? "kernel" : "kipc";
}

static int s_get(bool kern, int nsems, int flags)
{
	return kern ? kern_semget(nsems, flags) : kipc_semget(IPC_PRIVATE, nsems, flags);
}

static int s_op(bool kern, int id, struct sembuf *sops, size_t n)
{
	return kern ? semop(id, sops, n) : kipc_semop(id, sops, n);
}

static int s_top(bool kern, int id, struct sembuf *sops, size_t n, const struct timespec *ts)
{
	return kern ? semtimedop(id, sops, n, ts) : kipc_semtimedop(id, sops, n, ts);
}

static int s_ctl(bool kern, int id, int num, int cmd, union semun arg)
{
	return kern ? semctl(id, num, cmd, arg) : kipc_semctl(id, num, cmd, arg);
}

static int s_rm(bool kern, int id)
{
	return kern ? kern_rm(id) : kipc_semctl(id, 0, IPC_RMID);
}

static long s_getval(bool kern, int id, int num)
{
	union semun a = { 0 };

	return RES(s_ctl(kern, id, num, GETVAL, a));
}

static long s_setval(bool kern, int id, int num, int v)
{
	union semun a = { .val = v };

	return RES(s_ctl(kern, id, num, SETVAL, a));
}

static long s_setall(bool kern, int id, unsigned short *v)
{
	union semun a = { .array = v };

	return RES(s_ctl(kern, id, 0, SETALL, a));
}

static long s_getall(bool kern, int id, unsigned short *v)
{
	union semun a = { .array = v };

	return RES(s_ctl(kern, id, 0, GETALL, a));
}

static long s_count(bool kern, int id, int num, int cmd)
{
	union semun a = { 0 };

	return RES(s_ctl(kern, id, num, cmd, a));
}

static long s_stat(bool kern, int id, struct semid_ds *ds)
{
	union semun a = { .buf = ds };

	return RES(s_ctl(kern, id, 0, IPC_STAT, a));
}

/* One operation. */
static long op1(bool kern, int id, unsigned short num, short op, short flg)
{
	struct sembuf b = { num, op, flg };

	return RES(s_op(kern, id, &b, 1));
}

/* Polls a count (GETNCNT/GETZCNT) until it is want, up to secs; its last value. */
static long wait_count(bool kern, int id, int num, int cmd, long want, double secs)
{
	double end = now() + secs;
	long v;

	while ((v = s_count(kern, id, num, cmd)) != want && now() < end)
		sleep_ms(2);
	return v;
}

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

static time_t next_second(void)
{
	time_t t = wall();

	while (wall() == t)
		sleep_ms(5);
	return wall();
}

static void vals_str(char *buf, size_t len, const unsigned short *v, int n)
{
	buf[0] = '\0';
	for (int i = 0; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%u", i ? "," : "", v[i]);
}

/* ------------------------------------------------------------------------ */
/* semget                                                                   */
/* ------------------------------------------------------------------------ */

static void test_semget(void)
{
	struct semid_ds ds;
	unsigned short v[KIPC_SEMMSL];
	int a, k, kk;
	key_t kkey = 0;
	bool zero = true;

	a = kipc_semget(IPC_PRIVATE, KIPC_SEMMSL, 0600);
	ok(a >= 0, "semget(IPC_PRIVATE, KIPC_SEMMSL): a set (%d)", a);
	ok(s_getall(false, a, v) == 0, "GETALL of it");
	for (int i = 0; i < KIPC_SEMMSL; i++)
		if (v[i])
			zero = false;
	ok(zero, "a new set's values are all 0");
	ok(s_stat(false, a, &ds) == 0 && ds.sem_nsems == KIPC_SEMMSL, "sem_nsems: %d",
	   KIPC_SEMMSL);
	kipc_semctl(a, 0, IPC_RMID);

	{
		static const struct { int nsems; const char *what; } bad[] = {
			{ 0, "0" }, { -1, "-1" }, { INT_MIN, "INT_MIN" }, { 32001, "32001" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			long r = RES(kipc_semget(IPC_PRIVATE, bad[i].nsems, 0600));
			long kr = RES(kern_semget(bad[i].nsems, 0600));

			if (kr >= 0)
				kern_rm((int)kr);
			ok(r == -EINVAL && kr == -EINVAL,
			   "semget(IPC_PRIVATE, nsems %s): EINVAL (kipc %ld, kernel %ld)",
			   bad[i].what, r, kr);
		}
	}
	is(RES(kipc_semget(IPC_PRIVATE, KIPC_SEMMSL + 1, 0600)), -EINVAL,
	   "semget of KIPC_SEMMSL + 1 semaphores: EINVAL (documented limit)");

	is(RES(kipc_semget(KEY(1), 3, 0600)), -ENOENT, "semget of a missing key: ENOENT");
	is(RES(kipc_semget(KEY(1), 0, IPC_CREAT | 0600)), -EINVAL,
	   "semget(missing key, nsems 0, IPC_CREAT): EINVAL");
	k = kipc_semget(KEY(1), 3, IPC_CREAT | 0640);
	ok(k >= 0, "semget(key, 3, IPC_CREAT) makes a set");
	is(RES(kipc_semget(KEY(1), 3, IPC_CREAT | 0600)), k, "again: the same id");
	is(RES(kipc_semget(KEY(1), 0, 0)), k, "semget(key, 0, 0) of an existing set: its id");
	is(RES(kipc_semget(KEY(1), 2, 0)), k, "semget(key, 2): fewer than it has: its id");
	is(RES(kipc_semget(KEY(1), 4, 0)), -EINVAL, "semget(key, 4) of a 3-set: EINVAL");
	is(RES(kipc_semget(KEY(1), 3, IPC_CREAT | IPC_EXCL | 0600)), -EEXIST,
	   "IPC_CREAT|IPC_EXCL of an existing key: EEXIST");
	ok(s_stat(false, k, &ds) == 0 && ds.sem_perm.__key == KEY(1) && ds.sem_perm.mode == 0640,
	   "IPC_STAT: the key and mode 0640 (0%o)", (unsigned)ds.sem_perm.mode);
	kipc_semctl(k, 0, IPC_RMID);
	is(RES(kipc_semget(KEY(1), 0, 0)), -ENOENT, "after IPC_RMID the key is free: ENOENT");

	kk = kern_semget_key(&kkey, 3, 0600);
	ok(kk >= 0, "kernel: a set under a fresh key");
	if (kk >= 0) {
		is(RES(semget(kkey, 4, 0)), -EINVAL, "kernel: semget(key, 4) of a 3-set: EINVAL");
		is(RES(semget(kkey, 0, 0)), kk, "kernel: semget(key, 0): its id");
		is(RES(semget(kkey, 3, IPC_CREAT | IPC_EXCL | 0600)), -EEXIST,
		   "kernel: IPC_CREAT|IPC_EXCL: EEXIST");
		kern_rm(kk);
	}
}

/* ------------------------------------------------------------------------ */
/* semop: all or nothing, against the kernel                                 */
/* ------------------------------------------------------------------------ */

struct sop_case {
	const char *what;
	unsigned short init[3];
	int nsops;
	struct sembuf ops[4];
	int want;			/* 0 or -errno */
	unsigned short after[3];	/* when want is 0 */
};

static const struct sop_case sop_cases[] = {
	{ "a decrement below zero", { 0, 0, 0 }, 1, { { 0, -1, NW } }, -EAGAIN, { 0 } },
	{ "an increment", { 0, 0, 0 }, 1, { { 0, 2, NW } }, 0, { 2, 0, 0 } },
	{ "wait-for-zero on 0", { 0, 5, 0 }, 1, { { 0, 0, NW } }, 0, { 0, 5, 0 } },
	{ "wait-for-zero on 1", { 1, 0, 0 }, 1, { { 0, 0, NW } }, -EAGAIN, { 0 } },
	{ "a decrement to zero", { 3, 0, 0 }, 1, { { 0, -3, NW } }, 0, { 0, 0, 0 } },
	{ "two decrements, the second blocks: the first is not applied", { 1, 0, 0 }, 2,
	  { { 0, -1, NW }, { 1, -1, NW } }, -EAGAIN, { 0 } },
	{ "an increment, then a blocking decrement: neither", { 0, 2, 0 }, 2,
	  { { 0, 5, NW }, { 1, -3, NW } }, -EAGAIN, { 0 } },
	{ "three operations that all go", { 1, 1, 0 }, 3,
	  { { 0, -1, NW }, { 1, 1, NW }, { 2, 0, NW } }, 0, { 0, 2, 0 } },
	{ "three operations, the last blocks (wait-for-zero)", { 1, 1, 1 }, 3,
	  { { 0, -1, NW }, { 1, 1, NW }, { 2, 0, NW } }, -EAGAIN, { 0 } },
	{ "+1 then -1 on one semaphore at 0", { 0, 0, 0 }, 2, { { 0, 1, NW }, { 0, -1, NW } }, 0,
	  { 0, 0, 0 } },
	{ "-1 then +1 on one semaphore at 0", { 0, 0, 0 }, 2, { { 0, -1, NW }, { 0, 1, NW } },
	  -EAGAIN, { 0 } },
	{ "wait-for-zero then +1 (semop(2)'s example)", { 0, 0, 0 }, 2,
	  { { 0, 0, NW }, { 0, 1, NW } }, 0, { 1, 0, 0 } },
	{ "+1 then wait-for-zero on it", { 0, 0, 0 }, 2, { { 0, 1, NW }, { 0, 0, NW } }, -EAGAIN,
	  { 0 } },
	{ "+2, -1, -1 on one semaphore", { 0, 0, 0 }, 3,
	  { { 1, 2, NW }, { 1, -1, NW }, { 1, -1, NW } }, 0, { 0, 0, 0 } },
	{ "up to SEMVMX exactly", { 32766, 0, 0 }, 1, { { 0, 1, NW } }, 0, { 32767, 0, 0 } },
	{ "past SEMVMX: ERANGE", { 32767, 0, 0 }, 1, { { 0, 1, NW } }, -ERANGE, { 0 } },
	{ "+32767 on 1: ERANGE", { 1, 0, 0 }, 1, { { 0, 32767, NW } }, -ERANGE, { 0 } },
	{ "ERANGE in the second operation: the first not applied", { 0, 32000, 0 }, 2,
	  { { 0, 1, NW }, { 1, 1000, NW } }, -ERANGE, { 0 } },
	{ "a blocking operation before an out-of-range one: EAGAIN", { 0, 32767, 0 }, 2,
	  { { 0, -1, NW }, { 1, 1, NW } }, -EAGAIN, { 0 } },
	{ "an out-of-range operation before a blocking one: ERANGE", { 0, 32767, 0 }, 2,
	  { { 1, 1, NW }, { 0, -1, NW } }, -ERANGE, { 0 } },
	{ "+32767 then -1 on one semaphore at 1: ERANGE", { 1, 0, 0 }, 2,
	  { { 0, 32767, NW }, { 0, -1, NW } }, -ERANGE, { 0 } },
	{ "sem_op -32768 on 5", { 5, 0, 0 }, 1, { { 0, -32768, NW } }, -EAGAIN, { 0 } },
	{ "a decrement with SEM_UNDO", { 4, 0, 0 }, 1, { { 0, -4, NW | SEM_UNDO } }, 0,
	  { 0, 0, 0 } },
	{ "SEM_UNDO, then a blocking operation: neither", { 4, 0, 0 }, 2,
	  { { 0, -4, NW | SEM_UNDO }, { 2, -1, NW } }, -EAGAIN, { 0 } },
	{ "four semaphores' worth on three", { 2, 2, 2 }, 4,
	  { { 2, -2, NW }, { 0, 1, NW }, { 2, 0, NW }, { 1, -2, NW } }, 0, { 3, 0, 0 } },
};

static void test_semop_table(void)
{
	int s = kipc_semget(IPC_PRIVATE, 3, 0600), ks = kern_semget(3, 0600);

	ok(s >= 0 && ks >= 0, "semop table: a kipc and a kernel set of 3");
	for (size_t i = 0; i < sizeof(sop_cases) / sizeof(sop_cases[0]); i++) {
		const struct sop_case *c = &sop_cases[i];
		unsigned short init[3], v[3] = { 9, 9, 9 }, kv[3] = { 9, 9, 9 };
		const unsigned short *want = c->want ? c->init : c->after;
		struct sembuf ops[4];
		char a[32], ka[32];
		long r, kr;

		memcpy(init, c->init, sizeof(init));
		s_setall(false, s, init);
		s_setall(true, ks, init);
		memcpy(ops, c->ops, sizeof(ops));
		r = RES(kipc_semop(s, ops, (size_t)c->nsops));
		memcpy(ops, c->ops, sizeof(ops));
		kr = RES(semop(ks, ops, (size_t)c->nsops));
		s_getall(false, s, v);
		s_getall(true, ks, kv);
		vals_str(a, sizeof(a), v, 3);
		vals_str(ka, sizeof(ka), kv, 3);
		ok(r == c->want && kr == c->want && !memcmp(v, want, sizeof(v)) &&
		   !memcmp(kv, want, sizeof(kv)),
		   "semop %s: %s, values %u,%u,%u (kipc %ld [%s], kernel %ld [%s])", c->what,
		   c->want ? strerror(-c->want) : "0", want[0], want[1], want[2], r, a, kr, ka);
	}
	kipc_semctl(s, 0, IPC_RMID);
	kern_rm(ks);
}

/* Errors, and their order, against the kernel. */
enum { ID_VALID, ID_MINUS1, ID_INTMIN, ID_REMOVED, ID_FOREIGN };

struct err_case {
	const char *what;
	int idk;
	size_t nsops;		/* (size_t)-1: KIPC_SEMOPM + 1 */
	unsigned short sem_num;
	bool null_sops;
	int tsec;		/* -2: no timeout (semop) */
	long tnsec;
	int want;
	bool kernel;
};

static const struct err_case err_cases[] = {
	{ "nsops 0", ID_VALID, 0, 0, false, -2, 0, -EINVAL, true },
	{ "nsops KIPC_SEMOPM + 1", ID_VALID, (size_t)-1, 0, false, -2, 0, -E2BIG, true },
	{ "nsops SIZE_MAX / 2", ID_VALID, SIZE_MAX / 2, 0, false, -2, 0, -E2BIG, true },
	{ "sem_num 3 of a 3-set", ID_VALID, 1, 3, false, -2, 0, -EFBIG, true },
	{ "sem_num 65535", ID_VALID, 1, 65535, false, -2, 0, -EFBIG, true },
	{ "NULL sops", ID_VALID, 1, 0, true, -2, 0, -EFAULT, true },
	{ "id -1", ID_MINUS1, 1, 0, false, -2, 0, -EINVAL, true },
	{ "id INT_MIN", ID_INTMIN, 1, 0, false, -2, 0, -EINVAL, true },
	{ "a removed id", ID_REMOVED, 1, 0, false, -2, 0, -EINVAL, true },
	{ "a never-made id", ID_FOREIGN, 1, 0, false, -2, 0, -EINVAL, false },
	{ "nsops 0 and id -1: EINVAL first", ID_MINUS1, 0, 0, false, -2, 0, -EINVAL, true },
	{ "nsops KIPC_SEMOPM + 1 and id -1: E2BIG first", ID_MINUS1, (size_t)-1, 0, false, -2, 0,
	  -E2BIG, true },
	{ "nsops KIPC_SEMOPM + 1 and a removed id: E2BIG first", ID_REMOVED, (size_t)-1, 0, false,
	  -2, 0, -E2BIG, true },
	{ "sem_num 3 and a removed id: EINVAL first", ID_REMOVED, 1, 3, false, -2, 0, -EINVAL,
	  true },
	{ "semtimedop tv_nsec 1000000000", ID_VALID, 1, 0, false, 0, 1000000000L, -EINVAL, true },
	{ "semtimedop tv_nsec -1", ID_VALID, 1, 0, false, 0, -1, -EINVAL, true },
	{ "semtimedop tv_sec -1", ID_VALID, 1, 0, false, -1, 0, -EINVAL, true },
	{ "semtimedop bad timeout, id -1", ID_MINUS1, 1, 0, false, 0, -1, -EINVAL, true },
	{ "semtimedop bad timeout, sem_num 3: EINVAL first", ID_VALID, 1, 3, false, 0, -1,
	  -EINVAL, true },
	{ "semtimedop of an operation that goes, bad timeout: EINVAL", ID_VALID, 1, 1, false, 0,
	  2000000000L, -EINVAL, true },
	{ "semtimedop, good timeout, sem_num 3: EFBIG", ID_VALID, 1, 3, false, 1, 0, -EFBIG,
	  true },
};

static long run_err(bool kern, const struct err_case *c, int valid, int removed)
{
	static struct sembuf ops[KIPC_SEMOPM + 8];
	struct timespec ts = { c->tsec, c->tnsec };
	size_t n = c->nsops == (size_t)-1 ? KIPC_SEMOPM + 1 : c->nsops;
	int id;

	switch (c->idk) {
	case ID_VALID: id = valid; break;
	case ID_MINUS1: id = -1; break;
	case ID_INTMIN: id = INT_MIN; break;
	case ID_REMOVED: id = removed; break;
	default: id = FOREIGN_ID; break;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		ops[i] = (struct sembuf){ (unsigned short)(i % 3), 1, NW };
	ops[0].sem_num = c->sem_num;
	/* sem_num 1 holds 0: a decrement would block; the default op +1 goes. */
	if (c->tsec == -2)
		return RES(s_op(kern, id, c->null_sops ? NULL : ops, n));
	return RES(s_top(kern, id, c->null_sops ? NULL : ops, n, &ts));
}

static void test_semop_errors(void)
{
	int s = kipc_semget(IPC_PRIVATE, 3, 0600), ks = kern_semget(3, 0600);
	int rs = kipc_semget(IPC_PRIVATE, 3, 0600), krs = kern_semget(3, 0600);
	static struct sembuf ops[KIPC_SEMOPM];
	unsigned short v[3], kv[3], zero[3] = { 0, 0, 0 };
	bool unchanged = true;

	kipc_semctl(rs, 0, IPC_RMID);
	kern_rm(krs);
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		long r = run_err(false, c, s, rs);

		if (c->kernel) {
			long kr = run_err(true, c, ks, krs);

			ok(r == c->want && kr == c->want, "semop %s: %s (kipc %ld, kernel %ld)",
			   c->what, strerror(-c->want), r, kr);
		} else {
			ok(r == c->want, "semop %s: %s (kipc %ld)", c->what, strerror(-c->want), r);
		}
		s_getall(false, s, v);
		if (memcmp(v, zero, sizeof(v)))
			unchanged = false;
	}
	ok(unchanged, "no failed semop changed a value");

	/* KIPC_SEMOPM operations in one call work. */
	for (int i = 0; i < KIPC_SEMOPM; i++)
		ops[i] = (struct sembuf){ (unsigned short)(i % 3), 1, NW };
	is(RES(kipc_semop(s, ops, KIPC_SEMOPM)), 0, "semop of KIPC_SEMOPM (%d) operations works",
	   KIPC_SEMOPM);
	is(RES(semop(ks, ops, KIPC_SEMOPM)), 0, "kernel: the same");
	s_getall(false, s, v);
	s_getall(true, ks, kv);
	ok(v[0] == 167 && v[1] == 167 && v[2] == 166 && !memcmp(v, kv, sizeof(v)),
	   "... every one applied: 167,167,166 (kipc %u,%u,%u)", v[0], v[1], v[2]);
	kipc_semctl(s, 0, IPC_RMID);
	kern_rm(ks);
}

/* Random IPC_NOWAIT arrays, the kernel as the model. */
static void test_semop_random(void)
{
	int s = kipc_semget(IPC_PRIVATE, 3, 0600), ks = kern_semget(3, 0600);
	int rounds = SLOW ? 1500 : 5000, bad = 0, nok = 0, nagain = 0, nrange = 0;

	ok(s >= 0 && ks >= 0, "random arrays: a kipc and a kernel set of 3");
	for (int round = 0; round < rounds && bad < 5; round++) {
		struct sembuf ops[5], kops[5];
		unsigned short v[3], kv[3];
		int n = 1 + (int)rnd_below(4);
		long r, kr;

		if (rnd_below(50) == 0) {
			unsigned short init[3];

			for (int i = 0; i < 3; i++)
				init[i] = (unsigned short)(rnd_below(4) == 0 ? 32760 + rnd_below(8)
									     : rnd_below(5));
			s_setall(false, s, init);
			s_setall(true, ks, init);
		}
		for (int i = 0; i < n; i++) {
			int op = (int)rnd_below(9) - 4;

			if (rnd_below(40) == 0)
				op = rnd_below(2) ? 32767 : -32767;
			ops[i] = (struct sembuf){ (unsigned short)rnd_below(3), (short)op, NW };
		}
		memcpy(kops, ops, sizeof(ops));
		r = RES(kipc_semop(s, ops, (size_t)n));
		kr = RES(semop(ks, kops, (size_t)n));
		s_getall(false, s, v);
		s_getall(true, ks, kv);
		if (r != kr || memcmp(v, kv, sizeof(v))) {
			char a[32], ka[32], desc[128] = "";

			for (int i = 0; i < n; i++)
				snprintf(desc + strlen(desc), sizeof(desc) - strlen(desc), "{%u,%d} ",
					 ops[i].sem_num, ops[i].sem_op);
			vals_str(a, sizeof(a), v, 3);
			vals_str(ka, sizeof(ka), kv, 3);
			diag("round %d: %s: kipc %ld [%s], kernel %ld [%s]", round, desc, r, a, kr,
			     ka);
			bad++;
			s_setall(false, s, kv);
		}
		nok += kr == 0;
		nagain += kr == -EAGAIN;
		nrange += kr == -ERANGE;
	}
	diag("random arrays: %d applied, %d EAGAIN, %d ERANGE", nok, nagain, nrange);
	is(bad, 0, "random IPC_NOWAIT arrays: kipc returns and leaves what the kernel does");
	kipc_semctl(s, 0, IPC_RMID);
	kern_rm(ks);
}

/* ------------------------------------------------------------------------ */
/* semctl                                                                    */
/* ------------------------------------------------------------------------ */

enum { C_GETVAL, C_SETVAL, C_GETALL, C_SETALL, C_GETPID, C_GETNCNT, C_GETZCNT, C_STAT, C_SET,
       C_RMID, C_BAD };

struct ctl_case {
	const char *what;
	int idk;
	int cmd;
	int semnum;
	int val;		/* SETVAL; SETALL: the value of semaphore 1 */
	bool null;
	int want;
};

static const struct ctl_case ctl_cases[] = {
	{ "GETVAL semnum 3 of a 3-set", ID_VALID, C_GETVAL, 3, 0, false, -EINVAL },
	{ "GETVAL semnum -1", ID_VALID, C_GETVAL, -1, 0, false, -EINVAL },
	{ "GETVAL id -1", ID_MINUS1, C_GETVAL, 0, 0, false, -EINVAL },
	{ "GETVAL removed id", ID_REMOVED, C_GETVAL, 0, 0, false, -EINVAL },
	{ "SETVAL 32768", ID_VALID, C_SETVAL, 0, 32768, false, -ERANGE },
	{ "SETVAL -1", ID_VALID, C_SETVAL, 0, -1, false, -ERANGE },
	{ "SETVAL semnum 3", ID_VALID, C_SETVAL, 3, 1, false, -EINVAL },
	{ "SETVAL 32768 on semnum 3: ERANGE first", ID_VALID, C_SETVAL, 3, 32768, false, -ERANGE },
	{ "SETVAL 32768 on a removed id: ERANGE first", ID_REMOVED, C_SETVAL, 0, 32768, false,
	  -ERANGE },
	{ "SETVAL -1 on id -1", ID_MINUS1, C_SETVAL, 0, -1, false, -EINVAL },
	{ "SETALL with a 32768", ID_VALID, C_SETALL, 0, 32768, false, -ERANGE },
	{ "SETALL NULL", ID_VALID, C_SETALL, 0, 0, true, -EFAULT },
	{ "GETALL NULL", ID_VALID, C_GETALL, 0, 0, true, -EFAULT },
	{ "GETPID semnum 3", ID_VALID, C_GETPID, 3, 0, false, -EINVAL },
	{ "GETNCNT semnum 3", ID_VALID, C_GETNCNT, 3, 0, false, -EINVAL },
	{ "GETZCNT semnum -1", ID_VALID, C_GETZCNT, -1, 0, false, -EINVAL },
	{ "IPC_STAT NULL", ID_VALID, C_STAT, 0, 0, true, -EFAULT },
	{ "IPC_SET NULL", ID_VALID, C_SET, 0, 0, true, -EFAULT },
	{ "IPC_STAT removed id", ID_REMOVED, C_STAT, 0, 0, false, -EINVAL },
	{ "IPC_SET removed id", ID_REMOVED, C_SET, 0, 0, false, -EINVAL },
	{ "IPC_RMID removed id", ID_REMOVED, C_RMID, 0, 0, false, -EINVAL },
	{ "IPC_RMID id INT_MIN", ID_INTMIN, C_RMID, 0, 0, false, -EINVAL },
	{ "a bad command", ID_VALID, C_BAD, 0, 0, false, -EINVAL },
};

static long run_ctl(bool kern, const struct ctl_case *c, int valid, int removed)
{
	static const int cmds[] = { GETVAL, SETVAL, GETALL, SETALL, GETPID, GETNCNT, GETZCNT,
				    IPC_STAT, IPC_SET, IPC_RMID, 1234 };
	unsigned short arr[3] = { 1, 2, 3 };
	struct semid_ds ds;
	union semun a = { 0 };
	int id;

	switch (c->idk) {
	case ID_VALID: id = valid; break;
	case ID_MINUS1: id = -1; break;
	case ID_INTMIN: id = INT_MIN; break;
	case ID_REMOVED: id = removed; break;
	default: id = FOREIGN_ID; break;
	}
	memset(&ds, 0, sizeof(ds));
	if (s_stat(kern, valid, &ds) == 0)
		ds.sem_perm.mode = 0600;
	switch (c->cmd) {
	case C_SETVAL: a.val = c->val; break;
	case C_GETALL: a.array = c->null ? NULL : arr; break;
	case C_SETALL: arr[1] = (unsigned short)c->val; a.array = c->null ? NULL : arr; break;
	case C_STAT: case C_SET: a.buf = c->null ? NULL : &ds; break;
	}
	return RES(s_ctl(kern, id, c->semnum, cmds[c->cmd], a));
}

static void test_semctl_errors(void)
{
	int s = kipc_semget(IPC_PRIVATE, 3, 0600), ks = kern_semget(3, 0600);
	int rs = kipc_semget(IPC_PRIVATE, 3, 0600), krs = kern_semget(3, 0600);
	unsigned short init[3] = { 4, 5, 6 }, v[3];
	bool unchanged = true;

	kipc_semctl(rs, 0, IPC_RMID);
	kern_rm(krs);
	s_setall(false, s, init);
	s_setall(true, ks, init);
	for (size_t i = 0; i < sizeof(ctl_cases) / sizeof(ctl_cases[0]); i++) {
		const struct ctl_case *c = &ctl_cases[i];
		long r = run_ctl(false, c, s, rs), kr = run_ctl(true, c, ks, krs);

		ok(r == c->want && kr == c->want, "semctl %s: %s (kipc %ld, kernel %ld)", c->what,
		   strerror(-c->want), r, kr);
		s_getall(false, s, v);
		if (memcmp(v, init, sizeof(v)))
			unchanged = false;
	}
	ok(unchanged, "no failed semctl changed a value (4,5,6)");
	kipc_semctl(s, 0, IPC_RMID);
	kern_rm(ks);
}

static void test_semctl_cmds(void)
{
	unsigned short v[3] = { 7, 0, 32767 }, g[3];
	struct semid_ds ds[2];
	time_t t0, t1, t2, t3;
	int s[2];
	pid_t pid;

	t0 = wall();
	s[0] = kipc_semget(IPC_PRIVATE, 3, 0640);
	s[1] = kern_semget(3, 0640);
	t1 = wall();
	for (int k = 0; k < 2; k++) {
		const char *w = impl(k);

		ok(s_stat(k, s[k], &ds[k]) == 0, "%s: IPC_STAT of a new set", w);
		ok(ds[k].sem_nsems == 3 && ds[k].sem_perm.mode == 0640 &&
		   ds[k].sem_perm.__key == IPC_PRIVATE, "%s: sem_nsems 3, mode 0640, key 0", w);
		ok(ds[k].sem_perm.uid == geteuid() && ds[k].sem_perm.cuid == geteuid() &&
		   ds[k].sem_perm.gid == getegid() && ds[k].sem_perm.cgid == getegid(),
		   "%s: sem_perm: uid, cuid, gid, cgid: the creator's", w);
		is(ds[k].sem_otime, 0, "%s: sem_otime 0: no semop yet", w);
		ok(in_window(ds[k].sem_ctime, t0, t1), "%s: sem_ctime: the creation", w);
		is(s_count(k, s[k], 0, GETPID), 0, "%s: GETPID of an untouched semaphore: 0", w);
		is(s_count(k, s[k], 1, GETNCNT) + s_count(k, s[k], 1, GETZCNT), 0,
		   "%s: GETNCNT and GETZCNT 0", w);
	}

	/* A later second: SETALL and SETVAL change sem_ctime, not sem_otime. */
	t2 = next_second();
	for (int k = 0; k < 2; k++) {
		const char *w = impl(k);

		is(s_setall(k, s[k], v), 0, "%s: SETALL 7,0,32767", w);
		ok(s_getall(k, s[k], g) == 0 && !memcmp(g, v, sizeof(g)), "%s: GETALL: 7,0,32767",
		   w);
		is(s_getval(k, s[k], 2), 32767, "%s: GETVAL 2: 32767", w);
		is(s_setval(k, s[k], 1, 3), 0, "%s: SETVAL 1 := 3", w);
		is(s_getval(k, s[k], 1), 3, "%s: GETVAL 1: 3", w);
		is(s_count(k, s[k], 1, GETPID), getpid(), "%s: GETPID after SETVAL: this process "
		   "(Linux)", w);
		is(s_count(k, s[k], 0, GETPID), getpid(), "%s: GETPID after SETALL: this process "
		   "(Linux since 4.6)", w);
	}
	t3 = wall();
	for (int k = 0; k < 2; k++) {
		const char *w = impl(k);

		s_stat(k, s[k], &ds[k]);
		ok(in_window(ds[k].sem_ctime, t2, t3), "%s: sem_ctime: the SETALL/SETVAL", w);
		is(ds[k].sem_otime, 0, "%s: sem_otime still 0", w);
	}

	/* A child operates: GETPID is the last operator, sem_otime moves. */
	t2 = wall();
	pid = fork_kid();
	if (pid == 0) {
		struct sembuf b[2] = { { 0, -2, NW }, { 1, 0, NW } };

		s_setval(false, s[0], 1, 0);
		s_setval(true, s[1], 1, 0);
		b[1].sem_op = 1;
		_exit(s_op(false, s[0], b, 2) || s_op(true, s[1], b, 2) ? 1 : 0);
	}
	ok(child_exited_ok(child_status(pid, 10.0)), "a child does semop {0,-2},{1,+1}");
	t3 = wall();
	for (int k = 0; k < 2; k++) {
		const char *w = impl(k);

		ok(s_getval(k, s[k], 0) == 5 && s_getval(k, s[k], 1) == 1,
		   "%s: values 5 and 1 after it", w);
		ok(s_count(k, s[k], 0, GETPID) == pid && s_count(k, s[k], 1, GETPID) == pid,
		   "%s: GETPID of both operated semaphores: the child", w);
		is(s_count(k, s[k], 2, GETPID), getpid(), "%s: GETPID of the third: still this "
		   "process (SETALL)", w);
		s_stat(k, s[k], &ds[k]);
		ok(in_window(ds[k].sem_otime, t2, t3), "%s: sem_otime: the semop (%lld in "
		   "[%lld, %lld])", w, (long long)ds[k].sem_otime, (long long)t2, (long long)t3);
	}
	/* A wait-for-zero operation counts as an operation too. */
	pid = fork_kid();
	if (pid == 0) {
		struct sembuf b = { 1, 0, NW };

		s_setval(false, s[0], 1, 0);
		s_setval(true, s[1], 1, 0);
		_exit(s_op(false, s[0], &b, 1) || s_op(true, s[1], &b, 1) ? 1 : 0);
	}
	ok(child_exited_ok(child_status(pid, 10.0)), "a child does a wait-for-zero that goes");
	for (int k = 0; k < 2; k++)
		is(s_count(k, s[k], 1, GETPID), pid, "%s: GETPID after a wait-for-zero: the child",
		   impl(k));

	/* IPC_SET */
	for (int k = 0; k < 2; k++) {
		const char *w = impl(k);
		union semun a = { .buf = &ds[k] };

		s_stat(k, s[k], &ds[k]);
		ds[k].sem_perm.mode = 0604;
		ds[k].sem_nsems = 99;	/* not settable */
		is(RES(s_ctl(k, s[k], 0, IPC_SET, a)), 0, "%s: IPC_SET mode 0604", w);
		memset(&ds[k], 0, sizeof(ds[k]));
		s_stat(k, s[k], &ds[k]);
		ok(ds[k].sem_perm.mode == 0604 && ds[k].sem_nsems == 3,
		   "%s: IPC_STAT: mode 0604, sem_nsems still 3", w);
		if (as_root) {
			ds[k].sem_perm.uid = nobody_uid;
			ds[k].sem_perm.gid = nobody_gid;
			is(RES(s_ctl(k, s[k], 0, IPC_SET, a)), 0, "%s: IPC_SET (root): owner nobody",
			   w);
			s_stat(k, s[k], &ds[k]);
			ok(ds[k].sem_perm.uid == nobody_uid && ds[k].sem_perm.gid == nobody_gid &&
			   ds[k].sem_perm.cuid == geteuid(),
			   "%s: uid and gid nobody's, cuid still the creator's", w);
		} else {
			ok(1, "# SKIP IPC_SET of the owner: not running as root");
			ok(1, "# SKIP IPC_SET of the owner: not running as root");
		}
		is(RES(s_rm(k, s[k])), 0, "%s: IPC_RMID", w);
		is(s_getval(k, s[k], 0), -EINVAL, "%s: GETVAL after IPC_RMID: EINVAL", w);
	}
}

/* ------------------------------------------------------------------------ */
/* Waiting: GETNCNT/GETZCNT, all or nothing while blocked, many waiters      */
/* ------------------------------------------------------------------------ */

static void test_wait_counts(bool kern)
{
	enum { ND = 5, NZ = 4 };
	const char *w = impl(kern);
	int s = s_get(kern, 3, 0600);
	pid_t pid[ND + NZ + 1];
	bool good = true;
	unsigned short init[3] = { 1, 2, 0 };

	s_setall(kern, s, init);
	reset_results();
	/* ND processes decrement semaphore 0 by 2; NZ wait for semaphore 1 to be 0. */
	for (int i = 0; i < ND + NZ; i++) {
		pid[i] = fork_kid();
		if (pid[i] == 0) {
			struct sembuf b = { (unsigned short)(i < ND ? 0 : 1),
					    (short)(i < ND ? -2 : 0), 0 };

			sh->r[i] = RES(s_op(kern, s, &b, 1));
			_exit(0);
		}
	}
	is(wait_count(kern, s, 0, GETNCNT, ND, 10.0), ND, "%s: GETNCNT: %d processes wait for "
	   "semaphore 0 (1) to reach 2", w, ND);
	is(wait_count(kern, s, 1, GETZCNT, NZ, 10.0), NZ, "%s: GETZCNT: %d wait for semaphore 1 "
	   "(2) to be 0", w, NZ);
	ok(s_count(kern, s, 0, GETZCNT) == 0 && s_count(kern, s, 1, GETNCNT) == 0 &&
	   s_count(kern, s, 2, GETNCNT) + s_count(kern, s, 2, GETZCNT) == 0,
	   "%s: the other counts are 0", w);

	/* An array blocked on its second operation applies nothing meanwhile. */
	pid[ND + NZ] = fork_kid();
	if (pid[ND + NZ] == 0) {
		struct sembuf b[2] = { { 2, 1, 0 }, { 0, -3, 0 } };

		sh->r[ND + NZ] = RES(s_op(kern, s, b, 2));
		_exit(0);
	}
	is(wait_count(kern, s, 0, GETNCNT, ND + 1, 10.0), ND + 1,
	   "%s: an array {2,+1},{0,-3} waits: GETNCNT of semaphore 0 is %d", w, ND + 1);
	is(s_getval(kern, s, 2), 0, "%s: ... and its first operation is not applied (semaphore 2 "
	   "still 0)", w);
	ok(child_asleep(pid[ND + NZ], 10.0), "%s: ... it sleeps", w);

	/* Release: 1 + 12 is exactly the five -2s and the -3. */
	{
		struct sembuf b = { 0, 12, 0 };

		is(RES(s_op(kern, s, &b, 1)), 0, "%s: semop {0,+12}: exactly enough for every "
		   "decrement", w);
	}
	for (int i = 0; i < ND; i++)
		if (!child_exited_ok(child_status(pid[i], 5.0)) || sh->r[i] != 0)
			good = false;
	ok(good && child_exited_ok(child_status(pid[ND + NZ], 5.0)) && sh->r[ND + NZ] == 0,
	   "%s: every decrementer and the array went through within 5 s", w);
	ok(s_getval(kern, s, 0) == 0 && s_getval(kern, s, 2) == 1,
	   "%s: semaphore 0 back to 0, semaphore 2 incremented by the array", w);
	is(s_count(kern, s, 0, GETNCNT), 0, "%s: GETNCNT 0 again", w);
	is(s_count(kern, s, 1, GETZCNT), NZ, "%s: the zero-waiters still wait", w);
	is(s_setval(kern, s, 1, 0), 0, "%s: SETVAL 1 := 0", w);
	good = true;
	for (int i = ND; i < ND + NZ; i++)
		if (!child_exited_ok(child_status(pid[i], 5.0)) || sh->r[i] != 0)
			good = false;
	ok(good, "%s: ... wakes every zero-waiter within 5 s", w);
	is(s_count(kern, s, 1, GETZCNT), 0, "%s: GETZCNT 0 again", w);
	s_rm(kern, s);
}

/*
 * GETZCNT and GETNCNT stay exact while the waiters sleep on, whatever else
 * happens to the set (here: operations on another semaphore).
 */
static void test_counts_exact(bool kern)
{
	enum { N = 3 };
	const char *w = impl(kern);
	int s = s_get(kern, 3, 0600);
	long minz = N, minn = N, maxz = 0, maxn = 0;
	pid_t pid[2 * N];
	double end;

	s_setval(kern, s, 1, 1);
	for (int i = 0; i < 2 * N; i++) {
		pid[i] = fork_kid();
		if (pid[i] == 0) {
			if (i < N)
				op1(kern, s, 1, 0, 0);
			else
				op1(kern, s, 2, -1, 0);
			_exit(0);
		}
	}
	ok(wait_count(kern, s, 1, GETZCNT, N, 10.0) == N &&
	   wait_count(kern, s, 2, GETNCNT, N, 10.0) == N,
	   "%s: %d processes wait for zero on semaphore 1, %d to decrement semaphore 2", w, N, N);
	end = now() + 0.2;
	while (now() < end) {
		long z, n;

		op1(kern, s, 0, 1, NW);
		op1(kern, s, 0, -1, NW);
		z = s_count(kern, s, 1, GETZCNT);
		n = s_count(kern, s, 2, GETNCNT);
		minz = z < minz ? z : minz;
		maxz = z > maxz ? z : maxz;
		minn = n < minn ? n : minn;
		maxn = n > maxn ? n : maxn;
	}
	ok(minz == N && maxz == N && minn == N && maxn == N,
	   "%s: while semaphore 0 goes up and down for 0.2 s, GETZCNT and GETNCNT stay %d "
	   "(GETZCNT %ld..%ld, GETNCNT %ld..%ld)", w, N, minz, maxz, minn, maxn);
	s_rm(kern, s);
	for (int i = 0; i < 2 * N; i++)
		child_status(pid[i], 5.0);
}

/* A killed waiter stops counting. */
static void test_count_killed(bool kern)
{
	const char *w = impl(kern);
	int s = s_get(kern, 1, 0600);
	pid_t pid;

	pid = fork_kid();
	if (pid == 0) {
		op1(kern, s, 0, -1, 0);
		_exit(0);
	}
	is(wait_count(kern, s, 0, GETNCNT, 1, 10.0), 1, "%s: a waiter counts in GETNCNT", w);
	kill(pid, SIGKILL);
	child_status(pid, 5.0);
	is(wait_count(kern, s, 0, GETNCNT, 0, 5.0), 0, "%s: killed, it no longer counts", w);
	is(RES(op1(kern, s, 0, 1, NW)), 0, "%s: +1 afterwards", w);
	is(s_getval(kern, s, 0), 1, "%s: ... is not taken by the dead waiter", w);
	s_rm(kern, s);
}

/* The blocking op, not only the first, decides IPC_NOWAIT; timeouts. */
static void test_nowait_timeout(bool kern)
{
	const char *w = impl(kern);
	int s = s_get(kern, 2, 0600);
	pid_t pid;

	reset_results();
	pid = fork_kid();
	if (pid == 0) {
		struct sembuf b[2] = { { 0, 1, NW }, { 1, -1, 0 } };
		struct timespec t100 = { 0, 100000000L }, t0 = { 0, 0 };
		double t;

		/* IPC_NOWAIT on the op that goes does not stop the other from waiting. */
		t = now();
		sh->r[0] = RES(s_top(kern, s, b, 2, &t100));
		sh->r[1] = (long)((now() - t) * 1000);
		b[1].sem_flg = NW;
		t = now();
		sh->r[2] = RES(s_top(kern, s, b, 2, NULL));
		sh->r[3] = (long)((now() - t) * 1000);
		b[1].sem_flg = 0;
		t = now();
		sh->r[4] = RES(s_top(kern, s, b, 2, &t0));
		sh->r[5] = (long)((now() - t) * 1000);
		sh->r[6] = s_getval(kern, s, 0);
		/* A timeout that is not reached: a post comes first. */
		__atomic_store_n(&sh->ready[0], 1, __ATOMIC_RELEASE);
		{
			struct timespec t10 = { 10, 0 };

			t = now();
			sh->r[7] = RES(s_top(kern, s, &b[1], 1, &t10));
			sh->r[8] = (long)((now() - t) * 1000);
		}
		_exit(0);
	}
	wait_flag(&sh->ready[0], 10.0);
	child_asleep(pid, 10.0);
	op1(kern, s, 1, 1, NW);
	ok(child_exited_ok(child_status(pid, 10.0)), "%s: timeouts: the child finished", w);
	ok(sh->r[0] == -EAGAIN && sh->r[1] >= 90 && sh->r[1] < 5000,
	   "%s: semtimedop 100 ms, the blocking op without IPC_NOWAIT: EAGAIN after the timeout "
	   "(%ld, %ld ms)", w, sh->r[0], sh->r[1]);
	ok(sh->r[2] == -EAGAIN && sh->r[3] < 1000,
	   "%s: IPC_NOWAIT on the blocking op: EAGAIN at once (%ld, %ld ms)", w, sh->r[2],
	   sh->r[3]);
	ok(sh->r[4] == -EAGAIN && sh->r[5] < 1000,
	   "%s: a zero timeout: EAGAIN at once (%ld, %ld ms)", w, sh->r[4], sh->r[5]);
	is(sh->r[6], 0, "%s: none of those applied the +1 before it", w);
	ok(sh->r[7] == 0 && sh->r[8] < 5000, "%s: semtimedop 10 s woken by a post: 0 (%ld, "
	   "%ld ms)", w, sh->r[7], sh->r[8]);
	s_rm(kern, s);
}

/* Many processes through one semaphore: a mutex, and a counting semaphore. */
static void test_many_procs(bool kern)
{
	enum { N = 6 };
	const char *w = impl(kern);
	int s = s_get(kern, 2, 0600), per = SLOW ? 150 : 600;
	long *counter = &sh->r[NRES - 1];
	pid_t pid[N];
	bool good = true;

	s_setval(kern, s, 0, 1);
	*counter = 0;
	sh->violations = 0;
	sh->owner = 0;
	for (int i = 0; i < N; i++) {
		pid[i] = fork_kid();
		if (pid[i] == 0) {
			for (int k = 0; k < per; k++) {
				struct sembuf down = { 0, -1, SEM_UNDO }, up = { 0, 1, SEM_UNDO };
				long c;

				if (s_op(kern, s, &down, 1))
					_exit(1);
				if (__atomic_exchange_n(&sh->owner, getpid(), __ATOMIC_ACQ_REL))
					__atomic_fetch_add(&sh->violations, 1, __ATOMIC_RELAXED);
				c = __atomic_load_n(counter, __ATOMIC_RELAXED);
				if (k % 16 == 0)
					sched_yield();
				__atomic_store_n(counter, c + 1, __ATOMIC_RELAXED);
				__atomic_store_n(&sh->owner, 0, __ATOMIC_RELEASE);
				if (s_op(kern, s, &up, 1))
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < N; i++)
		if (!child_exited_ok(child_status(pid[i], 15.0)))
			good = false;
	ok(good, "%s: %d processes take a semaphore as a mutex %d times each", w, N, per);
	ok(*counter == N * per && sh->violations == 0,
	   "%s: mutual exclusion held (count %ld of %d, %d overlaps)", w, *counter, N * per,
	   sh->violations);
	is(s_getval(kern, s, 0), 1, "%s: the value is 1 at the end", w);
	s_rm(kern, s);
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

static void test_eintr(bool kern, bool timed, int saflags)
{
	const char *w = impl(kern);
	int s = s_get(kern, 1, 0600);
	double end;
	pid_t pid;

	reset_results();
	pid = fork_kid();
	if (pid == 0) {
		struct sembuf b = { 0, -1, 0 };
		struct timespec t30 = { 30, 0 };

		handled = 0;
		set_handler(SIGUSR1, on_usr1, saflags);
		__atomic_store_n(&sh->ready[0], 1, __ATOMIC_RELEASE);
		sh->r[0] = RES(timed ? s_top(kern, s, &b, 1, &t30) : s_op(kern, s, &b, 1));
		sleep_ms(1);	/* TSan runs handlers late: at its next interceptor */
		sh->r[1] = handled;
		sh->r[2] = s_count(kern, s, 0, GETNCNT);
		_exit(0);
	}
	wait_flag(&sh->ready[0], 10.0);
	child_asleep(pid, 10.0);
	end = now() + 5.0;
	while (!child_ended_within(pid, 0.05) && now() < end)
		kill(pid, SIGUSR1);
	ok(child_exited_ok(child_status(pid, 1.0)) && sh->r[0] == -EINTR && sh->r[1] >= 1,
	   "%s: %s blocked, a handler with %s runs: EINTR (%ld, handler ran %ld times)", w,
	   timed ? "semtimedop" : "semop", saflags ? "SA_RESTART" : "no SA_RESTART", sh->r[0],
	   sh->r[1]);
	is(sh->r[2], 0, "%s: ... GETNCNT no longer counts it", w);
	is(s_getval(kern, s, 0), 0, "%s: ... and the value is unchanged", w);
	s_rm(kern, s);
}

static void test_eidrm(bool kern)
{
	enum { N = 5 };
	const char *w = impl(kern);
	int s = s_get(kern, 2, 0600);
	pid_t pid[N];
	bool all = true;

	s_setval(kern, s, 1, 1);
	reset_results();
	for (int i = 0; i < N; i++) {
		pid[i] = fork_kid();
		if (pid[i] == 0) {
			struct sembuf dec = { 0, -1, (short)(i == 1 ? SEM_UNDO : 0) };
			struct sembuf zero = { 1, 0, 0 };
			struct sembuf arr[2] = { { 1, -1, 0 }, { 0, -1, 0 } };
			struct timespec t30 = { 30, 0 };

			switch (i) {
			case 0: case 1: sh->r[i] = RES(s_op(kern, s, &dec, 1)); break;
			case 2: sh->r[i] = RES(s_op(kern, s, &zero, 1)); break;
			case 3: sh->r[i] = RES(s_top(kern, s, &dec, 1, &t30)); break;
			default: sh->r[i] = RES(s_op(kern, s, arr, 2)); break;
			}
			_exit(0);
		}
	}
	ok(wait_count(kern, s, 0, GETNCNT, 4, 10.0) == 4 &&
	   wait_count(kern, s, 1, GETZCNT, 1, 10.0) == 1,
	   "%s: decrement, SEM_UNDO, wait-for-zero, timed and array waiters all wait", w);
	is(RES(s_rm(kern, s)), 0, "%s: IPC_RMID", w);
	for (int i = 0; i < N; i++)
		if (!child_exited_ok(child_status(pid[i], 5.0)) || sh->r[i] != -EIDRM)
			all = false;
	ok(all, "%s: every waiter returned EIDRM within 5 s (%ld %ld %ld %ld %ld)", w, sh->r[0],
	   sh->r[1], sh->r[2], sh->r[3], sh->r[4]);
	is(op1(kern, s, 0, 1, NW), -EINVAL, "%s: semop after IPC_RMID: EINVAL", w);
}

/* ------------------------------------------------------------------------ */
/* SEM_UNDO                                                                  */
/* ------------------------------------------------------------------------ */

/* A child that runs ops then waits for sh->go (or is killed). */
static pid_t undo_kid(bool kern, int s, const struct sembuf *ops, int n, int slot)
{
	pid_t pid = fork_kid();

	if (pid == 0) {
		struct sembuf b[4];

		memcpy(b, ops, sizeof(struct sembuf) * (size_t)n);
		sh->r[slot] = RES(s_op(kern, s, b, (size_t)n));
		__atomic_store_n(&sh->ready[slot], 1, __ATOMIC_RELEASE);
		while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE))
			sleep_ms(1);
		_exit(0);
	}
	return pid;
}

static void test_undo_exit_kill(bool kern)
{
	const char *w = impl(kern);
	int s = s_get(kern, 2, 0600);
	struct sembuf dec = { 0, -1, SEM_UNDO }, two[2] = { { 0, -1, SEM_UNDO }, { 1, 3, SEM_UNDO } };
	pid_t pid;

	/* A normal exit. */
	s_setval(kern, s, 0, 3);
	reset_results();
	pid = undo_kid(kern, s, &dec, 1, 0);
	ok(wait_flag(&sh->ready[0], 10.0) && sh->r[0] == 0, "%s: a child takes 1 of 3 with "
	   "SEM_UNDO", w);
	is(s_getval(kern, s, 0), 2, "%s: 2 while it lives", w);
	sh->go = 1;
	ok(child_ended_within(pid, 10.0), "%s: it exits normally", w);
	is(s_getval(kern, s, 0), 3, "%s: its adjustment is applied: 3 (before it is reaped)", w);
	is(s_count(kern, s, 0, GETPID), pid, "%s: GETPID: the exited child (the undo's "
	   "operator)", w);
	child_status(pid, 5.0);
	is(s_getval(kern, s, 0), 3, "%s: still 3 once reaped", w);

	/* kill -9, an array over two semaphores. */
	s_setval(kern, s, 0, 2);
	s_setval(kern, s, 1, 2);
	reset_results();
	pid = undo_kid(kern, s, two, 2, 0);
	ok(wait_flag(&sh->ready[0], 10.0) && sh->r[0] == 0, "%s: a child does {0,-1},{1,+3} with "
	   "SEM_UNDO", w);
	sleep_ms(20);
	ok(s_getval(kern, s, 0) == 1 && s_getval(kern, s, 1) == 5,
	   "%s: 1 and 5 while it lives (a live process's undo is not applied)", w);
	kill(pid, SIGKILL);
	ok(child_ended_within(pid, 10.0), "%s: killed with -9", w);
	ok(s_getval(kern, s, 0) == 2 && s_getval(kern, s, 1) == 2,
	   "%s: both reverted to 2 (a zombie, not yet reaped) (%ld, %ld)", w,
	   s_getval(kern, s, 0), s_getval(kern, s, 1));
	child_status(pid, 5.0);
	ok(s_getval(kern, s, 0) == 2 && s_getval(kern, s, 1) == 2, "%s: still 2 and 2 once "
	   "reaped", w);

	/* Adjustments accumulate; the net is undone. */
	s_setval(kern, s, 0, 3);
	reset_results();
	pid = fork_kid();
	if (pid == 0) {
		long r = 0;

		for (int i = 0; i < 3; i++)
			r |= op1(kern, s, 0, 1, SEM_UNDO);
		r |= op1(kern, s, 0, -1, SEM_UNDO);
		sh->r[0] = r;
		sh->r[1] = s_getval(kern, s, 0);
		_exit(0);
	}
	child_status(pid, 10.0);
	ok(sh->r[0] == 0 && sh->r[1] == 5, "%s: a child: +1 +1 +1 -1 with SEM_UNDO: 5", w);
	is(s_getval(kern, s, 0), 3, "%s: after its exit: 3 again", w);
	s_rm(kern, s);
}

static void test_undo_rules(bool kern)
{
	const char *w = impl(kern);
	int s = s_get(kern, 1, 0600);
	struct sembuf dec = { 0, -1, SEM_UNDO }, inc2 = { 0, 2, SEM_UNDO };
	pid_t pid;

	/* SETVAL clears the adjustments. */
	s_setval(kern, s, 0, 5);
	reset_results();
	pid = undo_kid(kern, s, &dec, 1, 0);
	wait_flag(&sh->ready[0], 10.0);
	s_setval(kern, s, 0, 10);
	sh->go = 1;
	child_status(pid, 10.0);
	is(s_getval(kern, s, 0), 10, "%s: SETVAL while a child holds a -1 adjustment: after its "
	   "exit the value stays 10", w);

	/* SETALL too. */
	reset_results();
	pid = undo_kid(kern, s, &dec, 1, 0);
	wait_flag(&sh->ready[0], 10.0);
	{
		unsigned short v = 4;

		s_setall(kern, s, &v);
	}
	sh->go = 1;
	child_status(pid, 10.0);
	is(s_getval(kern, s, 0), 4, "%s: SETALL likewise: stays 4", w);

	/* Clamped at 0. */
	s_setval(kern, s, 0, 0);
	reset_results();
	pid = undo_kid(kern, s, &inc2, 1, 0);
	wait_flag(&sh->ready[0], 10.0);
	op1(kern, s, 0, -2, NW);
	sh->go = 1;
	child_status(pid, 10.0);
	is(s_getval(kern, s, 0), 0, "%s: +2 with SEM_UNDO, then -2 by another: the undo's -2 "
	   "clamps at 0", w);

	/* Clamped at SEMVMX. */
	s_setval(kern, s, 0, 10);
	reset_results();
	pid = undo_kid(kern, s, &dec, 1, 0);
	wait_flag(&sh->ready[0], 10.0);
	op1(kern, s, 0, (short)(32767 - 9), NW);
	sh->go = 1;
	child_status(pid, 10.0);
	is(s_getval(kern, s, 0), 32767, "%s: -1 with SEM_UNDO, then raised to SEMVMX by another: "
	   "the undo's +1 clamps at 32767", w);

	/* Not inherited by fork. */
	s_setval(kern, s, 0, 3);
	reset_results();
	pid = fork_kid();
	if (pid == 0) {
		pid_t g;

		sh->r[0] = op1(kern, s, 0, -1, SEM_UNDO);
		g = fork();
		if (g == 0)
			_exit(0);
		waitpid(g, NULL, 0);
		sh->r[1] = s_getval(kern, s, 0);
		_exit(0);
	}
	child_status(pid, 10.0);
	ok(sh->r[0] == 0 && sh->r[1] == 2, "%s: a child's grandchild exits: the child's "
	   "adjustment is not its to undo (%ld)", w, sh->r[1]);
	is(s_getval(kern, s, 0), 3, "%s: the child's own exit undoes it: 3", w);

	/* The adjustment's range. */
	s_setval(kern, s, 0, 32767);
	reset_results();
	pid = fork_kid();
	if (pid == 0) {
		sh->r[0] = op1(kern, s, 0, -32767, SEM_UNDO);
		sh->r[1] = op1(kern, s, 0, 32767, 0);
		sh->r[2] = op1(kern, s, 0, -1, SEM_UNDO | NW);
		sh->r[3] = s_getval(kern, s, 0);
		_exit(0);
	}
	child_status(pid, 10.0);
	ok(sh->r[0] == 0 && sh->r[1] == 0 && sh->r[2] == -ERANGE && sh->r[3] == 32767,
	   "%s: an adjustment past 32767: ERANGE, nothing applied (%ld %ld %ld %ld)", w,
	   sh->r[0], sh->r[1], sh->r[2], sh->r[3]);
	s_rm(kern, s);
}

/* A waiter blocked on a value held by a process that ends is woken. */
static void test_undo_wakes(bool kern, bool killed)
{
	const char *w = impl(kern);
	int s = s_get(kern, 1, 0600);
	struct sembuf dec = { 0, -1, SEM_UNDO };
	pid_t holder, waiter;
	double t0;
	int status;

	s_setval(kern, s, 0, 1);
	reset_results();
	holder = undo_kid(kern, s, &dec, 1, 0);
	wait_flag(&sh->ready[0], 10.0);
	waiter = fork_kid();
	if (waiter == 0) {
		sh->r[1] = op1(kern, s, 0, -1, 0);
		_exit(0);
	}
	ok(wait_count(kern, s, 0, GETNCNT, 1, 10.0) == 1 && child_asleep(waiter, 10.0),
	   "%s: a holder took the value 1 with SEM_UNDO; a waiter sleeps on it", w);
	t0 = now();
	if (killed)
		kill(holder, SIGKILL);
	else
		sh->go = 1;
	status = child_status(waiter, 5.0);
	t0 = now() - t0;
	ok(child_exited_ok(status) && sh->r[1] == 0,
	   "%s: the holder %s: the waiter gets the value within 5 s (%.2f s)", w,
	   killed ? "is killed with -9" : "exits", t0);
	child_status(holder, 5.0);
	is(s_getval(kern, s, 0), 0, "%s: value 0: the waiter has it", w);
	s_rm(kern, s);
}

/* ------------------------------------------------------------------------ */
/* Another user (root only)                                                  */
/* ------------------------------------------------------------------------ */

enum { P_GET0, P_GET400, P_GET200, P_GET600, P_DEC, P_ZERO, P_GETVAL, P_GETALL, P_STAT,
       P_SETVAL, P_SET, P_RMID, P_NOPS };

static const char *const perm_ops[P_NOPS] = {
	"semget(key, 0, 0)", "semget(key, 0, 0400)", "semget(key, 0, 0200)",
	"semget(key, 0, 0600)", "semop decrement", "semop wait-for-zero", "GETVAL", "GETALL",
	"IPC_STAT", "SETVAL", "IPC_SET", "IPC_RMID",
};

static const int perm_modes[] = { 0600, 0644, 0666 };
#define NMODES ((int)(sizeof(perm_modes) / sizeof(perm_modes[0])))

static long perm_op(bool kern, int op, key_t key, int id)
{
	unsigned short arr[2];
	struct semid_ds ds;
	union semun a = { 0 };
	long r;

	switch (op) {
	case P_GET0: r = RES(kern ? semget(key, 0, 0) : kipc_semget(key, 0, 0)); break;
	case P_GET400: r = RES(kern ? semget(key, 0, 0400) : kipc_semget(key, 0, 0400)); break;
	case P_GET200: r = RES(kern ? semget(key, 0, 0200) : kipc_semget(key, 0, 0200)); break;
	case P_GET600: r = RES(kern ? semget(key, 0, 0600) : kipc_semget(key, 0, 0600)); break;
	case P_DEC: r = op1(kern, id, 0, -1, NW); break;
	case P_ZERO: r = op1(kern, id, 1, 0, NW); break;
	case P_GETVAL: r = s_getval(kern, id, 0); break;
	case P_GETALL: r = s_getall(kern, id, arr); break;
	case P_STAT: r = s_stat(kern, id, &ds); break;
	case P_SETVAL: r = s_setval(kern, id, 0, 5); break;
	case P_SET:
		memset(&ds, 0, sizeof(ds));
		ds.sem_perm.uid = nobody_uid;
		ds.sem_perm.gid = nobody_gid;
		ds.sem_perm.mode = 0666;
		a.buf = &ds;
		r = RES(s_ctl(kern, id, 0, IPC_SET, a));
		break;
	default: r = RES(s_ctl(kern, id, 0, IPC_RMID, a)); break;
	}
	return r >= 0 ? 0 : r;
}

static void test_perms(void)
{
	key_t kkey[NMODES];
	int s[NMODES], ks[NMODES];
	pid_t pid;

	if (!as_root) {
		ok(1, "# SKIP permissions of another user: not running as root");
		return;
	}
	for (int i = 0; i < NMODES; i++) {
		s[i] = kipc_semget(KEY(20 + i), 2, IPC_CREAT | IPC_EXCL | perm_modes[i]);
		ks[i] = kern_semget_key(&kkey[i], 2, perm_modes[i]);
	}
	/* Values 3 and 0, set by another process: this one has none of them open. */
	pid = fork_kid();
	if (pid == 0) {
		unsigned short v[2] = { 3, 0 };

		for (int i = 0; i < NMODES; i++)
			if (s_setall(false, s[i], v) || s_setall(true, ks[i], v))
				_exit(1);
		_exit(0);
	}
	is(wait_child(pid), 0, "permissions: root's sets hold 3 and 0");
	reset_results();
	pid = fork_kid();
	if (pid == 0) {
		if (drop_to_nobody() < 0)
			_exit(100);
		for (int i = 0; i < NMODES; i++)
			for (int op = 0; op < P_NOPS; op++) {
				sh->r[i * P_NOPS + op] = perm_op(false, op, KEY(20 + i), s[i]);
				sh->kr[i * P_NOPS + op] = perm_op(true, op, kkey[i], ks[i]);
			}
		_exit(0);
	}
	is(wait_child(pid), 0, "permissions: a child running as nobody, on root's sets of modes "
	   "0600, 0644, 0666");
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
			   "nobody, root's 0%o set, %s: as the kernel, or EACCES without read and "
			   "write on the file (kipc %s, kernel %s)",
			   perm_modes[i], perm_ops[op], r ? strerror((int)-r) : "ok",
			   kr ? strerror((int)-kr) : "ok");
		}
	ok(sh->r[P_GET600] == -EACCES && sh->r[P_GET200] == -EACCES,
	   "nobody: semget with write bits of root's 0600 set: EACCES");
	ok(sh->r[P_SET] == -EPERM && sh->r[P_RMID] == -EPERM &&
	   sh->r[2 * P_NOPS + P_SET] == -EPERM && sh->r[2 * P_NOPS + P_RMID] == -EPERM,
	   "nobody: IPC_SET and IPC_RMID of root's sets (0600, 0666): EPERM");

	/* Rights are checked at each call: a process that drops them loses them. */
	reset_results();
	pid = fork_kid();
	if (pid == 0) {
		sh->r[0] = op1(false, s[0], 0, 1, NW);
		sh->kr[0] = op1(true, ks[0], 0, 1, NW);
		if (drop_to_nobody() < 0)
			_exit(100);
		sh->r[1] = op1(false, s[0], 0, -1, NW);
		sh->kr[1] = op1(true, ks[0], 0, -1, NW);
		sh->r[2] = s_getval(false, s[0], 0);
		sh->kr[2] = s_getval(true, ks[0], 0);
		_exit(0);
	}
	is(wait_child(pid), 0, "a root child uses root's 0600 sets, then becomes nobody");
	ok(sh->r[0] == 0 && sh->kr[0] == 0, "as root: semop works (kipc %ld, kernel %ld)",
	   sh->r[0], sh->kr[0]);
	/*
	 * The kernel checks rights at each call; kipc when a process first
	 * uses an id (docs/sysv.md): the set it mapped as root stays usable.
	 */
	ok(sh->kr[1] == -EACCES && sh->kr[2] == -EACCES && sh->r[1] == 0 && sh->r[2] >= 0,
	   "as nobody after: the kernel refuses, kipc keeps the rights of the first use "
	   "(kipc %ld, %ld; kernel %ld, %ld)", sh->r[1], sh->r[2], sh->kr[1], sh->kr[2]);
	for (int i = 0; i < NMODES; i++) {
		kipc_semctl(s[i], 0, IPC_RMID);
		kern_rm(ks[i]);
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
 * A process posts (+1, no SEM_UNDO) and dies before it wakes the sleeping
 * waiter: the waiter must still get the value.
 */
static void test_poster_dies_before_wake(void)
{
	int s = kipc_semget(IPC_PRIVATE, 1, 0600), status;
	pid_t waiter, poster;
	double t0;

	reset_results();
	waiter = fork_kid();
	if (waiter == 0) {
		sh->r[0] = op1(false, s, 0, -1, 0);
		_exit(0);
	}
	ok(wait_count(false, s, 0, GETNCNT, 1, 10.0) == 1 && child_asleep(waiter, 10.0),
	   "a waiter sleeps on a decrement");
	poster = fork_kid();
	if (poster == 0) {
		if (die_at_wake_all())
			_exit(7);
		op1(false, s, 0, 1, 0);
		_exit(0);
	}
	status = child_status(poster, 10.0);
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 7) {
		ok(1, "# SKIP no seccomp filters here: cannot kill a poster at its wake-up");
		ok(1, "# SKIP no seccomp filters here");
		kill(waiter, SIGKILL);
		child_status(waiter, 5.0);
		kipc_semctl(s, 0, IPC_RMID);
		return;
	}
	ok(status != -1 && WIFSIGNALED(status), "the poster died after its +1, at its wake-up "
	   "call");
	t0 = now();
	status = child_status(waiter, 5.0);
	t0 = now() - t0;
	ok(child_exited_ok(status) && sh->r[0] == 0,
	   "the sleeping waiter still gets the value within 5 s (%.2f s; value %ld, GETNCNT %ld)",
	   t0, s_getval(false, s, 0), s_count(false, s, 0, GETNCNT));
	kipc_semctl(s, 0, IPC_RMID);
}

/* This process's mapping of the whole object file sysv/<leaf>, or NULL. */
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

/*
 * In this process's mapping of set id (values k+1 for semaphore k, all
 * KIPC_SEMMSL of them): the address of semaphore k's value.
 */
static int32_t *value_addr(int id, int k)
{
	char leaf[64];
	size_t len, stride;
	char *base;
	const struct kipc__obj_hdr *h;

	snprintf(leaf, sizeof(leaf), "sem.%d", id);
	base = find_mapping(leaf, &len);
	if (!base)
		return NULL;
	h = (const struct kipc__obj_hdr *)base;
	for (size_t off = h->data_off; off + 4 <= len; off += 4)
		for (stride = 4; stride <= 16; stride += 4) {
			int32_t *p = (int32_t *)(base + off);

			if (off + stride * (KIPC_SEMMSL - 1) + 4 > len)
				continue;
			if (p[0] == 1 && p[stride / 4] == 2 &&
			    p[stride / 4 * (KIPC_SEMMSL - 1)] == KIPC_SEMMSL)
				return (int32_t *)((char *)p + stride * (size_t)k);
		}
	return NULL;
}

static bool protect_page_of(void *p)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);

	return mprotect((void *)((uintptr_t)p & ~(page - 1)), page, PROT_READ) == 0;
}

/*
 * Dies (as kill -9 would) in semop at its first write to semaphore 0's
 * value, running ops; the set holds k+1 in semaphore k.
 */
static void run_dying_semop(int s, struct sembuf *ops, int n, int other)
{
	int32_t *v0, *vo;
	int fd = open("/dev/null", O_WRONLY);

	dup2(fd, 2);
	set_handler(SIGSEGV, die_now, 0);
	set_handler(SIGBUS, die_now, 0);
	if (s_getval(false, s, 0) != 1)
		_exit(3);
	v0 = value_addr(s, 0);
	vo = value_addr(s, other);
	if (!v0 || !vo || *v0 != 1 || *vo != other + 1)
		_exit(4);
	if (((uintptr_t)v0 ^ (uintptr_t)vo) < (uintptr_t)sysconf(_SC_PAGESIZE))
		_exit(6);	/* on one page: nothing to learn */
	if (!protect_page_of(v0))
		_exit(4);
	kipc_semop(s, ops, (size_t)n);
	_exit(5);
}

static void test_deaths_inside(void)
{
	static unsigned short v[KIPC_SEMMSL];
	int s = kipc_semget(IPC_PRIVATE, KIPC_SEMMSL, 0600), status;
	pid_t pid;

	/* 1. After recording the SEM_UNDO adjustment, before storing the value. */
	for (int k = 0; k < KIPC_SEMMSL; k++)
		v[k] = (unsigned short)(k + 1);
	s_setall(false, s, v);
	pid = fork_kid();
	if (pid == 0) {
		struct sembuf b = { 0, -1, SEM_UNDO };

		run_dying_semop(s, &b, 1, 600);
	}
	status = child_status(pid, 10.0);
	if (status != -1 && WIFEXITED(status))
		diag("the child exited %d (3/4: no mapping found, 5: no fault, 6: one page)",
		     WEXITSTATUS(status));
	ok(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	   "a process died inside semop {0,-1,SEM_UNDO} (storing the value)");
	is(s_getval(false, s, 0), 1, "after it, semaphore 0 is 1 again: whether the -1 was "
	   "applied or not, its undo leaves the value as it was");

	/* 2. Between the values of an array (no SEM_UNDO). */
	s_setall(false, s, v);
	pid = fork_kid();
	if (pid == 0) {
		struct sembuf b[2] = { { 600, 1, 0 }, { 0, 1, 0 } };

		run_dying_semop(s, b, 2, 600);
	}
	status = child_status(pid, 10.0);
	ok(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	   "a process died inside semop {600,+1},{0,+1} (between the two values)");
	{
		long a = s_getval(false, s, 600), b = s_getval(false, s, 0);

		ok((a == 601 && b == 1) || (a == 602 && b == 2),
		   "after it the array is applied all or nothing (semaphore 600: %ld of 601, "
		   "semaphore 0: %ld of 1)", a, b);
	}
	ok(op1(false, s, 5, 1, NW) == 0 && s_getval(false, s, 5) == 7,
	   "the set works afterwards (not left locked)");
	kipc_semctl(s, 0, IPC_RMID);
}

/* ------------------------------------------------------------------------ */
/* kill -9 at instruction-precise points (ptrace), and at random times       */
/* ------------------------------------------------------------------------ */

/*
 * Runs pre(arg) (unless NULL), then fn(arg) in a traced child stopped just
 * before it: with kill_at < 0,
 * single-steps it to the end and returns the number of steps; else kills
 * it (SIGKILL) after kill_at steps and returns kill_at, or -2 if it ended
 * first.  -1 if tracing is not possible.
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

struct sweep_arg {
	int s, warm;
	struct sembuf ops[2];
	int n;
};

/* A first successful semop in the child: what a process does once is not swept. */
static void sweep_warm(void *p)
{
	struct sweep_arg *a = p;
	struct sembuf b = { 0, 0, NW };

	kipc_semop(a->warm, &b, 1);
}

static void sweep_op(void *p)
{
	struct sweep_arg *a = p;

	kipc_semop(a->s, a->ops, (size_t)a->n);
}

static void test_step_sweep(void)
{
	static const struct {
		const char *what;
		struct sembuf ops[2];
		int n;
		unsigned short init[2];
		int check;	/* 0: values as before; 1: both or neither applied */
		bool cold;	/* the process's first semop */
	} kinds[] = {
		{ "{0,-1,SEM_UNDO} on 1", { { 0, -1, SEM_UNDO }, { 0, 0, 0 } }, 1, { 1, 0 }, 0,
		  false },
		{ "{0,+1},{1,+1} (no SEM_UNDO)", { { 0, 1, 0 }, { 1, 1, 0 } }, 2, { 0, 0 }, 1, false },
		{ "{1,+2,SEM_UNDO},{0,-1,SEM_UNDO}", { { 1, 2, SEM_UNDO }, { 0, -1, SEM_UNDO } }, 2,
		  { 1, 0 }, 0, false },
		{ "{0,+1},{1,+1} as a process's first semop", { { 0, 1, 0 }, { 1, 1, 0 } }, 2, { 0, 0 },
		  1, true },
		{ "{0,-1,SEM_UNDO} as a process's first semop", { { 0, -1, SEM_UNDO }, { 0, 0, 0 } }, 1,
		  { 1, 0 }, 0, true },
	};
	int warm;

	if (UNDER_TSAN) {
		/* Single-stepping instrumented code: 25 times the steps, nothing more learnt. */
		ok(1, "# SKIP instruction-precise kills under ThreadSanitizer "
		   "(the other builds run them)");
		return;
	}
	warm = kipc_semget(IPC_PRIVATE, 1, 0600);

	for (size_t kd = 0; kd < sizeof(kinds) / sizeof(kinds[0]); kd++) {
		int samples = kinds[kd].cold ? (UNDER_ASAN ? 3 : 5) : (UNDER_ASAN ? 8 : 14);
		void (*pre)(void *) = kinds[kd].cold ? NULL : sweep_warm;
		struct sweep_arg a;
		char failed[160] = "";
		long total;
		int nfail = 0;

		a.warm = warm;
		a.n = kinds[kd].n;
		memcpy(a.ops, kinds[kd].ops, sizeof(a.ops));
		/* The length of the operation, in instructions. */
		a.s = kipc_semget(IPC_PRIVATE, 2, 0600);
		s_setall(false, a.s, (unsigned short *)kinds[kd].init);
		total = step_child(pre, sweep_op, &a, -1);
		kipc_semctl(a.s, 0, IPC_RMID);
		if (total < 0) {
			ok(1, "# SKIP no ptrace single-stepping here");
			continue;
		}
		for (int i = 0; i < samples; i++) {
			long at = (long)(((double)i + (double)rnd_below(1000) / 1000.0) * (double)total /
					 samples);
			unsigned short v[2] = { 99, 99 };
			bool good;

			/* This process opens it first: the child's cache has it, as in real use. */
			a.s = kipc_semget(IPC_PRIVATE, 2, 0600);
			s_setall(false, a.s, (unsigned short *)kinds[kd].init);
			step_child(pre, sweep_op, &a, at);
			s_getall(false, a.s, v);
			if (kinds[kd].check == 1)
				good = v[0] == v[1];
			else
				good = v[0] == kinds[kd].init[0] && v[1] == kinds[kd].init[1];
			good = good && op1(false, a.s, 1, 1, NW) == 0;
			if (!good) {
				nfail++;
				if (strlen(failed) < sizeof(failed) - 20)
					snprintf(failed + strlen(failed), sizeof(failed) - strlen(failed),
						 " @%ld:%u,%u", at, v[0], v[1]);
			}
			kipc_semctl(a.s, 0, IPC_RMID);
		}
		ok(nfail == 0, "semop %s killed at %d points of its %ld instructions: the set is "
		   "consistent after each (%s; failed %d:%s)", kinds[kd].what, samples, total,
		   kinds[kd].check ? "both or neither applied" : "the undo leaves the values as before",
		   nfail, nfail ? failed : " none");
	}
	kipc_semctl(warm, 0, IPC_RMID);
}

/* Processes using a set as a mutex (SEM_UNDO), killed at random times. */
static bool was_killed(int pid)
{
	int n = __atomic_load_n(&sh->nkilled, __ATOMIC_ACQUIRE);

	for (int i = 0; i < n && i < NKILLED; i++)
		if (sh->killed[i] == pid)
			return true;
	return false;
}

static void t_worker(int s)
{
	for (;;) {
		struct sembuf down = { 0, -1, SEM_UNDO }, up = { 0, 1, SEM_UNDO };
		int prev;

		if (kipc_semop(s, &down, 1)) {
			__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
			_exit(1);
		}
		prev = __atomic_exchange_n(&sh->owner, getpid(), __ATOMIC_ACQ_REL);
		if (prev && !was_killed(prev))
			__atomic_fetch_add(&sh->violations, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&sh->entries, 1, __ATOMIC_RELAXED);
		if (kipc_semctl(s, 0, GETVAL) != 0)
			__atomic_fetch_add(&sh->violations, 1, __ATOMIC_RELAXED);
		sleep_us(rnd_below(4) == 0 ? 200 : 0);
		__atomic_compare_exchange_n(&sh->owner, &(int){ getpid() }, 0, false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
		if (kipc_semop(s, &up, 1)) {
			__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
			_exit(1);
		}
		if (__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
			_exit(0);
	}
}

static void test_kill_torture(void)
{
	enum { N = 5 };
	int s = kipc_semget(IPC_PRIVATE, 1, 0600), kills = 0, unexpected = 0;
	double end = now() + (SLOW ? 1.0 : 1.5);
	pid_t pid[N];
	long v;

	s_setval(false, s, 0, 1);
	sh->stop = sh->owner = sh->violations = sh->errors = sh->nkilled = 0;
	sh->entries = 0;
	for (int i = 0; i < N; i++) {
		pid[i] = fork_kid();
		if (pid[i] == 0) {
			rng_state ^= (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
			t_worker(s);
		}
	}
	while (now() < end && sh->nkilled < NKILLED - N) {
		int i = (int)rnd_below(N), status;

		sleep_us(3000 + (long)rnd_below(20000));
		sh->killed[sh->nkilled] = pid[i];
		__atomic_store_n(&sh->nkilled, sh->nkilled + 1, __ATOMIC_RELEASE);
		kill(pid[i], SIGKILL);
		if (waitpid(pid[i], &status, 0) != pid[i] || !WIFSIGNALED(status))
			unexpected++;
		kills++;
		v = s_getval(false, s, 0);
		if (v < 0 || v > 1) {
			diag("after a kill: value %ld", v);
			__atomic_fetch_add(&sh->violations, 1, __ATOMIC_RELAXED);
		}
		pid[i] = fork_kid();
		if (pid[i] == 0) {
			rng_state ^= (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
			t_worker(s);
		}
	}
	/* The end: the survivors stop by themselves. */
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < N; i++)
		if (!child_exited_ok(child_status(pid[i], 10.0)))
			unexpected++;
	diag("kill torture: %d killed, %ld entries", kills, sh->entries);
	is(unexpected, 0, "kill torture: the survivors finished (no one stuck on the set)");
	is(sh->errors, 0, "kill torture: no semop failed");
	ok(sh->entries > 50, "kill torture: the mutex was taken (%ld times)", sh->entries);
	is(sh->violations, 0, "kill torture: never two holders at once, value always 0 or 1");
	is(s_getval(false, s, 0), 1, "kill torture: the value is 1 at the end (every dead "
	   "holder's undo applied once)");
	ok(op1(false, s, 0, -1, NW) == 0 && op1(false, s, 0, 1, NW) == 0,
	   "kill torture: the set works afterwards");
	kipc_semctl(s, 0, IPC_RMID);
}

/* ------------------------------------------------------------------------ */

static int count_set_files(void)
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
		if (!strncmp(de->d_name, "sem.", 4)) {
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

	test_semget();
	test_semop_table();
	test_semop_errors();
	test_semop_random();
	test_semctl_errors();
	test_semctl_cmds();
	for (int kern = 0; kern < 2; kern++) {
		test_wait_counts(kern);
		test_counts_exact(kern);
		test_count_killed(kern);
		test_nowait_timeout(kern);
		test_many_procs(kern);
	}
	for (int kern = 0; kern < 2; kern++)
		for (int timed = 0; timed < 2; timed++) {
			test_eintr(kern, timed, 0);
			test_eintr(kern, timed, SA_RESTART);
		}
	for (int kern = 0; kern < 2; kern++)
		test_eidrm(kern);
	for (int kern = 0; kern < 2; kern++) {
		test_undo_exit_kill(kern);
		test_undo_rules(kern);
		test_undo_wakes(kern, false);
		test_undo_wakes(kern, true);
	}
	test_perms();
	test_poster_dies_before_wake();
	test_deaths_inside();
	test_step_sweep();
	test_kill_torture();

	kern_cleanup();
	is(count_set_files(), 0, "at the end no set is left in the namespace");
	rm_tree(ns_root);
	ok(stat(ns_root, &st) != 0, "the namespace directory was removed");
	diag("%.1f s", now() - t0);
	return done_testing();
}
