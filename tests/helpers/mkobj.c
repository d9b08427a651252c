// SPDX-License-Identifier: MIT
/*
 * mkobj - makes IPC objects on command, for tests/tool.sh and the fuzz
 * target's seed corpus.  Objects go to $KIPC_NAMESPACE like any kipc
 * program's.  Not a TAP program, unlike the .c files of tests/.
 *
 *   mkobj shm /NAME SIZE MODE     create a POSIX segment of SIZE bytes
 *   mkobj sysv KEY SIZE MODE      create a System V segment (KEY a number,
 *                                 0x... allowed, or "private"); prints its id
 *   mkobj attach ID SECONDS       attach segment ID, print "attached", then
 *                                 wait for SIGTERM/SIGINT or SECONDS and
 *                                 exit normally, still attached (the
 *                                 library's exit handler detaches)
 *   mkobj msg KEY COUNT           create a System V message queue holding
 *                                 COUNT 10-byte messages; prints its id
 *   mkobj sem KEY NSEMS           create a System V semaphore set; prints
 *                                 its id
 *   mkobj seed KIND FILE          write the bytes of a freshly created
 *                                 object file (KIND sysv-shm, sysv-sem or
 *                                 mq: small ones) to FILE, with its
 *                                 creator, times and id made constant so
 *                                 that the seed is the same on every run
 *
 * Exit 0 on success; 1 with a message on stderr when a call fails; 2 for
 * bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <kipc/mq.h>
#include <kipc/msg.h>
#include <kipc/sem.h>
#include <kipc/shm.h>
#include "ipc/namespace.h"
#include "ipc/object.h"

static int usage(void)
{
	fprintf(stderr, "usage: mkobj shm /NAME SIZE MODE | sysv KEY SIZE MODE |\n"
			"       msg KEY COUNT | sem KEY NSEMS | attach ID SECONDS | seed KIND FILE\n");
	return 2;
}

static int failed(const char *what)
{
	fprintf(stderr, "mkobj: %s: %s\n", what, strerror(errno));
	return 1;
}

static bool number(const char *s, int base, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, base);
	return *s && !*end && !errno;
}

/* A message queue with count messages, or a set of count semaphores. */
static int make_msg_sem(bool msg, const char *key_s, const char *count_s)
{
	struct { long mtype; char text[10]; } m = { 1, "0123456789" };
	long long key, count;
	int id;

	if (!number(key_s, 0, &key) || !number(count_s, 10, &count) || count < 0)
		return usage();
	id = msg ? kipc_msgget((key_t)key, IPC_CREAT | 0600)
		 : kipc_semget((key_t)key, (int)count, IPC_CREAT | 0600);
	if (id < 0)
		return failed(msg ? "msgget" : "semget");
	for (long long i = 0; msg && i < count; i++)
		if (kipc_msgsnd(id, &m, sizeof(m.text), IPC_NOWAIT) < 0)
			return failed("msgsnd");
	printf("%d\n", id);
	return 0;
}

static int make_shm(const char *name, const char *size_s, const char *mode_s)
{
	long long size, mode;
	int fd;

	if (!number(size_s, 0, &size) || size < 0 || !number(mode_s, 8, &mode))
		return usage();
	fd = kipc_shm_open(name, O_RDWR | O_CREAT | O_EXCL, (mode_t)mode);
	if (fd < 0)
		return failed("kipc_shm_open");
	/* The mode exactly as asked, whatever the umask (as shm_open + fchmod). */
	if (fchmod(fd, (mode_t)mode) < 0 || ftruncate(fd, (off_t)size) < 0)
		return failed("fchmod/ftruncate");
	close(fd);
	return 0;
}

