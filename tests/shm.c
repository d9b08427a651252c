// SPDX-License-Identifier: MIT
/*
 * Shared memory, POSIX and System V (include/kipc/shm.h), in a private
 * namespace ($KIPC_NAMESPACE = /dev/shm/kipc-test-shm-PID, removed at the
 * end), checked against what shm_open(3), shmget(2), shmop(2) and
 * shmctl(2) say and the kernel does:
 *
 *   - POSIX: create / open / O_EXCL / O_TRUNC, a real fd to ftruncate and
 *     mmap, the umask, name validation, unlink while mapped, a planted
 *     symlink (ELOOP), another user's access (EACCES);
 *   - shmget: IPC_PRIVATE, keys, IPC_CREAT|IPC_EXCL, sizes, ids not reused
 *     at once, mode bits as given; racing creators of one key agree;
 *   - shmat / shmdt: sharing through attaches, children and an unrelated
 *     (exec'd) process, SHM_RDONLY, SHM_RND, SHM_REMAP, bad addresses;
 *   - every struct shmid_ds field, shm_nattch across fork(), exit and
 *     kill -9 (also while the killed process is a zombie);
 *   - IPC_RMID of unattached and attached segments, IPC_SET, permissions
 *     of other users, bad input and corrupted files changing nothing;
 *   - objects abandoned by a creator killed half-way (built directly with
 *     the internal object API, src/ipc/object.h).
 *
 * Children leave with _exit() (except the two that test exit()'s detach,
 * marked so).  Every fork() happens in this single-threaded process.
 */
#include <kipc/shm.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc/object.h"
#include "tap.h"
#include "testutil.h"

/* Keys of this test (the namespace is private: any values would do). */
#define KEY(n)		((key_t)(0x6b700000 + (n)))

/* Ids far above what the counter of a fresh namespace hands out. */
#define FOREIGN_ID(n)	(2100000000 + (n))

#define NRACE		8	/* racing creators */
#define NPRIV		16	/* IPC_PRIVATE segments per racing creator */
#define NRES		32

/* "The child did not get that far." */
#define NOT_RUN		(-999999L)

/* What children report, in MAP_SHARED memory. */
struct shared {
	int go;
	int ready;
	long r[NRES];
	int ids[NRACE][NPRIV];
};

static struct shared *sh;
static char ns_root[256];
static bool as_root;
static uid_t nobody_uid = 65534;
static gid_t nobody_gid = 65534;
static size_t page;

/* -errno if the call returned -1 (also (void *)-1), else its value. */
#define RES(call) ({ errno = 0; long res_ = (long)(call); res_ == -1 ? -(long)errno : res_; })

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static void reset_results(void)
{
	for (int i = 0; i < NRES; i++)
		sh->r[i] = NOT_RUN;
	sh->go = sh->ready = 0;
}

static void ns_file(char *buf, const char *sub, const char *leaf)
{
	snprintf(buf, PATH_MAX, "%s/%s/%s", ns_root, sub, leaf);
}

static void id_file(char *buf, int id)
{
	char leaf[64];

	snprintf(leaf, sizeof(leaf), "shm.%d", id);
	ns_file(buf, "sysv", leaf);
}

