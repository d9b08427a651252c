// SPDX-License-Identifier: MIT
/*
 * Source compatibility of System V message queues and semaphore sets: a
 * small program written against <sys/msg.h> and <sys/sem.h> (msgget,
 * msgsnd, msgrcv, msgctl, semget, semop, semtimedop, semctl, struct
 * sembuf, struct msqid_ds, struct semid_ds and its own union semun, as
 * POSIX requires) is compiled twice from the same text below: once as it
 * is, on the kernel's calls, and once after nothing but renaming defines
 *
 *     #define msgget kipc_msgget   (... and the other seven)
 *     #include <kipc/msg.h>
 *     #include <kipc/sem.h>
 *
 * on kipc's.  Each run happens in a child (private namespace
 * /dev/shm/kipc-test-sysv-PID for kipc, IPC_PRIVATE objects for the
 * kernel, all removed) and reports what it saw; each observation is a
 * test point: the value the man pages give, from both.
 */
#ifndef SYSV_COMPAT_PROGRAM

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "testutil.h"

#define MAXOBS 128

#if UNDER_TSAN
/* TSan sleeps a second at the exit of a process with more than one thread. */
const char *__tsan_default_options(void);
__attribute__((used)) const char *__tsan_default_options(void)
{
	return "atexit_sleep_ms=0";
}
#endif

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

/* What a run of the program saw, in shared memory. */
struct run {
	int n;
	bool finished;
	const char *label[MAXOBS];
	long got[MAXOBS];
	long want[MAXOBS];
	int ids[2];		/* its queue and set, for cleanup */
};

static struct run *cur;

static void say(const char *label, long got, long want)
{
	if (cur->n < MAXOBS) {
		cur->label[cur->n] = label;
		cur->got[cur->n] = got;
		cur->want[cur->n] = want;
		cur->n++;
	}
}

/* The program's own way of reporting (it would print or check). */
#define SAY(label, got, want)	say((label), (long)(got), (long)(want))
#define ERR(call)		((call) == -1 ? errno : 0)
#define NOTE_IDS(q, s)		(cur->ids[0] = (q), cur->ids[1] = (s))

/* 1. The program on the kernel's calls. */
#define SYSV_COMPAT_PROGRAM
#define PROGRAM program_kernel
#include "sysv_compat.c"
#undef PROGRAM

/* 2. The same program after nothing but renaming defines. */
#define msgget kipc_msgget
#define msgsnd kipc_msgsnd
#define msgrcv kipc_msgrcv
#define msgctl kipc_msgctl
#define semget kipc_semget
#define semop kipc_semop
#define semtimedop kipc_semtimedop
#define semctl kipc_semctl
#include <kipc/msg.h>
#include <kipc/sem.h>
#define PROGRAM program_kipc
#include "sysv_compat.c"
#undef PROGRAM

#undef msgget
#undef msgsnd
#undef msgrcv
#undef msgctl
#undef semget
#undef semop
#undef semtimedop
#undef semctl

static char ns_root[256];

static int count_objects(void)
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
		if (!strncmp(de->d_name, "msg.", 4) || !strncmp(de->d_name, "sem.", 4))
			n++;
	closedir(d);
	return n;
}