static int make_sysv(const char *key_s, const char *size_s, const char *mode_s)
{
	long long key = IPC_PRIVATE, size, mode;
	int id;

	if (strcmp(key_s, "private") &&
	    (!number(key_s, 0, &key) || key < INT32_MIN || key > UINT32_MAX))
		return usage();
	if (!number(size_s, 0, &size) || size < 0 || !number(mode_s, 8, &mode))
		return usage();
	id = kipc_shmget((key_t)key, (size_t)size, IPC_CREAT | IPC_EXCL | (int)(mode & 0777));
	if (id < 0)
		return failed("kipc_shmget");
	printf("%d\n", id);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int attach(const char *id_s, const char *secs_s)
{
	struct sigaction sa = { .sa_handler = on_signal };
	long long id, secs;
	sigset_t block, old;
	void *p;

	if (!number(id_s, 10, &id) || id < 0 || id > INT32_MAX || !number(secs_s, 10, &secs) ||
	    secs <= 0)
		return usage();
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	p = kipc_shmat((int)id, NULL, 0);
	if (p == (void *)-1)
		return failed("kipc_shmat");
	printf("attached\n");
	fflush(stdout);
	alarm((unsigned int)secs);
	while (!stop)
		sigsuspend(&old);
	return 0;		/* exit() runs the library's detach */
}

/*
 * Make a small object of kind (sysv-shm, sysv-sem or mq) and name the path
 * of its file in path; the object is removed by forget_seed().
 */
static int seed_object(const char *kind, char path[PATH_MAX], int *id)
{
	char leaf[32];

	if (!strcmp(kind, "mq")) {
		struct mq_attr a = { .mq_maxmsg = 1, .mq_msgsize = 1 };
		int q = kipc_mq_open("/seed", O_RDWR | O_CREAT | O_EXCL, 0600, &a);

		if (q < 0)
			return failed("kipc_mq_open");
		kipc_mq_close(q);
		return kipc__ns_path(path, KIPC__NS_MQ, "seed") ? -1 : 0;
	}
	if (!strcmp(kind, "sysv-sem")) {
		*id = kipc_semget(IPC_PRIVATE, 1, 0600);
		snprintf(leaf, sizeof(leaf), "sem.%d", *id);
	} else if (!strcmp(kind, "sysv-shm")) {
		*id = kipc_shmget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
		snprintf(leaf, sizeof(leaf), "shm.%d", *id);
	} else {
		return usage();
	}
	if (*id < 0)
		return failed(kind);
	return kipc__ns_path(path, KIPC__NS_SYSV, leaf) ? -1 : 0;
}

static void forget_seed(const char *kind, int id)
{
	if (!strcmp(kind, "mq"))
		kipc_mq_unlink("/seed");
	else if (!strcmp(kind, "sysv-sem"))
		kipc_semctl(id, 0, IPC_RMID);
	else
		kipc_shmctl(id, IPC_RMID, NULL);
}

static int seed(const char *kind, const char *out)
{
	struct kipc__obj_hdr *h;
	char path[PATH_MAX];
	struct stat st;
	int id = -1, fd, ofd, err;
	char *buf;

	err = seed_object(kind, path, &id);
	if (err)
		return err < 0 ? failed("path") : err;
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		return failed(path);
	buf = malloc((size_t)st.st_size);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size)
		return failed("read");
	close(fd);
	forget_seed(kind, id);
	/* What differs from run to run; the check does not look at it. */
	h = (struct kipc__obj_hdr *)buf;
	h->id = h->id < 0 ? -1 : 0;
	h->cpid = 1;
	h->cstart = 0;
	h->otime = h->ctime = 0;
	ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (ofd < 0 || write(ofd, buf, (size_t)st.st_size) != st.st_size || close(ofd) < 0)
		return failed(out);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "shm"))
		return make_shm(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "sysv"))
		return make_sysv(argv[2], argv[3], argv[4]);
	if (argc == 4 && (!strcmp(argv[1], "msg") || !strcmp(argv[1], "sem")))
		return make_msg_sem(argv[1][1] == 's', argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "attach"))
		return attach(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "seed"))
		return seed(argv[2], argv[3]);
	return usage();
}