static void key_file(char *buf, key_t key)
{
	char leaf[64];

	snprintf(leaf, sizeof(leaf), "shm.key.%08x", (unsigned int)key);
	ns_file(buf, "sysv", leaf);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static bool id_exists(int id)
{
	char path[PATH_MAX];

	id_file(path, id);
	return exists(path);
}

static bool key_exists(key_t key)
{
	char path[PATH_MAX];

	key_file(path, key);
	return exists(path);
}

/* Permission bits of a file, or -1. */
static long file_mode(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? (long)(st.st_mode & 07777) : -1;
}

static long id_file_mode(int id)
{
	char path[PATH_MAX];

	id_file(path, id);
	return file_mode(path);
}

/* Entries of a namespace subdirectory whose names start with prefix. */
static int count_files(const char *sub, const char *prefix)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", ns_root, sub);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

/* Segment files named by id ("shm.<id>"), not the key links. */
static int count_id_files(void)
{
	return count_files("sysv", "shm.") - count_files("sysv", "shm.key.");
}

static int stat_id(int id, struct shmid_ds *ds)
{
	return (int)RES(kipc_shmctl(id, IPC_STAT, ds));
}

static long nattch_of(int id)
{
	struct shmid_ds ds;

	return stat_id(id, &ds) ? -1 : (long)ds.shm_nattch;
}

/* A shmat() expected to fail: -errno, or 0 if it worked (then undone). */
static long shmat_err(int id, const void *addr, int flags)
{
	void *p;

	errno = 0;
	p = kipc_shmat(id, addr, flags);
	if (p != (void *)-1) {
		kipc_shmdt(p);
		return 0;
	}
	return -errno;
}

static bool in_window(long long t, time_t t0, time_t t1)
{
	return t >= (long long)t0 - 2 && t <= (long long)t1 + 2;
}

/* The header of a segment's file, mapped (NULL on failure). */
static struct kipc__obj_hdr *map_hdr(int id)
{
	char path[PATH_MAX];
	void *p;
	int fd;

	id_file(path, id);
	fd = open(path, O_RDWR | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static void unmap_hdr(struct kipc__obj_hdr *h)
{
	if (h)
		munmap(h, page);
}

/* The first len bytes of a segment's file into buf; 0, or -1. */
static int copy_file_head(int id, void *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	id_file(path, id);
	fd = open(path, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	n = pread(fd, buf, len, 0);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static int drop_to_nobody(void)
{
	if (setgroups(0, NULL) < 0 || setgid(nobody_gid) < 0 || setuid(nobody_uid) < 0)
		return -1;
	return geteuid() == nobody_uid ? 0 : -1;
}

static bool killed_by(int status, int sig)
{
	return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

/* Runs fn(arg) in a child (as nobody if asked); its exit code, or -1. */
static int in_child(int (*fn)(void *), void *arg, bool nobody)
{
	pid_t pid = fork_child();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (nobody && drop_to_nobody() < 0)
			_exit(100);
		_exit(fn(arg));
	}
	return wait_child(pid);
}

/* Waits until a (killed) child has died, without reaping it. */
static bool wait_dead_unreaped(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == pid;
}

/*
 * A child kept alive until told: it runs fn(arg) (nonzero: fail), tells
 * the parent through a pipe, then waits for the parent's word (or EOF) and
 * leaves: with _exit(0), or with exit(0) if use_exit (to run the
 * library's destructor).
 */
struct kid {
	pid_t pid;
	int from;		/* the parent's end of child -> parent */
	int to;			/* the parent's end of parent -> child */
};

static bool kid_start(struct kid *k, int (*fn)(void *), void *arg, bool use_exit)
{
	int up[2], down[2];
	struct pollfd pfd;
	char c = 0;

	k->pid = -1;
	if (pipe(up) < 0)
		return false;
	if (pipe(down) < 0) {
		close(up[0]);
		close(up[1]);
		return false;
	}
	k->pid = fork_child();
	if (k->pid == 0) {
		close(up[0]);
		close(down[1]);
		c = fn ? (char)fn(arg) : 0;
		if (write(up[1], c ? "F" : "R", 1) != 1 || c)
			_exit(3);
		while (read(down[0], &c, 1) < 0 && errno == EINTR)
			;
		if (use_exit)
			exit(0);	/* on purpose: the destructor detaches */
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	k->from = up[0];
	k->to = down[1];
	if (k->pid < 0)
		return false;
	pfd.fd = k->from;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 10000) != 1 || read(k->from, &c, 1) != 1 || c != 'R') {
		diag("child %d did not get ready", (int)k->pid);
		return false;
	}
	return true;
}

/* Tells the child to leave; its wait status. */
static int kid_finish(struct kid *k)
{
	int status;

	if (k->pid <= 0)
		return -1;
	close(k->to);
	status = child_status(k->pid, 20.0);
	close(k->from);
	k->pid = -1;
	return status;
}

/* Kills the child with SIGKILL; waits until it is a zombie (not reaped). */
static bool kid_kill(struct kid *k)
{
	if (k->pid <= 0)
		return false;
	kill(k->pid, SIGKILL);
	return wait_dead_unreaped(k->pid);
}

static bool kid_reap(struct kid *k)
{
	int status = kid_finish(k);

	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* ------------------------------------------------------------------------ */
/* POSIX shm_open / shm_unlink                                              */
/* ------------------------------------------------------------------------ */

static int child_posix_open(void *arg)
{
	const char *pattern = arg;
	int fd = kipc_shm_open("/seg", O_RDWR, 0);
	char *p;

	if (fd < 0)
		return 10;
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return 11;
	if (memcmp(p, pattern, strlen(pattern)))
		return 12;
	strcpy(p + 4096, "from a child");
	return 0;
}

static int child_write_inherited(void *arg)
{
	strcpy((char *)arg + 100, "inherited");
	return 0;
}

static void test_posix_basic(void)
{
	static const char pattern[] = "kipc posix shm";
	struct stat st, st2;
	char path[PATH_MAX], *p = MAP_FAILED, *q = MAP_FAILED;
	int fd, fd2, fd3;
	mode_t old;

	fd = kipc_shm_open("/seg", O_CREAT | O_EXCL | O_RDWR, 0600);
	ok(fd >= 0, "shm_open O_CREAT|O_EXCL: a descriptor (%d)", fd);
	ns_file(path, "shm", "seg");
	ok(lstat(path, &st) == 0 && S_ISREG(st.st_mode),
	   "shm_open: a regular file in the namespace's shm/ directory");
	ok(fd >= 0 && fstat(fd, &st2) == 0 && st2.st_ino == st.st_ino,
	   "shm_open: the descriptor is that file");
	ok(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "shm_open: FD_CLOEXEC is set");
	is(fd >= 0 ? st2.st_size : -1, 0, "shm_open: a new segment is empty");
	is(RES(kipc_shm_open("/seg", O_CREAT | O_EXCL | O_RDWR, 0600)), -EEXIST,
	   "shm_open O_CREAT|O_EXCL on an existing name: EEXIST");
	fd2 = kipc_shm_open("/seg", O_CREAT | O_RDWR, 0600);
	ok(fd2 >= 0 && fstat(fd2, &st2) == 0 && st2.st_ino == st.st_ino,
	   "shm_open O_CREAT without O_EXCL: opens the existing segment");
	if (fd2 >= 0)
		close(fd2);
	is(RES(kipc_shm_open("/missing", O_RDWR, 0600)), -ENOENT,
	   "shm_open without O_CREAT of a missing name: ENOENT");
	ns_file(path, "shm", "missing");
	ok(!exists(path), "... and nothing was created");
	is(RES(kipc_shm_open("/seg", O_RDWR | O_WRONLY | O_RDONLY | O_ACCMODE, 0)), -EINVAL,
	   "shm_open with O_ACCMODE as access mode: EINVAL");

	if (fd < 0) {
		ok(0, "shm_open: no descriptor, the rest of the group skipped");
		return;
	}
	is(RES(ftruncate(fd, 8192)), 0, "ftruncate on the descriptor");
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ok(p != MAP_FAILED, "mmap MAP_SHARED of the descriptor");
	if (p == MAP_FAILED)
		return;
	strcpy(p, pattern);

	fd2 = kipc_shm_open("/seg", O_RDWR, 0);
	ok(fd2 >= 0, "a second shm_open of the name");
	if (fd2 >= 0) {
		q = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
		close(fd2);
	}
	ok(q != MAP_FAILED && !strcmp(q, pattern),
	   "the second open's mapping sees the data written through the first");
	if (q != MAP_FAILED) {
		strcpy(q + 200, "back");
		ok(!strcmp(p + 200, "back"), "... and writes through it are seen by the first");
		munmap(q, 8192);
	}

	is(in_child(child_posix_open, (void *)pattern, false), 0,
	   "a forked child opening the name sees the data");
	ok(!strcmp(p + 4096, "from a child"), "... and the parent sees what the child wrote");
	is(in_child(child_write_inherited, p, false), 0, "a child writes through the inherited mapping");
	ok(!strcmp(p + 100, "inherited"), "... and the parent sees it");

	fd3 = kipc_shm_open("/seg", O_RDONLY, 0);
	ok(fd3 >= 0, "shm_open O_RDONLY");
	if (fd3 >= 0) {
		void *w = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd3, 0);
		void *r = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd3, 0);

		ok(w == MAP_FAILED && errno == EACCES,
		   "O_RDONLY descriptor: a writable shared mapping is refused (EACCES)");
		ok(r != MAP_FAILED && !strcmp(r, pattern),
		   "O_RDONLY descriptor: a read-only mapping sees the data");
		if (w != MAP_FAILED)
			munmap(w, 8192);
		if (r != MAP_FAILED)
			munmap(r, 8192);
		close(fd3);
	}

	fd3 = kipc_shm_open("/seg", O_RDWR | O_TRUNC, 0);
	ok(fd3 >= 0 && fstat(fd3, &st2) == 0 && st2.st_size == 0,
	   "shm_open O_TRUNC: the segment is truncated to 0");
	if (fd3 >= 0)
		close(fd3);
	munmap(p, 8192);
	close(fd);
	is(RES(kipc_shm_unlink("/seg")), 0, "shm_unlink of the segment");

	/* The mode honours the umask, as open(2) and shm_open(3). */
	old = umask(022);
	fd = kipc_shm_open("/umask022", O_CREAT | O_EXCL | O_RDWR, 0666);
	umask(0);
	fd2 = kipc_shm_open("/umask000", O_CREAT | O_EXCL | O_RDWR, 0666);
	umask(old);
	ns_file(path, "shm", "umask022");
	is(file_mode(path), 0644, "shm_open 0666 under umask 022: mode 0644");
	ns_file(path, "shm", "umask000");
	is(file_mode(path), 0666, "shm_open 0666 under umask 000: mode 0666");
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	kipc_shm_unlink("/umask022");
	kipc_shm_unlink("/umask000");
}

static void test_posix_names(void)
{
	static const char *const bad[] = { "noslash", "/a/b", "/", "/.", "/..", "//x", "/x/",
					   "" };
	char longname[NAME_MAX + 3], path[PATH_MAX];
	int before = count_files("shm", ""), fd;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long o = RES(kipc_shm_open(bad[i], O_CREAT | O_RDWR, 0600));
		long u = RES(kipc_shm_unlink(bad[i]));

		ok(o == -EINVAL && u == -EINVAL, "shm_open and shm_unlink(\"%s\"): EINVAL (%ld, %ld)",
		   bad[i], o, u);
	}
	is(RES(kipc_shm_open(NULL, O_CREAT | O_RDWR, 0600)), -EINVAL, "shm_open(NULL): EINVAL");
	is(RES(kipc_shm_unlink(NULL)), -EINVAL, "shm_unlink(NULL): EINVAL");

	longname[0] = '/';
	memset(longname + 1, 'n', NAME_MAX + 1);
	longname[NAME_MAX + 2] = '\0';
	is(RES(kipc_shm_open(longname, O_CREAT | O_RDWR, 0600)), -ENAMETOOLONG,
	   "shm_open of NAME_MAX+1 bytes: ENAMETOOLONG");
	is(RES(kipc_shm_unlink(longname)), -ENAMETOOLONG,
	   "shm_unlink of NAME_MAX+1 bytes: ENAMETOOLONG");
	is(count_files("shm", ""), before, "no bad name created a file");

	longname[NAME_MAX + 1] = '\0';
	fd = kipc_shm_open(longname, O_CREAT | O_EXCL | O_RDWR, 0600);
	ok(fd >= 0, "shm_open of exactly NAME_MAX bytes works");
	ns_file(path, "shm", longname + 1);
	ok(exists(path), "... and makes that file");
	if (fd >= 0)
		close(fd);
	is(RES(kipc_shm_unlink(longname)), 0, "shm_unlink of exactly NAME_MAX bytes works");
	ok(!exists(path), "... and removes it");
}

static void test_posix_unlink(void)
{
	struct stat st, st2;
	char path[PATH_MAX], *p = MAP_FAILED;
	int fd, fd2;

	fd = kipc_shm_open("/gone", O_CREAT | O_EXCL | O_RDWR, 0600);
	if (fd >= 0 && ftruncate(fd, 4096) == 0)
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ok(p != MAP_FAILED, "unlink: a mapped segment");
	if (p == MAP_FAILED) {
		if (fd >= 0)
			close(fd);
		return;
	}
	strcpy(p, "still here");
	fstat(fd, &st);
	is(RES(kipc_shm_unlink("/gone")), 0, "shm_unlink of a mapped segment: 0");
	ns_file(path, "shm", "gone");
	ok(!exists(path), "shm_unlink: the file is gone from the namespace");
	is(RES(kipc_shm_open("/gone", O_RDWR, 0)), -ENOENT,
	   "shm_unlink: opening the name again gives ENOENT");
	ok(!strcmp(p, "still here"), "shm_unlink: the mapping still holds the data");
	strcpy(p + 100, "and takes writes");
	ok(!strcmp(p + 100, "and takes writes"), "shm_unlink: the mapping is still writable");
	ok(fstat(fd, &st2) == 0 && st2.st_nlink == 0, "shm_unlink: the open file has no links");
	fd2 = kipc_shm_open("/gone", O_CREAT | O_EXCL | O_RDWR, 0600);
	ok(fd2 >= 0 && fstat(fd2, &st2) == 0 && st2.st_ino != st.st_ino && st2.st_size == 0,
	   "shm_unlink: O_CREAT|O_EXCL of the name makes a new, empty segment");
	if (fd2 >= 0)
		close(fd2);
	is(RES(kipc_shm_unlink("/gone")), 0, "shm_unlink of the new one");
	is(RES(kipc_shm_unlink("/gone")), -ENOENT, "shm_unlink of a missing name: ENOENT");
	is(RES(kipc_shm_unlink("/never")), -ENOENT, "shm_unlink of a never-made name: ENOENT");
	munmap(p, 4096);
	close(fd);
}

static void test_posix_symlink(void)
{
	char target[PATH_MAX], link1[PATH_MAX], link2[PATH_MAX], nowhere[PATH_MAX], buf[32];
	int fd;
	ssize_t n = -1;

	/* Make sure shm/ exists, then plant the links. */
	fd = kipc_shm_open("/dirmaker", O_CREAT | O_RDWR, 0600);
	if (fd >= 0)
		close(fd);
	kipc_shm_unlink("/dirmaker");
	snprintf(target, sizeof(target), "%s/target", ns_root);
	snprintf(nowhere, sizeof(nowhere), "%s/nowhere", ns_root);
	ns_file(link1, "shm", "evil");
	ns_file(link2, "shm", "dangling");
	fd = open(target, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd >= 0) {
		n = write(fd, "precious", 8);
		close(fd);
	}
	ok(n == 8 && symlink(target, link1) == 0 && symlink(nowhere, link2) == 0,
	   "symlink: planted shm/evil -> a file and shm/dangling -> nowhere");

	is(RES(kipc_shm_open("/evil", O_RDWR, 0)), -ELOOP, "shm_open of a symlink: ELOOP");
	is(RES(kipc_shm_open("/evil", O_RDWR | O_CREAT | O_TRUNC, 0600)), -ELOOP,
	   "shm_open O_CREAT|O_TRUNC of a symlink: ELOOP");
	n = -1;
	fd = open(target, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
	}
	ok(n == 8 && !memcmp(buf, "precious", 8), "symlink: its target was not truncated");
	is(RES(kipc_shm_open("/dangling", O_RDWR | O_CREAT, 0600)), -ELOOP,
	   "shm_open O_CREAT of a dangling symlink: ELOOP");
	ok(!exists(nowhere), "symlink: the dangling link's target was not created");
	is(RES(kipc_shm_unlink("/evil")), 0, "shm_unlink of the symlink: 0");
	ok(!exists(link1) && exists(target), "shm_unlink removed the link, not its target");
	unlink(link2);
	unlink(target);
}

static int nobody_posix(void *arg)
{
	int fd;

	(void)arg;
	sh->r[0] = RES(kipc_shm_open("/private", O_RDONLY, 0));
	sh->r[1] = RES(kipc_shm_open("/private", O_RDWR, 0));
	fd = kipc_shm_open("/readable", O_RDONLY, 0);
	sh->r[2] = fd >= 0 ? 0 : -errno;
	if (fd >= 0)
		close(fd);
	sh->r[3] = RES(kipc_shm_open("/readable", O_RDWR, 0));
	sh->r[4] = RES(kipc_shm_unlink("/private"));
	fd = kipc_shm_open("/nobodys", O_CREAT | O_EXCL | O_RDWR, 0600);
	sh->r[5] = fd >= 0 ? 0 : -errno;
	return 0;
}

static void test_posix_perms(void)
{
	char path[PATH_MAX];
	struct stat st;
	int fd1, fd2;

	if (!as_root) {
		for (int i = 0; i < 8; i++)
			ok(1, "# SKIP POSIX permissions: not running as root");
		return;
	}
	fd1 = kipc_shm_open("/private", O_CREAT | O_EXCL | O_RDWR, 0600);
	fd2 = kipc_shm_open("/readable", O_CREAT | O_EXCL | O_RDWR, 0644);
	ok(fd1 >= 0 && fd2 >= 0, "perms: root made a 0600 and a 0644 segment");
	if (fd1 >= 0)
		close(fd1);
	if (fd2 >= 0)
		close(fd2);
	reset_results();
	is(in_child(nobody_posix, NULL, true), 0, "perms: a child running as nobody");
	is(sh->r[0], -EACCES, "nobody: shm_open O_RDONLY of root's 0600 segment: EACCES");
	is(sh->r[1], -EACCES, "nobody: shm_open O_RDWR of root's 0600 segment: EACCES");
	is(sh->r[2], 0, "nobody: shm_open O_RDONLY of root's 0644 segment works");
	is(sh->r[3], -EACCES, "nobody: shm_open O_RDWR of root's 0644 segment: EACCES");
	ok(sh->r[4] == -EPERM || sh->r[4] == -EACCES,
	   "nobody: shm_unlink of root's segment is refused (%ld)", sh->r[4]);
	ns_file(path, "shm", "nobodys");
	ok(sh->r[5] == 0 && lstat(path, &st) == 0 && st.st_uid == nobody_uid,
	   "nobody: may create a segment, which is nobody's");
	ns_file(path, "shm", "private");
	ok(exists(path), "perms: root's segment is still there");
	kipc_shm_unlink("/private");
	kipc_shm_unlink("/readable");
	kipc_shm_unlink("/nobodys");
}

/* ------------------------------------------------------------------------ */
/* shmget                                                                   */
/* ------------------------------------------------------------------------ */

static void test_shmget(void)
{
	struct shmid_ds ds;
	char ipath[PATH_MAX], kpath[PATH_MAX];
	struct stat ist, kst;
	int a, b, id, id2, files;
	mode_t old;

	a = kipc_shmget(IPC_PRIVATE, 100, 0600);
	b = kipc_shmget(IPC_PRIVATE, 100, 0600);
	ok(a >= 0 && b >= 0, "shmget IPC_PRIVATE: two ids (%d, %d)", a, b);
	ok(a != b, "shmget IPC_PRIVATE: distinct ids each time");
	ok(a >= 0 && b >= 0 && stat_id(a, &ds) == 0 && ds.shm_perm.__key == IPC_PRIVATE,
	   "shmget IPC_PRIVATE: the key is IPC_PRIVATE");
	kipc_shmctl(a, IPC_RMID, NULL);
	kipc_shmctl(b, IPC_RMID, NULL);

	id = kipc_shmget(KEY(1), 10000, IPC_CREAT | 0600);
	ok(id >= 0, "shmget(key, IPC_CREAT): an id (%d)", id);
	is(kipc_shmget(KEY(1), 10000, IPC_CREAT | 0600), id, "shmget(key, IPC_CREAT) again: the same id");
	is(kipc_shmget(KEY(1), 10000, 0), id, "shmget(key, 0): the same id");
	is(RES(kipc_shmget(KEY(1), 10000, IPC_CREAT | IPC_EXCL | 0600)), -EEXIST,
	   "shmget(key, IPC_CREAT|IPC_EXCL) on an existing key: EEXIST");
	is(RES(kipc_shmget(KEY(2), 10000, 0600)), -ENOENT,
	   "shmget of a missing key without IPC_CREAT: ENOENT");
	ok(!key_exists(KEY(2)), "... and it made nothing");

	id_file(ipath, id);
	key_file(kpath, KEY(1));
	ok(lstat(ipath, &ist) == 0 && lstat(kpath, &kst) == 0 && ist.st_ino == kst.st_ino,
	   "shmget: the segment is a file named by its id, and by its key");

	files = count_id_files();
	is(RES(kipc_shmget(IPC_PRIVATE, 0, 0600)), -EINVAL, "shmget(IPC_PRIVATE, size 0): EINVAL");
	is(RES(kipc_shmget(KEY(3), 0, IPC_CREAT | 0600)), -EINVAL,
	   "shmget(new key, size 0, IPC_CREAT): EINVAL");
	ok(!key_exists(KEY(3)), "... and it made nothing");
	is(RES(kipc_shmget(IPC_PRIVATE, SIZE_MAX, 0600)), -EINVAL,
	   "shmget(IPC_PRIVATE, SIZE_MAX): EINVAL");
	{
		long r = RES(kipc_shmget(IPC_PRIVATE, (size_t)1 << 50, 0600));

		ok(r == -ENOSPC || r == -EINVAL || r == -ENOMEM || r == -EFBIG,
		   "shmget of 1 PiB fails (%ld: ENOSPC/EINVAL/ENOMEM/EFBIG)", r);
		if (r >= 0)
			kipc_shmctl((int)r, IPC_RMID, NULL);
	}
	is(count_id_files(), files, "the failed shmget calls left no file behind");

	is(RES(kipc_shmget(KEY(1), 10001, 0)), -EINVAL,
	   "shmget of an existing segment, larger size: EINVAL");
	is(RES(kipc_shmget(KEY(1), 10001, IPC_CREAT | 0600)), -EINVAL,
	   "shmget of an existing segment, larger size, IPC_CREAT: EINVAL");
	is(kipc_shmget(KEY(1), 4096, 0), id, "shmget of an existing segment, smaller size: the id");
	is(kipc_shmget(KEY(1), 10000, 0), id, "shmget of an existing segment, same size: the id");
	is(kipc_shmget(KEY(1), 0, 0), id, "shmget of an existing segment, size 0: the id");
	memset(&ds, 0, sizeof(ds));
	stat_id(id, &ds);
	is(ds.shm_segsz, 10000, "shmget with other sizes did not change shm_segsz");

	/* Ids are not reused at once. */
	is(RES(kipc_shmctl(id, IPC_RMID, NULL)), 0, "IPC_RMID of the keyed segment");
	id2 = kipc_shmget(KEY(1), 10000, IPC_CREAT | IPC_EXCL | 0600);
	ok(id2 >= 0 && id2 != id, "shmget of the same key after IPC_RMID: a new, different id "
	   "(%d, was %d)", id2, id);
	is(stat_id(id, &ds), -EINVAL, "the old id stays invalid");
	kipc_shmctl(id2, IPC_RMID, NULL);

	/* Mode bits are used as given: shmget(2) does not apply the umask. */
	old = umask(077);
	a = kipc_shmget(IPC_PRIVATE, 100, 0666);
	b = kipc_shmget(KEY(4), 100, IPC_CREAT | 0642);
	umask(old);
	memset(&ds, 0, sizeof(ds));
	ok(a >= 0 && stat_id(a, &ds) == 0, "shmget 0666 under umask 077: a segment");
	is(ds.shm_perm.mode, 0666, "shmget 0666 under umask 077: IPC_STAT mode 0666");
	is(id_file_mode(a), 0666, "shmget 0666 under umask 077: the file's mode is 0666");
	memset(&ds, 0, sizeof(ds));
	ok(b >= 0 && stat_id(b, &ds) == 0, "shmget 0642 under umask 077: a segment");
	is(ds.shm_perm.mode, 0642, "shmget 0642 under umask 077: IPC_STAT mode 0642");
	is(id_file_mode(b), 0642, "shmget 0642 under umask 077: the file's mode is 0642");
	kipc_shmctl(a, IPC_RMID, NULL);
	kipc_shmctl(b, IPC_RMID, NULL);
}

/* ------------------------------------------------------------------------ */
/* Racing creators                                                          */
/* ------------------------------------------------------------------------ */

struct race_arg {
	key_t key;
	size_t size;
	int flags;
	int idx;
};

static int child_race(void *arg)
{
	const struct race_arg *ra = arg;
	unsigned int spins = 0;
	long r;

	__atomic_fetch_add(&sh->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE))
		spin_yield(&spins);
	r = RES(kipc_shmget(ra->key, ra->size, ra->flags));
	__atomic_store_n(&sh->r[ra->idx], r, __ATOMIC_RELEASE);
	return 0;
}

static int child_race_private(void *arg)
{
	const struct race_arg *ra = arg;
	unsigned int spins = 0;

	__atomic_fetch_add(&sh->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE))
		spin_yield(&spins);
	for (int i = 0; i < NPRIV; i++)
		sh->ids[ra->idx][i] = kipc_shmget(IPC_PRIVATE, ra->size, 0600);
	return 0;
}