/* Runs a program in a child; true if it got to its end and exited 0. */
static bool run(void (*program)(void), struct run *r)
{
	pid_t pid;
	int status = -1;

	memset(r, 0, sizeof(*r));
	r->ids[0] = r->ids[1] = -1;
	cur = r;
	fflush(stdout);
	pid = fork_child();
	if (pid == 0) {
		program();
		r->finished = true;
		_exit(0);
	}
	if (pid > 0) {
		double end = now() + 20.0;

		while (waitpid(pid, &status, WNOHANG) == 0 && now() < end)
			sleep_ms(2);
		if (now() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			status = -1;
		}
	}
	return r->finished && status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(void)
{
	struct run *kr, *kp;
	struct stat st;
	bool kdone, pdone, emulated = detect_emulation();

	alarm(60);
	snprintf(ns_root, sizeof(ns_root), "/dev/shm/kipc-test-sysv-%d", (int)getpid());
	rm_tree(ns_root);
	setenv("KIPC_NAMESPACE", ns_root, 1);
	diag("namespace %s", ns_root);

	kr = mmap(NULL, 2 * sizeof(*kr), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (kr == MAP_FAILED) {
		ok(0, "mmap: %s", strerror(errno));
		return done_testing();
	}
	kp = kr + 1;

	kdone = run(program_kernel, kr);
	pdone = run(program_kipc, kp);
	ok(kdone, "the program ran to its end on the kernel's calls");
	ok(pdone, "the same program, renamed to kipc by defines alone, ran to its end");
	ok(kp->n == kr->n, "both runs made the same %d observations (kipc %d)", kr->n, kp->n);
	for (int i = 0; i < kr->n || i < kp->n; i++) {
		const char *label = i < kr->n ? kr->label[i] : kp->label[i];
		long want = i < kr->n ? kr->want[i] : kp->want[i];
		long kg = i < kr->n ? kr->got[i] : LONG_MIN, pg = i < kp->n ? kp->got[i] : LONG_MIN;

		if (emulated && strstr(label, "msg_lrpid") && kg != want)
			ok(pg == want, "%s: %ld (kipc %ld; the kernel's # SKIP: qemu-user's "
			   "msqid_ds conversion loses msg_lrpid)", label, want, pg);
		else
			ok(kg == want && pg == want, "%s: %ld (kipc %ld, kernel %ld)", label, want,
			   pg, kg);
	}
	/* Whatever a failed run left behind. */
	if (kr->ids[0] >= 0)
		msgctl(kr->ids[0], IPC_RMID, NULL);
	if (kr->ids[1] >= 0)
		semctl(kr->ids[1], 0, IPC_RMID);
	is(count_objects(), 0, "the kipc run left no queue or set in the namespace");
	rm_tree(ns_root);
	ok(stat(ns_root, &st) != 0, "the namespace directory was removed");
	return done_testing();
}

#else /* SYSV_COMPAT_PROGRAM: the program, as written for <sys/msg.h> and <sys/sem.h> */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void PROGRAM(void)
{
	/* semctl(2): "the calling program must define this union as follows". */
	union semun {
		int val;
		struct semid_ds *buf;
		unsigned short *array;
		struct seminfo *__buf;
	} arg;
	struct {
		long mtype;
		char mtext[8200];
	} msg;
	struct msqid_ds mds;
	struct semid_ds sds;
	struct sembuf ops[2];
	struct timespec timeout;
	unsigned short vals[3];
	int qid, sid, status, i;
	ssize_t n;
	pid_t pid;

	/* ---- A message queue ---- */
	qid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	sid = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
	NOTE_IDS(qid, sid);
	SAY("msgget(IPC_PRIVATE, IPC_CREAT | 0600) gives an id", qid >= 0, 1);
	SAY("msgctl(IPC_STAT) of the new queue", msgctl(qid, IPC_STAT, &mds), 0);
	SAY("a new queue's msg_qnum: 0", mds.msg_qnum, 0);
	SAY("a new queue's __msg_cbytes: 0", mds.__msg_cbytes, 0);

	msg.mtype = 2;
	strcpy(msg.mtext, "second");
	SAY("msgsnd of type 2", msgsnd(qid, &msg, strlen(msg.mtext) + 1, 0), 0);
	msg.mtype = 1;
	strcpy(msg.mtext, "first");
	SAY("msgsnd of type 1", msgsnd(qid, &msg, strlen(msg.mtext) + 1, 0), 0);
	msg.mtype = 3;
	strcpy(msg.mtext, "third, longer than sixteen");
	SAY("msgsnd of type 3, IPC_NOWAIT", msgsnd(qid, &msg, strlen(msg.mtext) + 1, IPC_NOWAIT),
	    0);

	SAY("msgctl(IPC_STAT)", msgctl(qid, IPC_STAT, &mds), 0);
	SAY("msg_qnum", mds.msg_qnum, 3);
	SAY("__msg_cbytes", mds.__msg_cbytes, 7 + 6 + 27);
	SAY("msg_qbytes (MSGMNB)", mds.msg_qbytes, 16384);
	SAY("msg_lspid is this process", mds.msg_lspid == getpid(), 1);
	SAY("msg_lrpid is 0", mds.msg_lrpid, 0);
	SAY("msg_perm.mode", mds.msg_perm.mode & 0777, 0600);
	SAY("msg_stime is set", mds.msg_stime != 0, 1);

	n = msgrcv(qid, &msg, sizeof(msg.mtext), -2, 0);
	SAY("msgrcv(msgtyp -2): the length", n, 6);
	SAY("msgrcv(msgtyp -2): the lowest type, 1", msg.mtype, 1);
	SAY("msgrcv(msgtyp -2): its text", strcmp(msg.mtext, "first") == 0, 1);
	SAY("msgrcv(msgtyp 3) into 16 bytes: E2BIG", ERR(msgrcv(qid, &msg, 16, 3, IPC_NOWAIT)),
	    E2BIG);
	n = msgrcv(qid, &msg, 16, 3, IPC_NOWAIT | MSG_NOERROR);
	SAY("msgrcv(msgtyp 3, MSG_NOERROR) into 16 bytes: 16", n, 16);
	SAY("... the start of the text", memcmp(msg.mtext, "third, longer th", 16) == 0, 1);
	SAY("msgrcv(msgtyp 3) again: ENOMSG", ERR(msgrcv(qid, &msg, 64, 3, IPC_NOWAIT)), ENOMSG);
	SAY("msgrcv(msgtyp 2, MSG_EXCEPT) with only a 2 left: ENOMSG",
	    ERR(msgrcv(qid, &msg, 64, 2, IPC_NOWAIT | MSG_EXCEPT)), ENOMSG);
	n = msgrcv(qid, &msg, sizeof(msg.mtext), 0, 0);
	SAY("msgrcv(msgtyp 0): the remaining message, 7 bytes", n, 7);
	SAY("... of type 2", msg.mtype, 2);
	SAY("msgrcv of an empty queue, IPC_NOWAIT: ENOMSG",
	    ERR(msgrcv(qid, &msg, 64, 0, IPC_NOWAIT)), ENOMSG);
	msgctl(qid, IPC_STAT, &mds);
	SAY("msg_lrpid is this process", mds.msg_lrpid == getpid(), 1);
	SAY("msg_qnum 0 again", mds.msg_qnum, 0);
	msg.mtype = 0;
	SAY("msgsnd of mtype 0: EINVAL", ERR(msgsnd(qid, &msg, 1, 0)), EINVAL);
	msg.mtype = 1;
	SAY("msgsnd of 8193 bytes: EINVAL", ERR(msgsnd(qid, &msg, 8193, 0)), EINVAL);

	mds.msg_qbytes = 32;
	mds.msg_perm.mode = 0640;
	SAY("msgctl(IPC_SET): msg_qbytes 32, mode 0640", msgctl(qid, IPC_SET, &mds), 0);
	SAY("msgsnd of 30 bytes", msgsnd(qid, &msg, 30, IPC_NOWAIT), 0);
	SAY("msgsnd of 3 more, IPC_NOWAIT: EAGAIN", ERR(msgsnd(qid, &msg, 3, IPC_NOWAIT)), EAGAIN);
	msgctl(qid, IPC_STAT, &mds);
	SAY("IPC_STAT: msg_qbytes 32", mds.msg_qbytes, 32);
	SAY("IPC_STAT: mode 0640", mds.msg_perm.mode & 0777, 0640);

	/* A child blocks in msgrcv until the parent sends. */
	pid = fork();
	if (pid == 0) {
		n = msgrcv(qid, &msg, sizeof(msg.mtext), 5, 0);
		_exit(n == 4 && msg.mtype == 5 && strcmp(msg.mtext, "hey") == 0 ? 0 : 1);
	}
	usleep(50000);
	msg.mtype = 5;
	strcpy(msg.mtext, "hey");
	msgrcv(qid, &msg, 64, 1, IPC_NOWAIT);	/* make room */
	msg.mtype = 5;
	strcpy(msg.mtext, "hey");
	SAY("msgsnd to a child waiting for type 5", msgsnd(qid, &msg, 4, 0), 0);
	SAY("the child got it", waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, 1);

	SAY("msgctl(IPC_RMID)", msgctl(qid, IPC_RMID, NULL), 0);
	SAY("msgsnd after IPC_RMID: EINVAL", ERR(msgsnd(qid, &msg, 1, IPC_NOWAIT)), EINVAL);

	/* ---- A semaphore set ---- */
	SAY("semget(IPC_PRIVATE, 3, IPC_CREAT | 0600) gives an id", sid >= 0, 1);
	vals[0] = 1;
	vals[1] = 0;
	vals[2] = 2;
	arg.array = vals;
	SAY("semctl(SETALL) 1, 0, 2", semctl(sid, 0, SETALL, arg), 0);
	SAY("semctl(GETVAL) of semaphore 2", semctl(sid, 2, GETVAL), 2);

	ops[0].sem_num = 0;
	ops[0].sem_op = -1;
	ops[0].sem_flg = SEM_UNDO;
	ops[1].sem_num = 1;
	ops[1].sem_op = 1;
	ops[1].sem_flg = 0;
	SAY("semop {0,-1,SEM_UNDO},{1,+1}", semop(sid, ops, 2), 0);
	arg.array = vals;
	semctl(sid, 0, GETALL, arg);
	SAY("semctl(GETALL): 0, 1, 2", vals[0] * 100 + vals[1] * 10 + vals[2], 12);
	SAY("semctl(GETPID) is this process", semctl(sid, 1, GETPID) == getpid(), 1);

	ops[0].sem_num = 2;
	ops[0].sem_op = -1;
	ops[0].sem_flg = 0;
	ops[1].sem_num = 0;
	ops[1].sem_op = -1;
	ops[1].sem_flg = IPC_NOWAIT;
	SAY("semop {2,-1},{0,-1,IPC_NOWAIT} on 2 and 0: EAGAIN", ERR(semop(sid, ops, 2)), EAGAIN);
	SAY("... and semaphore 2 is still 2", semctl(sid, 2, GETVAL), 2);
	/* A child waits to take 2 from semaphore 1 (now 1). */
	pid = fork();
	if (pid == 0) {
		struct sembuf take = { 1, -2, 0 };

		_exit(semop(sid, &take, 1) == 0 ? 0 : 1);
	}
	for (i = 0; i < 5000 && semctl(sid, 1, GETNCNT) != 1; i++)
		usleep(1000);
	SAY("semctl(GETNCNT) while a child waits: 1", semctl(sid, 1, GETNCNT), 1);
	SAY("semctl(GETZCNT): 0", semctl(sid, 1, GETZCNT), 0);
	ops[0].sem_num = 1;
	ops[0].sem_op = 1;
	ops[0].sem_flg = 0;
	SAY("semop {1,+1}", semop(sid, ops, 1), 0);
	SAY("the child got through", waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, 1);
	SAY("semaphore 1 is 0", semctl(sid, 1, GETVAL), 0);
	SAY("semctl(GETPID) of semaphore 1 is the child", semctl(sid, 1, GETPID) == pid, 1);

	/* SEM_UNDO: a child's adjustment is undone at its exit. */
	pid = fork();
	if (pid == 0) {
		struct sembuf take = { 2, -2, SEM_UNDO };

		_exit(semop(sid, &take, 1) == 0 && semctl(sid, 2, GETVAL) == 0 ? 0 : 1);
	}
	SAY("a child takes 2 from semaphore 2 with SEM_UNDO and exits",
	    waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, 1);
	SAY("semaphore 2 is 2 again", semctl(sid, 2, GETVAL), 2);

	ops[0].sem_num = 2;
	ops[0].sem_op = -3;
	ops[0].sem_flg = 0;
	timeout.tv_sec = 0;
	timeout.tv_nsec = 20000000;
	SAY("semtimedop {2,-3} for 20 ms: EAGAIN", ERR(semtimedop(sid, ops, 1, &timeout)), EAGAIN);
	ops[0].sem_op = 0;
	ops[0].sem_flg = IPC_NOWAIT;
	SAY("semop wait-for-zero on 2, IPC_NOWAIT: EAGAIN", ERR(semop(sid, ops, 1)), EAGAIN);
	ops[0].sem_num = 3;
	SAY("semop on semaphore 3 of 3: EFBIG", ERR(semop(sid, ops, 1)), EFBIG);
	SAY("semop of 0 operations: EINVAL", ERR(semop(sid, ops, 0)), EINVAL);

	arg.val = 5;
	SAY("semctl(SETVAL) 5", semctl(sid, 0, SETVAL, arg), 0);
	SAY("semctl(GETVAL): 5", semctl(sid, 0, GETVAL), 5);
	arg.val = 32768;
	SAY("semctl(SETVAL) 32768: ERANGE", ERR(semctl(sid, 0, SETVAL, arg)), ERANGE);
	ops[0].sem_num = 0;
	ops[0].sem_op = 32763;
	ops[0].sem_flg = 0;
	SAY("semop to 32768: ERANGE", ERR(semop(sid, ops, 1)), ERANGE);

	arg.buf = &sds;
	SAY("semctl(IPC_STAT)", semctl(sid, 0, IPC_STAT, arg), 0);
	SAY("sem_nsems", sds.sem_nsems, 3);
	SAY("sem_perm.mode", sds.sem_perm.mode & 0777, 0600);
	SAY("sem_otime is set", sds.sem_otime != 0, 1);
	sds.sem_perm.mode = 0640;
	SAY("semctl(IPC_SET) mode 0640", semctl(sid, 0, IPC_SET, arg), 0);
	memset(&sds, 0, sizeof(sds));
	semctl(sid, 0, IPC_STAT, arg);
	SAY("IPC_STAT: mode 0640", sds.sem_perm.mode & 0777, 0640);

	SAY("semctl(IPC_RMID)", semctl(sid, 0, IPC_RMID), 0);
	SAY("semop after IPC_RMID: EINVAL", ERR(semop(sid, ops, 1)), EINVAL);
	NOTE_IDS(-1, -1);
}

#endif /* SYSV_COMPAT_PROGRAM */