/* Forks NRACE children running fn, releases them at once; true if all exit 0. */
static bool race(int (*fn)(void *), struct race_arg *ra, pid_t *pids)
{
	bool all = true;
	int n = 0;

	reset_results();
	for (int i = 0; i < NRACE; i++) {
		ra->idx = i;
		pids[i] = fork_child();
		if (pids[i] == 0)
			_exit(fn(ra));
		if (pids[i] > 0)
			n++;
	}
	{
		double end = now() + 10.0;

		while (__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) < n && now() < end)
			sleep_ms(1);
	}
	__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NRACE; i++)
		if (pids[i] <= 0 || wait_child(pids[i]) != 0)
			all = false;
	return all;
}

static void test_race(void)
{
	struct race_arg ra;
	pid_t pids[NRACE];
	int files = count_id_files();

	for (int round = 0; round < 6; round++) {
		bool excl = round % 2 == 0;
		int winners = 0, eexist = 0, other = 0, id = -1, same = 0;

		ra.key = KEY(100 + round);
		ra.size = 1 + rnd() % 65536;
		ra.flags = IPC_CREAT | (excl ? IPC_EXCL : 0) | 0600;
		ok(race(child_race, &ra, pids), "race %d: %d children ran shmget(key, %zu, "
		   "IPC_CREAT%s) at once", round, NRACE, ra.size, excl ? "|IPC_EXCL" : "");
		for (int i = 0; i < NRACE; i++) {
			long r = sh->r[i];

			if (r >= 0) {
				winners++;
				if (id < 0)
					id = (int)r;
				if (r == id)
					same++;
			} else if (r == -EEXIST) {
				eexist++;
			} else {
				other++;
				diag("race %d: child %d got %ld", round, i, r);
			}
		}
		if (excl) {
			is(winners, 1, "race %d, IPC_EXCL: exactly one creator succeeded", round);
			is(eexist, NRACE - 1, "race %d, IPC_EXCL: the others got EEXIST", round);
		} else {
			is(winners, NRACE, "race %d, IPC_CREAT: every caller got an id", round);
			is(same, NRACE, "race %d, IPC_CREAT: all the same id", round);
		}
		is(kipc_shmget(ra.key, 0, 0), id, "race %d: the key names the winner's segment", round);
		is(count_id_files(), files + 1, "race %d: exactly one segment file was made", round);
		ok(id >= 0 && kipc_shmctl(id, IPC_RMID, NULL) == 0 && !id_exists(id) &&
		   !key_exists(ra.key), "race %d: removed, it leaves no file", round);
	}

	/* Concurrent IPC_PRIVATE creators get distinct ids. */
	{
		int total = 0, dup = 0, bad = 0, wrong_cpid = 0;

		ra.size = 4096;
		ok(race(child_race_private, &ra, pids), "race: %d children made %d IPC_PRIVATE "
		   "segments each", NRACE, NPRIV);
		for (int i = 0; i < NRACE; i++) {
			for (int j = 0; j < NPRIV; j++) {
				int id = sh->ids[i][j];
				struct shmid_ds ds;

				if (id < 0) {
					bad++;
					continue;
				}
				total++;
				for (int k = 0; k < NRACE; k++)
					for (int l = 0; l < NPRIV; l++)
						if ((k != i || l != j) && sh->ids[k][l] == id)
							dup++;
				if (stat_id(id, &ds) != 0 || ds.shm_cpid != pids[i])
					wrong_cpid++;
			}
		}
		is(total, NRACE * NPRIV, "race, IPC_PRIVATE: every call succeeded");
		is(dup, 0, "race, IPC_PRIVATE: no id was handed out twice");
		is(wrong_cpid, 0, "race, IPC_PRIVATE: each id is its creator's segment (shm_cpid)");
		for (int i = 0; i < NRACE; i++)
			for (int j = 0; j < NPRIV; j++)
				if (sh->ids[i][j] >= 0)
					kipc_shmctl(sh->ids[i][j], IPC_RMID, NULL);
		(void)bad;
		is(count_id_files(), files, "race: after IPC_RMID no segment file is left");
	}
}

/* ------------------------------------------------------------------------ */
/* shmat / shmdt                                                            */
/* ------------------------------------------------------------------------ */

struct att_arg {
	int id;
	char *inherited;
};

static int child_attach(void *arg)
{
	const struct att_arg *aa = arg;
	char *c;

	if (strcmp(aa->inherited, "through a"))
		return 10;
	aa->inherited[50] = 'i';
	c = kipc_shmat(aa->id, NULL, 0);
	if (c == (void *)-1)
		return 11;
	if (strcmp(c, "through a") || c[50] != 'i')
		return 12;
	c[51] = 'o';
	return kipc_shmdt(c) == 0 ? 0 : 13;
}

static int child_rdonly_write(void *arg)
{
	const struct att_arg *aa = arg;
	struct rlimit nocore = { 0, 0 };
	volatile char *c;

	setrlimit(RLIMIT_CORE, &nocore);
	c = kipc_shmat(aa->id, NULL, SHM_RDONLY);
	if (c == (void *)-1)
		return 10;
	sh->r[0] = c[0];
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	c[0] = 'X';
	return 0;
}

/*
 * A free, align-aligned address range of len bytes (NULL if none): the
 * bottom of a 64 MiB hole, since shmat()'s own mappings (the segment's
 * bookkeeping) are placed top-down into the highest free range.
 */
static char *free_range(size_t len, size_t align)
{
	size_t hole = 64 << 20;
	char *p = mmap(NULL, hole, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED || len + align > hole / 2)
		return NULL;
	munmap(p, hole);
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	return (char *)a;
}

/* In an exec'd process: attach by id, check and change the data. */
static int attach_main(int id, const char *expect)
{
	char *c = kipc_shmat(id, NULL, 0);

	if (c == (void *)-1)
		return 10;
	if (strcmp(c, expect))
		return 11;
	strcpy(c + 1000, "written by an unrelated process");
	return kipc_shmdt(c) == 0 ? 0 : 12;
}

static void test_attach(void)
{
	struct att_arg aa;
	char *a, *b, *r, *occ;
	int id, status, zero = 1;
	long n;
	pid_t pid;
	size_t seglen;

	id = kipc_shmget(IPC_PRIVATE, 10000, 0600);
	ok(id >= 0, "shmat: a segment of 10000 bytes");
	if (id < 0)
		return;
	seglen = (10000 + page - 1) / page * page;
	a = kipc_shmat(id, NULL, 0);
	b = kipc_shmat(id, NULL, 0);
	ok(a != (void *)-1 && b != (void *)-1 && a != b,
	   "shmat twice: two different addresses");
	if (a == (void *)-1 || b == (void *)-1)
		return;
	ok((uintptr_t)a % page == 0 && (uintptr_t)b % page == 0, "shmat: page-aligned addresses");
	for (size_t i = 0; i < 10000; i++)
		if (a[i])
			zero = 0;
	ok(zero, "shmat: a new segment reads as zeros");
	strcpy(a, "through a");
	ok(!strcmp(b, "through a"), "shmat: written through one attach, read through the other");
	b[9999] = 'z';
	is(a[9999], 'z', "shmat: the last byte is shared too");
	b[9999] = 0;

	aa.id = id;
	aa.inherited = a;
	is(in_child(child_attach, &aa, false), 0,
	   "a forked child reads through the inherited and its own attach");
	ok(a[50] == 'i' && a[51] == 'o', "... and the parent sees its writes through both");

	/* An unrelated process: exec'd, it attaches by id. */
	a[50] = a[51] = 0;
	fflush(stdout);
	pid = fork_child();
	if (pid == 0) {
		char ids[32];

		snprintf(ids, sizeof(ids), "%d", id);
		execl("/proc/self/exe", "shm", "--attach-child", ids, "through a", (char *)NULL);
		_exit(99);
	}
	status = child_status(pid, 20.0);
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 99) {
		/* qemu-user without binfmt_misc cannot exec a foreign binary. */
		ok(1, "# SKIP this program cannot exec itself here (qemu-user?)");
		ok(1, "# SKIP ... so no unrelated process wrote");
	} else {
		ok(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		   "an unrelated (exec'd) process attached by id and saw the data (status %#x)",
		   status);
		ok(!strcmp(a + 1000, "written by an unrelated process"),
		   "... and the parent sees what it wrote");
	}

	/* SHM_RDONLY: reads work, a write is a SIGSEGV. */
	reset_results();
	a[0] = 'T';
	pid = fork_child();
	if (pid == 0)
		_exit(child_rdonly_write(&aa));
	status = child_status(pid, 20.0);
	is(sh->r[0], 'T', "SHM_RDONLY: the child reads the data");
	ok(killed_by(status, SIGSEGV), "SHM_RDONLY: writing to it kills the child with SIGSEGV "
	   "(status %#x)", status);
	is(a[0], 'T', "SHM_RDONLY: the data did not change");
	a[0] = 't';
	r = kipc_shmat(id, NULL, SHM_RDONLY);
	ok(r != (void *)-1 && r[0] == 't', "SHM_RDONLY: an attach of the parent's own");
	if (r != (void *)-1) {
		is(RES(mprotect(r, page, PROT_READ | PROT_WRITE)), -EACCES,
		   "SHM_RDONLY: mprotect(PROT_WRITE) on it: EACCES (as the kernel's)");
		kipc_shmdt(r);
	}

	/* SHM_RND, aligned and unaligned addresses. */
	n = nattch_of(id);
	r = free_range(seglen, SHMLBA);
	ok(r != NULL, "a free address range");
	if (r) {
		char *p = kipc_shmat(id, r + 123, SHM_RND);

		ok(p == r, "shmat(addr + 123, SHM_RND): rounded down to SHMLBA (%p, want %p)",
		   (void *)p, (void *)r);
		ok(p == r && p[0] == 't', "... and the data is there");
		if (p != (void *)-1)
			kipc_shmdt(p);
		is(shmat_err(id, r + 123, 0), -EINVAL, "shmat of an unaligned address, no SHM_RND: "
		   "EINVAL");
		p = kipc_shmat(id, r, 0);
		ok(p == r, "shmat of a free aligned address: exactly there");
		if (p != (void *)-1)
			kipc_shmdt(p);
	}
	is(nattch_of(id), n, "the attaches at given addresses are all undone");

	/* An occupied address: EINVAL, unless SHM_REMAP. */
	occ = mmap(NULL, seglen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ok(occ != MAP_FAILED, "an occupied address range");
	if (occ != MAP_FAILED) {
		char *p;

		memset(occ, 0x5a, seglen);
		is(shmat_err(id, occ, 0), -EINVAL, "shmat of an occupied address, no SHM_REMAP: "
		   "EINVAL");
		ok(occ[0] == 0x5a && occ[seglen - 1] == 0x5a, "... and the mapping there is intact");
		p = kipc_shmat(id, occ, SHM_REMAP);
		ok(p == occ, "shmat of an occupied address with SHM_REMAP: there");
		ok(p == occ && !strcmp(p + 1, "hrough a"), "... showing the segment");
		if (p == occ)
			kipc_shmdt(p);
		else
			munmap(occ, seglen);
	}
	is(shmat_err(id, NULL, SHM_REMAP), -EINVAL, "shmat(NULL, SHM_REMAP): EINVAL");

	/* shmdt of what is not an attach's start. */
	n = nattch_of(id);
	is(RES(kipc_shmdt(a + page)), -EINVAL, "shmdt inside an attach (not its start): EINVAL");
	is(RES(kipc_shmdt(a + 1)), -EINVAL, "shmdt of an unaligned address: EINVAL");
	is(RES(kipc_shmdt(&zero)), -EINVAL, "shmdt of a stack address: EINVAL");
	is(RES(kipc_shmdt(NULL)), -EINVAL, "shmdt(NULL): EINVAL");
	is(nattch_of(id), n, "the failed shmdt calls changed nothing (shm_nattch)");
	ok(!strcmp(a, "through a"), "... and the attach still works");

	is(RES(kipc_shmdt(b)), 0, "shmdt of an attach");
	ok(msync(b, page, MS_ASYNC) == -1 && errno == ENOMEM, "shmdt unmapped it");
	is(nattch_of(id), n - 1, "shmdt: shm_nattch one less");
	is(RES(kipc_shmdt(b)), -EINVAL, "shmdt of the same address again: EINVAL");

	is(shmat_err(-1, NULL, 0), -EINVAL, "shmat(-1): EINVAL");
	is(shmat_err(INT_MIN, NULL, 0), -EINVAL, "shmat(INT_MIN): EINVAL");
	is(shmat_err(FOREIGN_ID(1), NULL, 0), -EINVAL, "shmat of an id never made: EINVAL");

	kipc_shmdt(a);
	kipc_shmctl(id, IPC_RMID, NULL);
	is(shmat_err(id, NULL, 0), -EINVAL, "shmat of a removed id: EINVAL");
}

/* ------------------------------------------------------------------------ */
/* IPC_STAT fields                                                          */
/* ------------------------------------------------------------------------ */

static int kid_attach_id(void *arg)
{
	int id = *(int *)arg;

	return kipc_shmat(id, NULL, 0) == (void *)-1;
}

static int kid_attach_detach(void *arg)
{
	int id = *(int *)arg;
	void *p = kipc_shmat(id, NULL, 0);

	return p == (void *)-1 || kipc_shmdt(p) != 0;
}

static int nobody_create(void *arg)
{
	(void)arg;
	sh->r[0] = RES(kipc_shmget(IPC_PRIVATE, 777, 0644));
	return 0;
}

static void test_stat_fields(void)
{
	struct shmid_ds ds;
	struct kid k = { .pid = -1 };
	time_t t0, t1;
	void *p1, *p2;
	int id;

	t0 = time(NULL);
	id = kipc_shmget(KEY(10), 12345, IPC_CREAT | IPC_EXCL | 0640);
	t1 = time(NULL);
	ok(id >= 0 && stat_id(id, &ds) == 0, "IPC_STAT of a new segment");
	if (id < 0)
		return;
	is(ds.shm_segsz, 12345, "shm_segsz: the size asked for, not rounded");
	is(ds.shm_nattch, 0, "shm_nattch of a new segment: 0");
	is(ds.shm_cpid, getpid(), "shm_cpid: the creator");
	is(ds.shm_lpid, 0, "shm_lpid of a never attached segment: 0");
	is(ds.shm_atime, 0, "shm_atime of a never attached segment: 0");
	is(ds.shm_dtime, 0, "shm_dtime of a never detached segment: 0");
	ok(in_window(ds.shm_ctime, t0, t1), "shm_ctime: the creation time (%lld, now %lld)",
	   (long long)ds.shm_ctime, (long long)t1);
	is(ds.shm_perm.__key, KEY(10), "shm_perm.__key: the key");
	is(ds.shm_perm.uid, geteuid(), "shm_perm.uid: the creator's euid");
	is(ds.shm_perm.gid, getegid(), "shm_perm.gid: the creator's egid");
	is(ds.shm_perm.cuid, geteuid(), "shm_perm.cuid: the creator's euid");
	is(ds.shm_perm.cgid, getegid(), "shm_perm.cgid: the creator's egid");
	is(ds.shm_perm.mode, 0640, "shm_perm.mode: as given");

	t0 = time(NULL);
	p1 = kipc_shmat(id, NULL, 0);
	p2 = kipc_shmat(id, NULL, 0);
	t1 = time(NULL);
	stat_id(id, &ds);
	is(ds.shm_nattch, 2, "two attaches in one process: shm_nattch 2");
	ok(in_window(ds.shm_atime, t0, t1), "shm_atime: the last attach's time");
	is(ds.shm_lpid, getpid(), "shm_lpid: the attaching process");
	is(ds.shm_dtime, 0, "shm_dtime: still 0");

	ok(kid_start(&k, kid_attach_id, &id, false), "a child attaches by id and stays");
	stat_id(id, &ds);
	is(ds.shm_lpid, k.pid, "shm_lpid: the child, the last attacher");
	is(ds.shm_nattch, 2 + 2 + 1, "shm_nattch: 2 + the child's 2 inherited + its own 1");
	kid_reap(&k);

	t0 = time(NULL);
	ok(kid_start(&k, kid_attach_detach, &id, false), "a child attaches and detaches");
	t1 = time(NULL);
	stat_id(id, &ds);
	is(ds.shm_lpid, k.pid, "shm_lpid: the child, the last detacher");
	ok(in_window(ds.shm_dtime, t0, t1), "shm_dtime: the child's detach");
	is(ds.shm_nattch, 4, "shm_nattch: 2 + the child's 2 inherited");
	kid_reap(&k);

	kipc_shmdt(p2);
	stat_id(id, &ds);
	is(ds.shm_lpid, getpid(), "shm_lpid: the parent again after its shmdt");
	is(ds.shm_nattch, 1, "shm_nattch: 1 after the parent's shmdt");
	kipc_shmdt(p1);
	is(nattch_of(id), 0, "shm_nattch: 0 after the last shmdt");
	kipc_shmctl(id, IPC_RMID, NULL);

	if (!as_root) {
		ok(1, "# SKIP shm_perm of another user's segment: not running as root");
		return;
	}
	reset_results();
	{
		pid_t pid = fork_child();

		if (pid == 0)
			_exit(drop_to_nobody() < 0 ? 100 : nobody_create(NULL));
		is(wait_child(pid), 0, "a nobody child made a segment");
		id = (int)sh->r[0];
		ok(id >= 0 && stat_id(id, &ds) == 0, "root can IPC_STAT nobody's 0644 segment");
		if (id < 0)
			return;
		ok(ds.shm_perm.cuid == nobody_uid && ds.shm_perm.uid == nobody_uid,
		   "shm_perm.cuid and uid: nobody (%u, %u)", (unsigned)ds.shm_perm.cuid,
		   (unsigned)ds.shm_perm.uid);
		ok(ds.shm_perm.cgid == nobody_gid && ds.shm_perm.gid == nobody_gid,
		   "shm_perm.cgid and gid: nobody's group (%u, %u)", (unsigned)ds.shm_perm.cgid,
		   (unsigned)ds.shm_perm.gid);
		is(ds.shm_cpid, pid, "shm_cpid: the nobody child");
		is(ds.shm_segsz, 777, "shm_segsz: 777");
		is(RES(kipc_shmctl(id, IPC_RMID, NULL)), 0, "root may IPC_RMID nobody's segment");
	}
}

/* ------------------------------------------------------------------------ */
/* shm_nattch across processes                                              */
/* ------------------------------------------------------------------------ */

static int kid_attach_three(void *arg)
{
	int id = *(int *)arg;

	for (int i = 0; i < 3; i++)
		if (kipc_shmat(id, NULL, 0) == (void *)-1)
			return 1;
	return 0;
}

static int kid_detach_one(void *arg)
{
	return kipc_shmdt(arg) != 0;
}

static void test_nattch_procs(void)
{
	struct kid k = { .pid = -1 };
	char *p1, *p2;
	int id;

	id = kipc_shmget(IPC_PRIVATE, 5000, 0600);
	p1 = kipc_shmat(id, NULL, 0);
	p2 = kipc_shmat(id, NULL, 0);
	ok(id >= 0 && p1 != (void *)-1 && p2 != (void *)-1, "nattch: a segment, attached twice");
	if (id < 0 || p1 == (void *)-1 || p2 == (void *)-1)
		return;
	is(nattch_of(id), 2, "nattch: 2");

	/* fork() adds the child's inherited attaches. */
	ok(kid_start(&k, NULL, NULL, false), "nattch: a forked child lives");
	is(nattch_of(id), 4, "nattch: the child's inherited attaches count (2 + 2)");
	ok(kid_reap(&k), "nattch: the child exits normally (_exit, no shmdt)");
	is(nattch_of(id), 2, "nattch: back to 2 once it is gone");

	ok(kid_start(&k, NULL, NULL, true), "nattch: a forked child that will exit()");
	is(nattch_of(id), 4, "nattch: 4 while it lives");
	ok(kid_reap(&k), "nattch: the child calls exit() without shmdt");
	is(nattch_of(id), 2, "nattch: back to 2 once it is gone");

	ok(kid_start(&k, kid_detach_one, p1, false), "nattch: a child detaches one inherited attach");
	is(nattch_of(id), 3, "nattch: 3 while it lives (its shmdt counted)");
	p1[0] = 'p';
	ok(p2[0] == 'p', "nattch: the parent's attach is unaffected");
	ok(kid_reap(&k), "nattch: that child exits");
	is(nattch_of(id), 2, "nattch: back to 2");

	/* A child that attaches and is killed with -9. */
	ok(kid_start(&k, kid_attach_three, &id, false), "nattch: a child attaches 3 more times");
	is(nattch_of(id), 2 + 2 + 3, "nattch: 7 while it lives (2 + 2 inherited + 3)");
	ok(kid_kill(&k), "nattch: the child is killed with SIGKILL (a zombie, not reaped)");
	ok(task_state(k.pid, k.pid) == 'Z', "nattch: it is a zombie (state %c)",
	   task_state(k.pid, k.pid));
	is(nattch_of(id), 2, "nattch: the zombie's attaches no longer count");
	kid_finish(&k);
	is(nattch_of(id), 2, "nattch: still 2 after it is reaped");

	kipc_shmdt(p1);
	kipc_shmdt(p2);
	is(nattch_of(id), 0, "nattch: 0 after the parent's shmdt");
	kipc_shmctl(id, IPC_RMID, NULL);
}

/* ------------------------------------------------------------------------ */
/* IPC_RMID                                                                 */
/* ------------------------------------------------------------------------ */

static int kid_attach_write(void *arg)
{
	int id = *(int *)arg;
	char *p = kipc_shmat(id, NULL, 0);

	if (p == (void *)-1)
		return 1;
	strcpy(p, "child's");
	return 0;
}

static void test_rmid(void)
{
	struct shmid_ds ds;
	struct kid k = { .pid = -1 };
	char *p, *q;
	int id, id2, status;

	/* Unattached: gone at once. */
	id = kipc_shmget(KEY(20), 100, IPC_CREAT | IPC_EXCL | 0600);
	ok(id >= 0 && id_exists(id) && key_exists(KEY(20)), "IPC_RMID: an unattached segment");
	is(RES(kipc_shmctl(id, IPC_RMID, NULL)), 0, "IPC_RMID of an unattached segment: 0");
	is(stat_id(id, &ds), -EINVAL, "... IPC_STAT of its id: EINVAL at once");
	ok(!id_exists(id) && !key_exists(KEY(20)), "... its files are gone from sysv/");
	is(RES(kipc_shmget(KEY(20), 0, 0)), -ENOENT, "... its key is gone (ENOENT)");
	is(RES(kipc_shmctl(id, IPC_RMID, NULL)), -EINVAL, "... a second IPC_RMID: EINVAL");

	/* Attached: the key goes at once, the segment at the last detach. */
	id = kipc_shmget(KEY(21), 3000, IPC_CREAT | IPC_EXCL | 0600);
	p = kipc_shmat(id, NULL, 0);
	ok(id >= 0 && p != (void *)-1, "IPC_RMID: an attached segment");
	if (id < 0 || p == (void *)-1)
		return;
	strcpy(p, "old data");
	is(RES(kipc_shmctl(id, IPC_RMID, NULL)), 0, "IPC_RMID of an attached segment: 0");
	ok(!key_exists(KEY(21)), "... its key link is gone at once");
	is(RES(kipc_shmget(KEY(21), 0, 0)), -ENOENT, "... shmget(key, 0): ENOENT");
	id2 = kipc_shmget(KEY(21), 3000, IPC_CREAT | 0600);
	ok(id2 >= 0 && id2 != id, "... shmget(key, IPC_CREAT) makes a new segment (%d, old %d)",
	   id2, id);
	memset(&ds, 0, sizeof(ds));
	ok(stat_id(id, &ds) == 0, "... IPC_STAT of the old id still works");
	ok(ds.shm_perm.mode & SHM_DEST, "... shows SHM_DEST in the mode");
	is(ds.shm_perm.mode & 0777, 0600, "... with the permission bits kept");
	is(ds.shm_perm.__key, IPC_PRIVATE, "... and the key IPC_PRIVATE");
	is(ds.shm_nattch, 1, "... and shm_nattch 1");
	ok(!strcmp(p, "old data"), "... the memory still holds the data");
	strcpy(p, "new data");
	ok(!strcmp(p, "new data"), "... and takes writes");
	q = kipc_shmat(id2, NULL, 0);
	ok(q != (void *)-1 && q[0] == 0, "... the new segment of the key is another, empty one");
	if (q != (void *)-1)
		kipc_shmdt(q);
	q = kipc_shmat(id, NULL, 0);
	ok(q != (void *)-1 && !strcmp(q, "new data"),
	   "... shmat of the removed id while it is attached works, as Linux's");
	is(nattch_of(id), 2, "... and counts (shm_nattch 2)");
	if (q != (void *)-1)
		kipc_shmdt(q);
	is(RES(kipc_shmctl(id, IPC_RMID, NULL)), 0, "... a second IPC_RMID of it: 0, as Linux's");
	ok(id_exists(id), "... its file stays while attached");
	is(RES(kipc_shmdt(p)), 0, "shmdt of the last attach");
	ok(!id_exists(id), "... destroys it: the file is gone");
	is(stat_id(id, &ds), -EINVAL, "... IPC_STAT of the id: EINVAL");
	is(shmat_err(id, NULL, 0), -EINVAL, "... shmat of the id: EINVAL");
	ok(stat_id(id2, &ds) == 0 && ds.shm_perm.__key == KEY(21),
	   "... the key's new segment is untouched");
	kipc_shmctl(id2, IPC_RMID, NULL);

	/* The last attacher killed with -9: then IPC_STAT ... */
	id = kipc_shmget(IPC_PRIVATE, 100, 0600);
	ok(id >= 0 && kid_start(&k, kid_attach_write, &id, false),
	   "IPC_RMID: a child is the only attacher");
	is(RES(kipc_shmctl(id, IPC_RMID, NULL)), 0, "... IPC_RMID while the child is attached: 0");
	ok(stat_id(id, &ds) == 0 && ds.shm_nattch == 1, "... it lives on (shm_nattch 1)");
	ok(kid_kill(&k), "... the child is killed with -9 (a zombie)");
	is(stat_id(id, &ds), -EINVAL, "... the next IPC_STAT of the id: EINVAL");
	is(stat_id(id, &ds), -EINVAL, "... and the one after: EINVAL");
	ok(!id_exists(id), "... the file is gone");
	kid_finish(&k);

	/* ... or shmat. */
	id = kipc_shmget(IPC_PRIVATE, 100, 0600);
	ok(id >= 0 && kid_start(&k, kid_attach_write, &id, false),
	   "IPC_RMID: another child is the only attacher");
	is(RES(kipc_shmctl(id, IPC_RMID, NULL)), 0, "... IPC_RMID: 0");
	ok(kid_kill(&k), "... the child is killed with -9");
	status = kid_finish(&k);
	ok(killed_by(status, SIGKILL), "... and reaped");
	is(shmat_err(id, NULL, 0), -EINVAL, "... the next shmat of the id: EINVAL");
	ok(!id_exists(id), "... the file is gone");
	is(stat_id(id, &ds), -EINVAL, "... IPC_STAT: EINVAL");

	/* The last attacher leaves with exit(): its destructor destroys it. */
	id = kipc_shmget(IPC_PRIVATE, 100, 0600);
	ok(id >= 0 && kid_start(&k, kid_attach_write, &id, true),
	   "IPC_RMID: a child that will exit() is the only attacher");
	kipc_shmctl(id, IPC_RMID, NULL);
	ok(kid_reap(&k), "... it calls exit() without shmdt");
	ok(!id_exists(id), "... the segment was destroyed at its exit (no file, no lookup needed)");
	is(stat_id(id, &ds), -EINVAL, "... IPC_STAT: EINVAL");

	/* The last attacher leaves with _exit(): nothing runs at its end. */
	id = kipc_shmget(IPC_PRIVATE, 100, 0600);
	ok(id >= 0 && kid_start(&k, kid_attach_write, &id, false),
	   "IPC_RMID: a child that will _exit() is the only attacher");
	kipc_shmctl(id, IPC_RMID, NULL);
	ok(kid_reap(&k), "... it calls _exit() without shmdt");
	is(stat_id(id, &ds), -EINVAL, "... the next IPC_STAT of the id: EINVAL");
	ok(!id_exists(id), "... the file is gone");
}

/* ------------------------------------------------------------------------ */
/* IPC_SET and other users                                                  */
/* ------------------------------------------------------------------------ */

struct perm_arg {
	int id600, id644, id666, idown;
	key_t k600, k644, k666;
};

static int nobody_sysv(void *arg)
{
	const struct perm_arg *pa = arg;
	struct shmid_ds ds;
	char *p;

	memset(&ds, 0, sizeof(ds));
	ds.shm_perm.uid = nobody_uid;
	ds.shm_perm.gid = nobody_gid;
	ds.shm_perm.mode = 0666;
	sh->r[0] = RES(kipc_shmctl(pa->id600, IPC_STAT, &ds));
	sh->r[1] = RES(kipc_shmctl(pa->id600, IPC_SET, &ds));
	sh->r[2] = RES(kipc_shmctl(pa->id600, IPC_RMID, NULL));
	sh->r[3] = RES(kipc_shmget(pa->k600, 0, 0600));
	sh->r[4] = shmat_err(pa->id600, NULL, 0);
	sh->r[5] = shmat_err(pa->id600, NULL, SHM_RDONLY);
	sh->r[6] = RES(kipc_shmget(pa->k600, 0, IPC_CREAT | IPC_EXCL | 0600));
	sh->r[7] = RES(kipc_shmctl(pa->id644, IPC_STAT, &ds));
	sh->r[8] = ds.shm_segsz;
	sh->r[9] = RES(kipc_shmget(pa->k644, 0, 0444));
	sh->r[10] = RES(kipc_shmget(pa->k644, 0, 0644));
	sh->r[11] = shmat_err(pa->id644, NULL, SHM_RDONLY);
	ds.shm_perm.mode = 0666;
	sh->r[12] = RES(kipc_shmctl(pa->id666, IPC_SET, &ds));
	sh->r[13] = RES(kipc_shmctl(pa->id666, IPC_RMID, NULL));
	sh->r[14] = RES(kipc_shmget(pa->k666, 0, 0666));
	p = kipc_shmat(pa->id666, NULL, 0);
	sh->r[15] = p == (void *)-1 ? -errno : 0;
	if (p != (void *)-1) {
		strcpy(p, "nobody was here");
		kipc_shmdt(p);
	}
	/* A segment given to nobody with IPC_SET: nobody is its owner now. */
	ds.shm_perm.uid = nobody_uid;
	ds.shm_perm.gid = nobody_gid;
	ds.shm_perm.mode = 0604;
	sh->r[16] = RES(kipc_shmctl(pa->idown, IPC_SET, &ds));
	return 0;
}

static void test_ipc_set(void)
{
	struct shmid_ds ds, set;
	struct kipc__obj_hdr *h;
	struct perm_arg pa;
	char path[PATH_MAX];
	struct stat st;
	time_t t0, t1;
	int id;

	id = kipc_shmget(KEY(30), 100, IPC_CREAT | IPC_EXCL | 0600);
	ok(id >= 0 && stat_id(id, &ds) == 0, "IPC_SET: a 0600 segment");
	if (id < 0)
		return;
	/* Back-date shm_ctime in the file, so that a change shows. */
	h = map_hdr(id);
	ok(h != NULL, "IPC_SET: its header, mapped");
	if (h)
		h->ctime = 1000;
	unmap_hdr(h);
	ok(stat_id(id, &ds) == 0 && ds.shm_ctime == 1000, "IPC_SET: shm_ctime back-dated to 1000");
	set = ds;
	set.shm_perm.mode = 0644;
	t0 = time(NULL);
	is(RES(kipc_shmctl(id, IPC_SET, &set)), 0, "IPC_SET mode 0644: 0");
	t1 = time(NULL);
	stat_id(id, &ds);
	is(ds.shm_perm.mode, 0644, "IPC_SET: IPC_STAT shows mode 0644");
	is(id_file_mode(id), 0644, "IPC_SET: the file's mode is 0644");
	ok(in_window(ds.shm_ctime, t0, t1), "IPC_SET: shm_ctime is now (%lld)",
	   (long long)ds.shm_ctime);
	is(ds.shm_perm.uid, geteuid(), "IPC_SET: uid unchanged");

	set.shm_perm.mode = 0640 | SHM_DEST | S_ISVTX;
	is(RES(kipc_shmctl(id, IPC_SET, &set)), 0, "IPC_SET mode 0640|SHM_DEST|S_ISVTX: 0");
	stat_id(id, &ds);
	is(ds.shm_perm.mode, 0640, "IPC_SET: only the permission bits are taken (%#o)",
	   ds.shm_perm.mode);
	is(kipc_shmget(KEY(30), 0, 0), id, "IPC_SET: SHM_DEST did not remove it (key still there)");
	is(ds.shm_segsz, 100, "IPC_SET: shm_segsz unchanged");
	kipc_shmctl(id, IPC_RMID, NULL);

	if (!as_root) {
		for (int i = 0; i < 8; i++)
			ok(1, "# SKIP System V permissions of other users: not running as root");
		return;
	}

	pa.k600 = KEY(31);
	pa.k644 = KEY(32);
	pa.k666 = KEY(33);
	pa.id600 = kipc_shmget(pa.k600, 100, IPC_CREAT | IPC_EXCL | 0600);
	pa.id644 = kipc_shmget(pa.k644, 200, IPC_CREAT | IPC_EXCL | 0644);
	pa.id666 = kipc_shmget(pa.k666, 300, IPC_CREAT | IPC_EXCL | 0666);
	pa.idown = kipc_shmget(IPC_PRIVATE, 400, 0600);
	ok(pa.id600 >= 0 && pa.id644 >= 0 && pa.id666 >= 0 && pa.idown >= 0,
	   "perms: root's 0600, 0644, 0666 segments and one to give away");
	stat_id(pa.idown, &set);
	set.shm_perm.uid = nobody_uid;
	set.shm_perm.gid = nobody_gid;
	is(RES(kipc_shmctl(pa.idown, IPC_SET, &set)), 0, "root gives a segment to nobody (IPC_SET)");
	id_file(path, pa.idown);
	ok(stat_id(pa.idown, &ds) == 0 && ds.shm_perm.uid == nobody_uid &&
	   ds.shm_perm.gid == nobody_gid && ds.shm_perm.cuid == 0,
	   "... IPC_STAT: uid and gid nobody, cuid still root");
	ok(lstat(path, &st) == 0 && st.st_uid == nobody_uid && st.st_gid == nobody_gid,
	   "... the file belongs to nobody");

	reset_results();
	is(in_child(nobody_sysv, &pa, true), 0, "perms: a child running as nobody");
	is(sh->r[0], -EACCES, "nobody: IPC_STAT of root's 0600 segment: EACCES");
	is(sh->r[1], -EPERM, "nobody: IPC_SET of root's 0600 segment: EPERM");
	is(sh->r[2], -EPERM, "nobody: IPC_RMID of root's 0600 segment: EPERM");
	is(sh->r[3], -EACCES, "nobody: shmget(key, 0600) of root's 0600 segment: EACCES");
	is(sh->r[4], -EACCES, "nobody: shmat of root's 0600 segment: EACCES");
	is(sh->r[5], -EACCES, "nobody: shmat SHM_RDONLY of root's 0600 segment: EACCES");
	is(sh->r[6], -EEXIST, "nobody: shmget(key, IPC_CREAT|IPC_EXCL) of root's 0600 key: EEXIST");
	is(sh->r[7], 0, "nobody: IPC_STAT of root's 0644 segment works");
	is(sh->r[8], 200, "nobody: ... and shows its size");
	is(sh->r[9], pa.id644, "nobody: shmget(key, 0444) of root's 0644 segment: its id");
	is(sh->r[10], -EACCES, "nobody: shmget(key, 0644) of root's 0644 segment: EACCES");
	is(sh->r[11], -EACCES, "nobody: shmat SHM_RDONLY of root's 0644 segment: EACCES "
	   "(documented: attaching needs write permission)");
	is(sh->r[12], -EPERM, "nobody: IPC_SET of root's 0666 segment: EPERM");
	is(sh->r[13], -EPERM, "nobody: IPC_RMID of root's 0666 segment: EPERM");
	is(sh->r[14], pa.id666, "nobody: shmget(key, 0666) of root's 0666 segment: its id");
	is(sh->r[15], 0, "nobody: shmat of root's 0666 segment works");
	is(sh->r[16], 0, "nobody: IPC_SET of a segment given to it (it is the owner): 0");

	ok(stat_id(pa.id600, &ds) == 0 && ds.shm_perm.mode == 0600 && key_exists(pa.k600),
	   "perms: root's 0600 segment is unchanged");
	ok(stat_id(pa.id666, &ds) == 0 && ds.shm_perm.mode == 0666 && key_exists(pa.k666),
	   "perms: root's 0666 segment is unchanged");
	{
		char *p = kipc_shmat(pa.id666, NULL, 0);

		ok(p != (void *)-1 && !strcmp(p, "nobody was here"),
		   "perms: root sees what nobody wrote into the 0666 segment");
		if (p != (void *)-1)
			kipc_shmdt(p);
	}
	memset(&ds, 0, sizeof(ds));
	stat_id(pa.idown, &ds);
	is(ds.shm_perm.mode, 0604, "perms: nobody's IPC_SET took effect (IPC_STAT mode)");
	is(id_file_mode(pa.idown), 0604, "perms: ... on the file too");
	kipc_shmctl(pa.id600, IPC_RMID, NULL);
	kipc_shmctl(pa.id644, IPC_RMID, NULL);
	kipc_shmctl(pa.id666, IPC_RMID, NULL);
	kipc_shmctl(pa.idown, IPC_RMID, NULL);
}

/* ------------------------------------------------------------------------ */
/* Bad input, corrupted files                                               */
/* ------------------------------------------------------------------------ */

static bool same_stat(const struct shmid_ds *a, const struct shmid_ds *b)
{
	return a->shm_perm.mode == b->shm_perm.mode && a->shm_perm.__key == b->shm_perm.__key &&
	       a->shm_perm.uid == b->shm_perm.uid && a->shm_segsz == b->shm_segsz &&
	       a->shm_nattch == b->shm_nattch && a->shm_ctime == b->shm_ctime &&
	       a->shm_lpid == b->shm_lpid && a->shm_atime == b->shm_atime;
}

/* Plants a file as sysv/shm.<id>; true if done. */
static bool plant(int id, const void *buf, size_t len)
{
	char path[PATH_MAX];
	int fd;
	bool done;

	id_file(path, id);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (fd < 0)
		return false;
	done = write(fd, buf, len) == (ssize_t)len;
	close(fd);
	return done;
}

static bool corrupt_err(long r)
{
	return r == -EBADMSG || r == -EINVAL;
}

static void test_bad_input(void)
{
	struct shmid_ds before, ds;
	char path[PATH_MAX], path2[PATH_MAX], *junk, *copy;
	int id, files;
	void *p;
	double t0;

	id = kipc_shmget(KEY(40), 5000, IPC_CREAT | IPC_EXCL | 0600);
	p = kipc_shmat(id, NULL, 0);
	ok(id >= 0 && p != (void *)-1 && stat_id(id, &before) == 0,
	   "bad input: an attached segment");
	if (id < 0 || p == (void *)-1)
		return;
	files = count_id_files();
	memset(&ds, 0, sizeof(ds));
	is(RES(kipc_shmctl(id, 12345, &ds)), -EINVAL, "shmctl with an unknown cmd: EINVAL");
	is(RES(kipc_shmctl(id, -1, &ds)), -EINVAL, "shmctl with cmd -1: EINVAL");
	is(RES(kipc_shmctl(id, IPC_STAT, NULL)), -EFAULT, "IPC_STAT with a NULL buf: EFAULT");
	is(RES(kipc_shmctl(id, IPC_SET, NULL)), -EFAULT, "IPC_SET with a NULL buf: EFAULT");
	is(RES(kipc_shmctl(-1, IPC_STAT, &ds)), -EINVAL, "IPC_STAT of id -1: EINVAL");
	is(RES(kipc_shmctl(INT_MIN, IPC_STAT, &ds)), -EINVAL, "IPC_STAT of id INT_MIN: EINVAL");
	is(RES(kipc_shmctl(-1, IPC_RMID, NULL)), -EINVAL, "IPC_RMID of id -1: EINVAL");
	is(RES(kipc_shmctl(-1, IPC_SET, &before)), -EINVAL, "IPC_SET of id -1: EINVAL");
	is(RES(kipc_shmctl(FOREIGN_ID(2), IPC_STAT, &ds)), -EINVAL,
	   "IPC_STAT of an id never made: EINVAL");
	is(RES(kipc_shmctl(FOREIGN_ID(2), IPC_RMID, NULL)), -EINVAL,
	   "IPC_RMID of an id never made: EINVAL");
	is(shmat_err(-7, NULL, 0), -EINVAL, "shmat of id -7: EINVAL");
	ok(stat_id(id, &ds) == 0 && same_stat(&ds, &before),
	   "bad input: the segment's figures did not change");
	ok(key_exists(KEY(40)) && id_exists(id), "bad input: its files are still there");
	is(count_id_files(), files, "bad input: no file appeared or vanished");

	/* Corrupted or foreign files under an id's name. */
	junk = malloc(65536);
	copy = malloc(65536);
	ok(junk && copy, "corrupt: buffers");
	if (!junk || !copy) {
		free(junk);
		free(copy);
		goto out;
	}
	memset(junk, 'x', 65536);
	ok(plant(FOREIGN_ID(10), junk, 65536), "corrupt: planted 64 KiB of junk as an id's file");
	ok(corrupt_err(stat_id(FOREIGN_ID(10), &ds)), "corrupt: IPC_STAT of junk: EBADMSG/EINVAL");
	ok(corrupt_err(shmat_err(FOREIGN_ID(10), NULL, 0)), "corrupt: shmat of junk: EBADMSG/EINVAL");
	ok(corrupt_err(RES(kipc_shmctl(FOREIGN_ID(10), IPC_RMID, NULL))),
	   "corrupt: IPC_RMID of junk: EBADMSG/EINVAL");
	ok(plant(FOREIGN_ID(11), "", 0), "corrupt: planted an empty file");
	ok(corrupt_err(stat_id(FOREIGN_ID(11), &ds)), "corrupt: IPC_STAT of it: EBADMSG/EINVAL");

	/* A real segment's first 20 KiB: truncated. */
	id_file(path, id);
	ok(copy_file_head(id, copy, 20480) == 0, "corrupt: read a real segment's file");
	/* Under a name of its own, with its id field to match: only the size is wrong. */
	((struct kipc__obj_hdr *)copy)->id = FOREIGN_ID(12);
	ok(plant(FOREIGN_ID(12), copy, 20480), "corrupt: planted a truncated copy of a segment");
	ok(corrupt_err(stat_id(FOREIGN_ID(12), &ds)), "corrupt: IPC_STAT of it: EBADMSG/EINVAL");
	ok(corrupt_err(shmat_err(FOREIGN_ID(12), NULL, 0)),
	   "corrupt: shmat of it: EBADMSG/EINVAL");

	/* A hard link of a real segment under another id: the id field disagrees. */
	id_file(path2, FOREIGN_ID(13));
	ok(link(path, path2) == 0, "corrupt: linked a real segment under another id's name");
	ok(corrupt_err(stat_id(FOREIGN_ID(13), &ds)), "corrupt: IPC_STAT of it: EBADMSG/EINVAL");
	ok(corrupt_err(RES(kipc_shmctl(FOREIGN_ID(13), IPC_RMID, NULL))),
	   "corrupt: IPC_RMID of it: EBADMSG/EINVAL");
	ok(stat_id(id, &ds) == 0 && same_stat(&ds, &before) && key_exists(KEY(40)),
	   "corrupt: the real segment is unharmed");

	/* A FIFO and a symlink: errors, not hangs. */
	id_file(path2, FOREIGN_ID(14));
	ok(mkfifo(path2, 0600) == 0, "corrupt: planted a FIFO as an id's file");
	t0 = now();
	ok(corrupt_err(stat_id(FOREIGN_ID(14), &ds)), "corrupt: IPC_STAT of a FIFO: EBADMSG/EINVAL");
	ok(corrupt_err(shmat_err(FOREIGN_ID(14), NULL, 0)), "corrupt: shmat of a FIFO: "
	   "EBADMSG/EINVAL");
	ok(now() - t0 < 5.0, "corrupt: ... without blocking");
	id_file(path2, FOREIGN_ID(15));
	ok(symlink(path, path2) == 0, "corrupt: planted a symlink to a real segment");
	{
		long r = stat_id(FOREIGN_ID(15), &ds);

		ok(r == -ELOOP || corrupt_err(r), "corrupt: IPC_STAT through a symlink is refused "
		   "(%ld)", r);
	}

	{
		int left = 0;

		for (int i = 10; i <= 15; i++) {
			id_file(path2, FOREIGN_ID(i));
			if (exists(path2))
				left++;
			else
				diag("corrupt: planted file %d was removed", FOREIGN_ID(i));
			unlink(path2);
		}
		is(left, 6, "corrupt: the library removed none of the planted files");
	}
	free(junk);
	free(copy);
out:
	kipc_shmdt(p);
	kipc_shmctl(id, IPC_RMID, NULL);
}

/* ------------------------------------------------------------------------ */
/* Creations abandoned by a killed creator                                  */
/* ------------------------------------------------------------------------ */

struct stale_arg {
	key_t key;
	int id;
	size_t size;
	bool keep_key;		/* child_unfinish: leave the key link */
	bool stay;		/* child_half_create: stay alive, a creator at work */
};

/*
 * A real segment turned back into an unfinished creation: state CREATING
 * and (unless keep_key) no key link, with the creator (this child) dead.
 */
static int child_unfinish(void *arg)
{
	struct stale_arg *sa = arg;
	struct kipc__obj_hdr *h;
	char path[PATH_MAX];
	int id = kipc_shmget(sa->key, sa->size, IPC_CREAT | IPC_EXCL | 0600);

	sh->r[0] = id;
	if (id < 0)
		return 10;
	h = map_hdr(id);
	if (!h)
		return 11;
	__atomic_store_n(&h->state, KIPC__OBJ_CREATING, __ATOMIC_RELEASE);
	unmap_hdr(h);
	if (!sa->keep_key) {
		key_file(path, sa->key);
		if (unlink(path) < 0)
			return 12;
	}
	raise(SIGKILL);
	return 13;
}

/*
 * The same, built with the internal API and linked under its id only.  The
 * geometry and the meta (attach table) are copied from a fresh segment of
 * the same size, so that this does not depend on sysv_shm.c's layout.
 */
static int child_half_create(void *arg)
{
	struct stale_arg *sa = arg;
	struct kipc__obj_geom g = { .type = KIPC__OBJ_SYSV_SHM };
	struct kipc__obj_hdr *h;
	struct kipc__obj obj;
	char leaf[64], *meta;
	int tmpl = kipc_shmget(IPC_PRIVATE, sa->size, 0600);

	h = tmpl >= 0 ? map_hdr(tmpl) : NULL;
	if (!h)
		return 9;
	g.meta_size = h->meta_size;
	g.data_off = h->data_off;
	g.data_size = h->data_size;
	g.file_size = h->file_size;
	meta = g.meta_size > sizeof(*h) && g.meta_size <= (1u << 20) ? malloc(g.meta_size) : NULL;
	unmap_hdr(h);
	if (!meta || copy_file_head(tmpl, meta, g.meta_size) < 0)
		return 10;
	kipc_shmctl(tmpl, IPC_RMID, NULL);
	if (kipc__obj_create(KIPC__NS_SYSV, &g, 0600, &obj))
		return 10;
	memcpy((char *)obj.hdr + sizeof(*h), meta + sizeof(*h), g.meta_size - sizeof(*h));
	free(meta);
	obj.hdr->key = sa->key;
	obj.hdr->id = sa->id;
	snprintf(leaf, sizeof(leaf), "shm.%d", sa->id);
	if (kipc__obj_link(&obj, KIPC__NS_SYSV, leaf))
		return 11;
	/* While its creator lives, a lookup must not discard it. */
	{
		struct shmid_ds ds;

		sh->r[1] = stat_id(sa->id, &ds);
		sh->r[2] = id_exists(sa->id);
	}
	if (sa->stay) {
		__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
		for (;;)
			pause();
	}
	raise(SIGKILL);
	return 13;
}

static void test_stale_creator(void)
{
	struct stale_arg sa;
	struct shmid_ds ds;
	struct kipc__obj_hdr *h;
	pid_t pid;
	int status, id, id2;

	/* Killed after linking the id, before linking the key. */
	sa = (struct stale_arg){ .key = KEY(50), .size = 5000, .keep_key = false };
	reset_results();
	pid = fork_child();
	if (pid == 0)
		_exit(child_unfinish(&sa));
	status = child_status(pid, 20.0);
	id = (int)sh->r[0];
	ok(killed_by(status, SIGKILL) && id >= 0,
	   "stale: a creator left a CREATING segment without key link and was killed");
	ok(id >= 0 && id_exists(id) && !key_exists(KEY(50)), "stale: its id file is there, no key");
	is(stat_id(id, &ds), -EINVAL, "stale: IPC_STAT of its id: EINVAL");
	ok(!id_exists(id), "stale: the abandoned file was removed");
	is(RES(kipc_shmget(KEY(50), 0, 0)), -ENOENT, "stale: its key is free (ENOENT)");
	id2 = kipc_shmget(KEY(50), 5000, IPC_CREAT | IPC_EXCL | 0600);
	ok(id2 >= 0 && id2 != id, "stale: shmget(key, IPC_CREAT|IPC_EXCL) makes a new one");
	kipc_shmctl(id2, IPC_RMID, NULL);

	/* The same, first looked up by shmat. */
	sa.key = KEY(51);
	reset_results();
	pid = fork_child();
	if (pid == 0)
		_exit(child_unfinish(&sa));
	status = child_status(pid, 20.0);
	id = (int)sh->r[0];
	ok(killed_by(status, SIGKILL) && id >= 0 && id_exists(id),
	   "stale: another abandoned creation");
	is(shmat_err(id, NULL, 0), -EINVAL, "stale: shmat of its id: EINVAL");
	ok(!id_exists(id), "stale: the abandoned file was removed");

	/* Killed after linking the key, before marking it LIVE: complete. */
	sa = (struct stale_arg){ .key = KEY(52), .size = 5000, .keep_key = true };
	reset_results();
	pid = fork_child();
	if (pid == 0)
		_exit(child_unfinish(&sa));
	status = child_status(pid, 20.0);
	id = (int)sh->r[0];
	ok(killed_by(status, SIGKILL) && id >= 0 && key_exists(KEY(52)),
	   "stale: a creator killed after linking the key (state still CREATING)");
	ok(stat_id(id, &ds) == 0 && ds.shm_segsz == 5000 && ds.shm_perm.__key == KEY(52),
	   "stale: IPC_STAT of it works: it is complete");
	h = map_hdr(id);
	ok(h && __atomic_load_n(&h->state, __ATOMIC_ACQUIRE) == KIPC__OBJ_LIVE,
	   "stale: ... and it is now marked LIVE");
	unmap_hdr(h);
	is(kipc_shmget(KEY(52), 0, 0), id, "stale: its key names it");
	ok(id_exists(id) && key_exists(KEY(52)), "stale: its files stay");
	kipc_shmctl(id, IPC_RMID, NULL);

	/* Built by hand with kipc__obj_create + kipc__obj_link, keyed. */
	sa = (struct stale_arg){ .key = KEY(53), .id = FOREIGN_ID(20), .size = 3000 };
	reset_results();
	pid = fork_child();
	if (pid == 0)
		_exit(child_half_create(&sa));
	status = child_status(pid, 20.0);
	ok(killed_by(status, SIGKILL), "stale: a hand-made half creation, creator killed");
	is(sh->r[1], 0, "stale: while its creator lived, IPC_STAT found it");
	is(sh->r[2], 1, "stale: ... and did not discard it");
	ok(id_exists(sa.id) && !key_exists(KEY(53)), "stale: its id file is there, no key");
	is(stat_id(sa.id, &ds), -EINVAL, "stale: IPC_STAT of its id: EINVAL");
	ok(!id_exists(sa.id), "stale: the file was removed");
	is(RES(kipc_shmget(KEY(53), 0, 0)), -ENOENT, "stale: its key is free");
	id2 = kipc_shmget(KEY(53), 3000, IPC_CREAT | IPC_EXCL | 0600);
	ok(id2 >= 0, "stale: shmget(key, IPC_CREAT|IPC_EXCL) succeeds");
	kipc_shmctl(id2, IPC_RMID, NULL);

	/* The same, IPC_PRIVATE. */
	sa = (struct stale_arg){ .key = IPC_PRIVATE, .id = FOREIGN_ID(21), .size = 3000 };
	reset_results();
	pid = fork_child();
	if (pid == 0)
		_exit(child_half_create(&sa));
	status = child_status(pid, 20.0);
	ok(killed_by(status, SIGKILL) && id_exists(sa.id),
	   "stale: a hand-made IPC_PRIVATE half creation, creator killed");
	is(stat_id(sa.id, &ds), -EINVAL, "stale: IPC_STAT of its id: EINVAL");
	ok(!id_exists(sa.id), "stale: the file was removed");

	/* A creator still at work is left alone, until it dies. */
	sa = (struct stale_arg){ .key = KEY(54), .id = FOREIGN_ID(22), .size = 3000,
				 .stay = true };
	reset_results();
	pid = fork_child();
	if (pid == 0)
		_exit(child_half_create(&sa));
	ok(wait_flag(&sh->ready, 10.0), "stale: a creator stops half-way and stays alive");
	stat_id(sa.id, &ds);
	stat_id(sa.id, &ds);
	ok(id_exists(sa.id), "stale: lookups of its id leave its file alone");
	if (pid > 0)
		kill(pid, SIGKILL);
	ok(pid > 0 && wait_dead_unreaped(pid), "stale: then it is killed");
	is(stat_id(sa.id, &ds), -EINVAL, "stale: IPC_STAT of its id: EINVAL");
	ok(!id_exists(sa.id), "stale: the file was removed");
	child_status(pid, 20.0);
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	struct rlimit nocore = { 0, 0 };
	struct passwd *pw;

	page = (size_t)sysconf(_SC_PAGESIZE);
	if (argc == 4 && !strcmp(argv[1], "--attach-child"))
		return attach_main(atoi(argv[2]), argv[3]);

	rng_state = tap_seed() | 1;
	alarm(120);	/* a hang ends the run (SIGALRM) rather than the runner's timeout */
	setrlimit(RLIMIT_CORE, &nocore);

	remove_leftovers("kipc-test-shm-");
	snprintf(ns_root, sizeof(ns_root), "/dev/shm/kipc-test-shm-%d", (int)getpid());
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

	test_posix_basic();
	test_posix_names();
	test_posix_unlink();
	test_posix_symlink();
	test_posix_perms();
	test_shmget();
	test_race();
	test_attach();
	test_stat_fields();
	test_nattch_procs();
	test_rmid();
	test_ipc_set();
	test_bad_input();
	test_stale_creator();

	is(count_id_files(), 0, "at the end no System V segment is left in the namespace");
	rm_tree(ns_root);
	ok(!exists(ns_root), "the namespace directory was removed");
	return done_testing();
}
