// SPDX-License-Identifier: MIT
/*
 * The IPC core (SPEC sections 1, 3, 4): what every kipc IPC object stands on.
 *
 *   names       kipc__ns_check_name over valid and invalid POSIX names
 *   namespace   the directory tree: created 1777 whatever the umask, the
 *               default root, symlinks and planted files refused, another
 *               user's non-sticky directory refused, kipc__ns_open with
 *               O_NOFOLLOW and O_CLOEXEC, usable by other users
 *   objects     a real System V segment's file, then one corruption at a
 *               time (truncated, grown, each header field, the shm meta):
 *               kipc__obj_check's code on the bytes, and IPC_STAT / shmat
 *               in a child failing with EBADMSG (EINVAL for a valid object
 *               of another type), never crashing or hanging; random byte
 *               flips, on the buffer and on the file
 *   planted     a FIFO, a directory, a socket, a symlink under an id name
 *   processes   kipc__proc_self / kipc__proc_alive: fork, SIGKILL (dead as a
 *               zombie already), reaping, wrong start times, absurd pids, a
 *               main thread gone with pthread_exit while others run
 *   descriptors the fd table: lowest free ints, references and release,
 *               EBADF, growth, fork (fork_child in the child only), fork()
 *               racing a thread that grows the table (atfork lock order),
 *               and lookups racing closes and reinstalls on four threads
 *
 * Everything happens in a private namespace under /dev/shm, removed at the
 * end.  Every fork() of this process comes before it starts a thread (the
 * RCU callback thread starts at the first kipc_close): ThreadSanitizer does
 * not support fork() after threads; the one point that needs a threaded
 * process to fork runs in a child, and is skipped under TSan.  Root-only
 * points (chown, dropping to nobody) are skipped otherwise.
 */
#include <kipc/atomic.h>
#include <kipc/ipc.h>
#include <kipc/rcu.h>
#include <kipc/shm.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc/fdtable.h"
#include "ipc/namespace.h"
#include "ipc/object.h"
#include "task.h"
#include "tap.h"
#include "testutil.h"

static char ns_base[128];		/* /dev/shm/kipc-test-core-<pid> */
static unsigned long seed;
static size_t page;
static bool root;
static uid_t nobody_uid = 65534;
static gid_t nobody_gid = 65534;

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static const char *ename(int e)
{
	static const struct { int e; const char *n; } names[] = {
		{ 0, "0" }, { EBADMSG, "EBADMSG" }, { EINVAL, "EINVAL" },
		{ ENOENT, "ENOENT" }, { ELOOP, "ELOOP" }, { EISDIR, "EISDIR" },
		{ ENXIO, "ENXIO" }, { ENOTDIR, "ENOTDIR" }, { EPERM, "EPERM" },
		{ EACCES, "EACCES" }, { EBADF, "EBADF" }, { ENOMEM, "ENOMEM" },
		{ ENAMETOOLONG, "ENAMETOOLONG" }, { EEXIST, "EEXIST" },
	};
	static char buf[32];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].n;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

/* A small deterministic generator, one state per user (threads included). */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void path_in(char *buf, const char *sub)
{
	snprintf(buf, PATH_MAX, "%s/%s", ns_base, sub);
}

/* KIPC_NAMESPACE = ns_base/sub. */
static void set_ns(const char *sub)
{
	char path[PATH_MAX];

	path_in(path, sub);
	setenv("KIPC_NAMESPACE", path, 1);
}

/* mode & 07777 of path, or -1. */
static int mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* In a child: become nobody, for good. */
static bool drop_to_nobody(void)
{
	return setgroups(0, NULL) == 0 && setgid(nobody_gid) == 0 && setuid(nobody_uid) == 0 &&
	       geteuid() == nobody_uid;
}

/* The start time (field 22) of /proc/<pid>/stat, or 0. */
static uint64_t stat_start(pid_t pid)
{
	char path[64], buf[1024], *p, *save = NULL;
	FILE *f;
	size_t n;

	/* The task/ form, as the library: qemu-user fakes /proc/<own pid>/stat. */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* Field 3 is the first token after the ')'. */
	p = strtok_r(p + 1, " ", &save);
	for (int field = 3; p && field < 22; field++)
		p = strtok_r(NULL, " ", &save);
	return p ? strtoull(p, NULL, 10) : 0;
}

/* Waits until a child has died, without reaping it. */
static bool wait_dead_unreaped(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0 && si.si_pid == pid;
}

/* Reads exactly n bytes from fd within secs. */
static bool read_within(int fd, void *buf, size_t n, int secs)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, secs * 1000) == 1 && read(fd, buf, n) == (ssize_t)n;
}

/* ------------------------------------------------------------------------ */
/* 1. Names                                                                 */
/* ------------------------------------------------------------------------ */

static void test_names(void)
{
	static char max_name[NAME_MAX + 2], long_name[NAME_MAX + 3], very_long[1024];
	const struct {
		const char *name, *what;
		int want;
	} cases[] = {
		{ "/a", "\"/a\"", 0 },
		{ "/a.b", "\"/a.b\"", 0 },
		{ "/...", "\"/...\" (not . or ..)", 0 },
		{ "/.a", "\"/.a\"", 0 },
		{ max_name, "a name of NAME_MAX bytes after the slash", 0 },
		{ NULL, "NULL", -EINVAL },
		{ "", "\"\"", -EINVAL },
		{ "a", "\"a\" (no leading slash)", -EINVAL },
		{ "/", "\"/\" (empty)", -EINVAL },
		{ "//a", "\"//a\"", -EINVAL },
		{ "/a/b", "\"/a/b\"", -EINVAL },
		{ "/a/", "\"/a/\" (trailing slash)", -EINVAL },
		{ "/.", "\"/.\"", -EINVAL },
		{ "/..", "\"/..\"", -EINVAL },
		{ long_name, "a name of NAME_MAX + 1 bytes", -ENAMETOOLONG },
		{ very_long, "a name of 1000 bytes", -ENAMETOOLONG },
	};

	max_name[0] = long_name[0] = very_long[0] = '/';
	memset(max_name + 1, 'm', NAME_MAX);
	memset(long_name + 1, 'l', NAME_MAX + 1);
	memset(very_long + 1, 'v', 1000);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is(kipc__ns_check_name(cases[i].name), cases[i].want,
		   "names: %s -> %s", cases[i].what, ename(-cases[i].want));
}

/* ------------------------------------------------------------------------ */
/* 2. The namespace directory                                               */
/* ------------------------------------------------------------------------ */

static void test_ns_dirs(void)
{
	char root_dir[PATH_MAX], kind_dir[PATH_MAX];
	mode_t old;
	int rc;

	/* Created on demand, 1777 under any umask. */
	set_ns("fresh");
	path_in(root_dir, "fresh");
	path_in(kind_dir, "fresh/sysv");
	ok(access(root_dir, F_OK) < 0, "namespace: the fresh namespace does not exist yet");
	old = umask(077);
	rc = kipc__ns_mkdirs(KIPC__NS_SYSV);
	umask(old);
	is(rc, 0, "namespace: kipc__ns_mkdirs creates a missing namespace (umask 077)");
	is(mode_of(root_dir), 01777, "namespace: its root is a directory of mode exactly 01777");
	is(mode_of(kind_dir), 01777, "namespace: the kind's directory (sysv/) is mode exactly 01777");
	is(kipc__ns_mkdirs(KIPC__NS_SYSV), 0, "namespace: kipc__ns_mkdirs on an existing namespace: 0");
	old = umask(077);
	rc = kipc__ns_mkdirs(KIPC__NS_SHM);
	umask(old);
	path_in(kind_dir, "fresh/shm");
	ok(rc == 0 && mode_of(kind_dir) == 01777,
	   "namespace: a second kind in the same namespace gets its own 01777 directory");
}

static void test_ns_root(void)
{
	char *saved = strdup(getenv("KIPC_NAMESPACE"));

	unsetenv("KIPC_NAMESPACE");
	ok(!strcmp(kipc__ns_root(), "/dev/shm/kipc"),
	   "namespace: KIPC_NAMESPACE unset: the root is /dev/shm/kipc (got %s)", kipc__ns_root());
	setenv("KIPC_NAMESPACE", "", 1);
	ok(!strcmp(kipc__ns_root(), "/dev/shm/kipc"),
	   "namespace: KIPC_NAMESPACE empty: the root is /dev/shm/kipc (got %s)", kipc__ns_root());
	setenv("KIPC_NAMESPACE", saved, 1);
	ok(!strcmp(kipc__ns_root(), saved), "namespace: KIPC_NAMESPACE set: the root is its value");
	free(saved);
}

/* A setup step: true if it worked, else a diagnostic. */
static bool made(int rc, const char *what, const char *path)
{
	if (rc != 0)
		diag("setup: %s %s: %s", what, path, strerror(errno));
	return rc == 0;
}

/* An empty regular file at path. */
static bool touch(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

	if (fd >= 0)
		close(fd);
	return made(fd >= 0 ? 0 : -1, "create", path);
}

/* A directory of exactly that mode at path. */
static bool make_dir(const char *path, mode_t mode)
{
	return made(mkdir(path, mode), "mkdir", path) && made(chmod(path, mode), "chmod", path);
}

static void test_ns_refusals(void)
{
	char path[PATH_MAX], target[PATH_MAX];
	bool set;
	int fd, rc;

	/* The namespace root is a symlink to a real namespace. */
	path_in(path, "link");
	path_in(target, "fresh");
	set = made(symlink(target, path), "symlink", path);
	set_ns("link");
	rc = kipc__ns_mkdirs(KIPC__NS_FIFO);
	ok(set && rc == -ENOTDIR,
	   "namespace: a root that is a symlink (to a valid namespace) is refused: -ENOTDIR (%d)",
	   rc);
	path_in(path, "fresh/fifo");
	ok(access(path, F_OK) < 0, "namespace: ... and nothing was created through the link");
	fd = kipc__ns_open(KIPC__NS_FIFO, "x", O_RDWR | O_CREAT, 0600);
	ok(fd < 0, "namespace: kipc__ns_open(O_CREAT) through a symlinked root fails (%d)", fd);
	if (fd >= 0)
		close(fd);

	/* The kind's directory is a symlink. */
	path_in(path, "kindlink");
	set = make_dir(path, 01777);
	path_in(path, "kindlink/sysv");
	path_in(target, "fresh/sysv");
	set = set && made(symlink(target, path), "symlink", path);
	set_ns("kindlink");
	rc = kipc__ns_mkdirs(KIPC__NS_SYSV);
	ok(set && rc == -ENOTDIR,
	   "namespace: a kind directory that is a symlink is refused: -ENOTDIR (%d)", rc);

	/* A regular file where the root should be. */
	path_in(path, "plainfile");
	set = touch(path);
	set_ns("plainfile");
	rc = kipc__ns_mkdirs(KIPC__NS_SHM);
	ok(set && rc == -ENOTDIR, "namespace: a regular file planted as the root: -ENOTDIR (%d)",
	   rc);
	fd = kipc__ns_open(KIPC__NS_SHM, "x", O_RDWR | O_CREAT, 0600);
	ok(fd < 0, "namespace: ... and kipc__ns_open(O_CREAT) fails (%d)", fd);
	if (fd >= 0)
		close(fd);

	/* A regular file where the kind's directory should be. */
	path_in(path, "kindfile");
	set = make_dir(path, 01777);
	path_in(path, "kindfile/mq");
	set = set && touch(path);
	set_ns("kindfile");
	rc = kipc__ns_mkdirs(KIPC__NS_MQ);
	ok(set && rc == -ENOTDIR,
	   "namespace: a regular file planted as the kind directory: -ENOTDIR (%d)", rc);

	/* Another user's directory that is not sticky: they could swap our files. */
	if (!root) {
		ok(1, "# SKIP another user's non-sticky namespace: needs root (chown)");
		ok(1, "# SKIP another user's sticky namespace: needs root (chown)");
	} else {
		path_in(path, "foreign");
		set = make_dir(path, 0777) &&
		      made(chown(path, nobody_uid, nobody_gid), "chown", path);
		set_ns("foreign");
		rc = kipc__ns_mkdirs(KIPC__NS_SHM);
		ok(set && rc == -EPERM,
		   "namespace: another user's non-sticky (0777) root is refused: -EPERM (%d)", rc);
		set = made(chmod(path, 01777), "chmod", path);
		rc = kipc__ns_mkdirs(KIPC__NS_SHM);
		ok(set && rc == 0, "namespace: another user's sticky (01777) root is accepted (%d)",
		   rc);
	}
	set_ns("fresh");
}

static void test_ns_open(void)
{
	char path[PATH_MAX], dir[PATH_MAX];
	char long_leaf[PATH_MAX + 8];
	int fd, flags;
	mode_t old;
	bool set;

	set_ns("fresh");
	path_in(path, "fresh/shm/target");
	set = touch(path);
	fd = kipc__ns_open(KIPC__NS_SHM, "target", O_RDWR, 0);
	flags = fd >= 0 ? fcntl(fd, F_GETFD) : 0;
	ok(set && fd >= 0 && (flags & FD_CLOEXEC),
	   "namespace: kipc__ns_open returns a descriptor with FD_CLOEXEC set (fd %d, flags %#x)",
	   fd, flags);
	if (fd >= 0)
		close(fd);

	path_in(path, "fresh/shm/link");
	set = made(symlink("target", path), "symlink", path);
	fd = kipc__ns_open(KIPC__NS_SHM, "link", O_RDWR, 0);
	ok(set && fd == -ELOOP,
	   "namespace: kipc__ns_open of a symlink leaf: -ELOOP (O_NOFOLLOW) (%d)", fd);
	if (fd >= 0)
		close(fd);
	fd = kipc__ns_open(KIPC__NS_SHM, "link", O_RDWR | O_CREAT, 0600);
	is(fd, -ELOOP, "namespace: kipc__ns_open(O_CREAT) of a symlink leaf: -ELOOP");
	if (fd >= 0)
		close(fd);

	is(kipc__ns_open(KIPC__NS_SHM, "absent", O_RDWR, 0), -ENOENT,
	   "namespace: kipc__ns_open of a missing leaf without O_CREAT: -ENOENT");

	/* O_CREAT in a namespace that does not exist yet makes the directories. */
	set_ns("fresh2");
	old = umask(077);
	fd = kipc__ns_open(KIPC__NS_MQ, "q", O_RDWR | O_CREAT | O_EXCL, 0600);
	umask(old);
	path_in(path, "fresh2");
	path_in(dir, "fresh2/mq");
	ok(fd >= 0 && mode_of(path) == 01777 && mode_of(dir) == 01777,
	   "namespace: kipc__ns_open(O_CREAT) in a missing namespace creates root and kind, 01777");
	if (fd >= 0)
		close(fd);

	memset(long_leaf, 'x', sizeof(long_leaf) - 1);
	long_leaf[sizeof(long_leaf) - 1] = '\0';
	is(kipc__ns_path(path, KIPC__NS_SHM, long_leaf), -ENAMETOOLONG,
	   "namespace: kipc__ns_path of a path beyond PATH_MAX: -ENAMETOOLONG");
	set_ns("fresh");
}

/* Nobody can use a namespace that root made: 1777 is for everyone. */
static void test_ns_other_user(void)
{
	char path[PATH_MAX];
	struct stat st;
	pid_t pid;
	bool exited;

	if (!root) {
		ok(1, "# SKIP nobody in root's namespace: needs root");
		ok(1, "# SKIP nobody's kind directory: needs root");
		return;
	}
	set_ns("fresh");
	fflush(stdout);
	pid = fork_child();
	if (pid == 0) {
		int fd;

		if (!drop_to_nobody())
			_exit(2);
		if (kipc__ns_mkdirs(KIPC__NS_FIFO) != 0)
			_exit(3);
		fd = kipc__ns_open(KIPC__NS_FIFO, "by-nobody", O_RDWR | O_CREAT | O_EXCL, 0600);
		_exit(fd >= 0 ? 0 : 4);
	}
	exited = pid > 0 && reap_child(pid, 10.0);
	path_in(path, "fresh/fifo/by-nobody");
	ok(exited && stat(path, &st) == 0 && st.st_uid == nobody_uid,
	   "namespace: nobody makes its kind directory and a file in root's 01777 namespace");
	path_in(path, "fresh/fifo");
	ok(stat(path, &st) == 0 && st.st_uid == nobody_uid && (st.st_mode & 07777) == 01777,
	   "namespace: ... the directory nobody made is nobody's and 01777");
}

/* ------------------------------------------------------------------------ */
/* 3. Object files                                                          */
/* ------------------------------------------------------------------------ */

/*
 * The fixed meta of a System V segment (struct shm_meta, src/ipc/sysv_shm.c),
 * then nslots slots of 16 bytes; test_obj_layout checks that it still fits.
 */
struct shm_meta_mirror {
	uint64_t segsz;
	int64_t atime, dtime;
	uint32_t lpid;
	uint32_t nslots;
	uint32_t nused;
	uint32_t reserved;
};
#define SHM_SLOT_BYTES 16
#define SEGSZ 10000

#define HOFF(field) offsetof(struct kipc__obj_hdr, field)
#define MOFF(field) (sizeof(struct kipc__obj_hdr) + offsetof(struct shm_meta_mirror, field))

static uint64_t get64(const unsigned char *b, size_t off)
{
	uint64_t v;

	memcpy(&v, b + off, 8);
	return v;
}

static void put64(unsigned char *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, 8);
}

static uint32_t get32(const unsigned char *b, size_t off)
{
	uint32_t v;

	memcpy(&v, b + off, 4);
	return v;
}

static void put32(unsigned char *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static void shm_path(char *buf, int id)
{
	char ns[PATH_MAX / 2];

	snprintf(ns, sizeof(ns), "%s", getenv("KIPC_NAMESPACE"));
	snprintf(buf, PATH_MAX, "%s/sysv/shm.%d", ns, id);
}

/* The whole file, in a buffer with extra zero bytes of room; NULL on error. */
static unsigned char *load(const char *path, size_t *len, size_t extra)
{
	struct stat st;
	unsigned char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !(buf = calloc(1, (size_t)st.st_size + extra))) {
		close(fd);
		return NULL;
	}
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		free(buf);
		close(fd);
		return NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* Gives the file length len and the first min(len, upto) bytes of img. */
static bool store(const char *path, const unsigned char *img, size_t len, size_t upto)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	size_t n = len < upto ? len : upto;
	bool good;

	if (fd < 0)
		return false;
	good = ftruncate(fd, (off_t)len) == 0 && pwrite(fd, img, n, 0) == (ssize_t)n;
	close(fd);
	return good;
}

/* kipc__obj_check on an exact-size copy, so that ASan sees any over-read. */
static int check_copy(const unsigned char *img, size_t len, uint32_t type,
		      struct kipc__obj_geom *g)
{
	unsigned char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, img, len);
	rc = kipc__obj_check(copy, len, type, g);
	free(copy);
	return rc;
}

/*
 * A geometry kipc__obj_check accepted (asked for type, 0: any) lies inside
 * the len bytes, and a segment's slot table inside its meta.
 */
static bool geom_inside(const struct kipc__obj_geom *g, size_t len, uint32_t type)
{
	uint64_t hdr = sizeof(struct kipc__obj_hdr), fixed = hdr + sizeof(struct shm_meta_mirror);

	if ((type && g->type != type) || g->type == 0 || g->type >= KIPC__OBJ_NTYPES ||
	    g->file_size != len || g->meta_size < hdr || g->meta_size > g->data_off ||
	    g->data_off % page || g->data_off > len || g->data_size > len - g->data_off)
		return false;
	return g->type != KIPC__OBJ_SYSV_SHM ||
	       (g->meta_size >= fixed &&
		(uint64_t)g->nelem * SHM_SLOT_BYTES <= g->meta_size - fixed);
}

/* What a child saw of a segment through the public calls. */
struct probe {
	int done;
	int stat_rc, stat_err;
	uint64_t segsz;
	int at_ok, at_err, dt_rc;
};

static struct probe *probe_area;	/* MAP_SHARED */

/*
 * IPC_STAT and shmat (then shmdt) on id in a child, so that a crash or a
 * hang is a failed point, not the end of the run.  False if the child
 * crashed or hung.
 */
static bool probe(int id, struct probe *out)
{
	pid_t pid;
	bool exited;

	memset(probe_area, 0, sizeof(*probe_area));
	fflush(stdout);
	pid = fork_child();
	if (pid == 0) {
		struct shmid_ds ds;
		void *p;

		alarm(10);
		errno = 0;
		probe_area->stat_rc = kipc_shmctl(id, IPC_STAT, &ds);
		probe_area->stat_err = errno;
		if (probe_area->stat_rc == 0)
			probe_area->segsz = ds.shm_segsz;
		errno = 0;
		p = kipc_shmat(id, NULL, 0);
		if (p == (void *)-1) {
			probe_area->at_err = errno;
		} else {
			probe_area->at_ok = 1;
			probe_area->dt_rc = kipc_shmdt(p);
		}
		probe_area->done = 1;
		_exit(0);
	}
	exited = pid > 0 && reap_child(pid, 15.0);
	*out = *probe_area;
	return exited && out->done;
}

/* A probe that failed both calls with want (0: both succeeded, sizes right). */
static bool probe_as_expected(const struct probe *p, int want)
{
	if (!want)
		return p->stat_rc == 0 && p->segsz == SEGSZ && p->at_ok && p->dt_rc == 0;
	return p->stat_rc == -1 && p->stat_err == want && !p->at_ok && p->at_err == want;
}

/* ---- the corruptions, one function each ---- */

static void c_none(unsigned char *b, size_t *len) { (void)b, (void)len; }
static void c_len0(unsigned char *b, size_t *len) { (void)b; *len = 0; }
static void c_len100(unsigned char *b, size_t *len) { (void)b; *len = 100; }
static void c_lenhdr(unsigned char *b, size_t *len) { (void)b; *len = sizeof(struct kipc__obj_hdr); }
static void c_shortpage(unsigned char *b, size_t *len) { (void)b; *len -= page; }
static void c_longpage(unsigned char *b, size_t *len) { (void)b; *len += page; }
static void c_magic(unsigned char *b, size_t *len) { (void)len; b[HOFF(magic)] ^= 0x20; }
static void c_magic_end(unsigned char *b, size_t *len) { (void)len; b[HOFF(magic) + 7] = 0; }
static void c_version(unsigned char *b, size_t *len) { (void)len; put32(b, HOFF(version), KIPC__OBJ_VERSION + 1); }
static void c_version0(unsigned char *b, size_t *len) { (void)len; put32(b, HOFF(version), 0); }
static void c_hdrsize(unsigned char *b, size_t *len) { (void)len; put32(b, HOFF(hdr_size), 512); }
static void c_hdrsize_small(unsigned char *b, size_t *len) { (void)len; put32(b, HOFF(hdr_size), 255); }
static void c_type0(unsigned char *b, size_t *len) { (void)len; put32(b, HOFF(type), 0); }
static void c_type99(unsigned char *b, size_t *len) { (void)len; put32(b, HOFF(type), 99); }
static void c_type_ntypes(unsigned char *b, size_t *len) { (void)len; put32(b, HOFF(type), KIPC__OBJ_NTYPES); }
static void c_type_mq(unsigned char *b, size_t *len) { (void)len; put32(b, HOFF(type), KIPC__OBJ_MQ); }
static void c_fsize_plus(unsigned char *b, size_t *len) { (void)len; put64(b, HOFF(file_size), get64(b, HOFF(file_size)) + 1); }
static void c_fsize_minus(unsigned char *b, size_t *len) { (void)len; put64(b, HOFF(file_size), get64(b, HOFF(file_size)) - page); }
static void c_meta255(unsigned char *b, size_t *len) { (void)len; put64(b, HOFF(meta_size), 255); }
static void c_meta0(unsigned char *b, size_t *len) { (void)len; put64(b, HOFF(meta_size), 0); }
static void c_meta_big(unsigned char *b, size_t *len) { (void)len; put64(b, HOFF(meta_size), get64(b, HOFF(data_off)) + page); }
static void c_meta_huge(unsigned char *b, size_t *len) { (void)len; put64(b, HOFF(meta_size), UINT64_MAX); }
static void c_doff_unaligned(unsigned char *b, size_t *len) { (void)len; put64(b, HOFF(data_off), get64(b, HOFF(data_off)) + 8); }
static void c_doff0(unsigned char *b, size_t *len) { (void)len; put64(b, HOFF(data_off), 0); }
static void c_doff_past(unsigned char *b, size_t *len)
{
	put64(b, HOFF(data_off), *len + page);
	put64(b, HOFF(data_size), 0);
}
static void c_overflow(unsigned char *b, size_t *len)
{
	/* data_off + data_size wraps to one page past 0: small, and "fits". */
	(void)len;
	put64(b, HOFF(data_size), UINT64_MAX - get64(b, HOFF(data_off)) + 1 + page);
}
static void c_overflow_exact(unsigned char *b, size_t *len)
{
	/* 2^63 + (2^63 + len) is len again: a sum compared with len passes. */
	put64(b, HOFF(data_off), (uint64_t)1 << 63);
	put64(b, HOFF(data_size), ((uint64_t)1 << 63) + *len);
}
static void c_dsize_past(unsigned char *b, size_t *len) { (void)len; put64(b, HOFF(data_size), get64(b, HOFF(data_size)) + page); }
static void c_dsize_short(unsigned char *b, size_t *len)
{
	/* A consistent segment one page shorter than the file. */
	uint64_t ds = get64(b, HOFF(data_size)) - page;

	(void)len;
	put64(b, HOFF(data_size), ds);
	put64(b, MOFF(segsz), ds - 100);
}
static void c_state3(unsigned char *b, size_t *len) { (void)len; put32(b, HOFF(state), KIPC__OBJ_REMOVED + 1); }
static void c_state7(unsigned char *b, size_t *len) { (void)len; put32(b, HOFF(state), 7); }
static void c_segsz0(unsigned char *b, size_t *len) { (void)len; put64(b, MOFF(segsz), 0); }
static void c_segsz_big(unsigned char *b, size_t *len) { (void)len; put64(b, MOFF(segsz), get64(b, HOFF(data_size)) + 1); }
static void c_segsz_huge(unsigned char *b, size_t *len) { (void)len; put64(b, MOFF(segsz), UINT64_MAX); }
static void c_segsz_slack(unsigned char *b, size_t *len) { (void)len; put64(b, MOFF(segsz), get64(b, HOFF(data_size)) - page); }
static void c_segsz_tiny(unsigned char *b, size_t *len) { (void)len; put64(b, MOFF(segsz), 1); }
static void c_nslots_one_more(unsigned char *b, size_t *len)
{
	uint64_t room = get64(b, HOFF(meta_size)) - sizeof(struct kipc__obj_hdr) -
			sizeof(struct shm_meta_mirror);

	(void)len;
	put32(b, MOFF(nslots), (uint32_t)(room / SHM_SLOT_BYTES + 1));
}
static void c_nslots_huge(unsigned char *b, size_t *len) { (void)len; put32(b, MOFF(nslots), UINT32_MAX); }
static void c_nused_huge(unsigned char *b, size_t *len) { (void)len; put32(b, MOFF(nused), UINT32_MAX); }
static void c_id(unsigned char *b, size_t *len) { (void)len; put32(b, HOFF(id), get32(b, HOFF(id)) + 1); }
static void c_lock_magic(unsigned char *b, size_t *len)
{
	(void)len;
	put32(b, HOFF(lock) + offsetof(struct kipc_mutex, magic), 0);
}

static const struct corruption {
	const char *what;
	void (*apply)(unsigned char *img, size_t *len);
	int check_hdr;	/* kipc__obj_check_hdr, on the header alone */
	int check;	/* kipc__obj_check, with type 0 and with KIPC__OBJ_SYSV_SHM */
	int err;	/* errno of IPC_STAT and of shmat; 0: both work */
} corruptions[] = {
	{ "unmodified, rewritten (control)", c_none, 0, 0, 0 },
	{ "truncated to 0 bytes", c_len0, -EBADMSG, -EBADMSG, EBADMSG },
	{ "truncated to 100 bytes", c_len100, -EBADMSG, -EBADMSG, EBADMSG },
	{ "truncated to the header size", c_lenhdr, -EBADMSG, -EBADMSG, EBADMSG },
	{ "truncated by one page", c_shortpage, -EBADMSG, -EBADMSG, EBADMSG },
	{ "extended by one page", c_longpage, -EBADMSG, -EBADMSG, EBADMSG },
	{ "wrong magic (first byte)", c_magic, -EBADMSG, -EBADMSG, EBADMSG },
	{ "wrong magic (last byte)", c_magic_end, -EBADMSG, -EBADMSG, EBADMSG },
	{ "version + 1", c_version, -EBADMSG, -EBADMSG, EBADMSG },
	{ "version 0", c_version0, -EBADMSG, -EBADMSG, EBADMSG },
	{ "hdr_size 512", c_hdrsize, -EBADMSG, -EBADMSG, EBADMSG },
	{ "hdr_size 255", c_hdrsize_small, -EBADMSG, -EBADMSG, EBADMSG },
	{ "type 0", c_type0, -EBADMSG, -EBADMSG, EBADMSG },
	{ "type 99", c_type99, -EBADMSG, -EBADMSG, EBADMSG },
	{ "type KIPC__OBJ_NTYPES", c_type_ntypes, -EBADMSG, -EBADMSG, EBADMSG },
	{ "type KIPC__OBJ_MQ (another known type)", c_type_mq, -EINVAL, -EINVAL, EINVAL },
	{ "file_size field one byte more than the file", c_fsize_plus, -EBADMSG, -EBADMSG, EBADMSG },
	{ "file_size field one page less than the file", c_fsize_minus, -EBADMSG, -EBADMSG, EBADMSG },
	{ "meta_size 255 (< header)", c_meta255, -EBADMSG, -EBADMSG, EBADMSG },
	{ "meta_size 0", c_meta0, -EBADMSG, -EBADMSG, EBADMSG },
	{ "meta_size > data_off", c_meta_big, -EBADMSG, -EBADMSG, EBADMSG },
	{ "meta_size UINT64_MAX", c_meta_huge, -EBADMSG, -EBADMSG, EBADMSG },
	{ "data_off not page aligned", c_doff_unaligned, -EBADMSG, -EBADMSG, EBADMSG },
	{ "data_off 0 (< meta_size)", c_doff0, -EBADMSG, -EBADMSG, EBADMSG },
	{ "data_off past the end", c_doff_past, -EBADMSG, -EBADMSG, EBADMSG },
	{ "data_off + data_size overflows uint64 (to one page)", c_overflow, -EBADMSG, -EBADMSG, EBADMSG },
	{ "data_off + data_size overflows uint64 (to the file size)", c_overflow_exact, -EBADMSG, -EBADMSG, EBADMSG },
	{ "data_size one page past the end", c_dsize_past, -EBADMSG, -EBADMSG, EBADMSG },
	{ "data area ends a page before the file", c_dsize_short, 0, -EBADMSG, EBADMSG },
	{ "state REMOVED + 1", c_state3, -EBADMSG, -EBADMSG, EBADMSG },
	{ "state 7", c_state7, -EBADMSG, -EBADMSG, EBADMSG },
	{ "shm segsz 0", c_segsz0, 0, -EBADMSG, EBADMSG },
	{ "shm segsz data_size + 1", c_segsz_big, 0, -EBADMSG, EBADMSG },
	{ "shm segsz UINT64_MAX", c_segsz_huge, 0, -EBADMSG, EBADMSG },
	{ "shm segsz a whole page of slack", c_segsz_slack, 0, -EBADMSG, EBADMSG },
	{ "shm segsz 1 (pages of slack)", c_segsz_tiny, 0, -EBADMSG, EBADMSG },
	{ "shm nslots one more than fit in meta", c_nslots_one_more, 0, -EBADMSG, EBADMSG },
	{ "shm nslots UINT32_MAX", c_nslots_huge, 0, -EBADMSG, EBADMSG },
	/* A hint bounded by nslots where it is used: harmless. */
	{ "shm nused UINT32_MAX (a hint)", c_nused_huge, 0, 0, 0 },
	/* Only the file name knows these: the bytes alone are a valid object. */
	{ "header id not the file name's", c_id, 0, 0, EBADMSG },
	{ "header lock word not a mutex", c_lock_magic, 0, 0, EBADMSG },
};

/* The file of a fresh segment, checked against what shmget was asked. */
static void test_obj_layout(void)
{
	char path[PATH_MAX];
	struct kipc__obj_geom g;
	unsigned char *img;
	struct stat st;
	size_t len = 0;
	int id;

	set_ns("main");
	id = kipc_shmget(IPC_PRIVATE, SEGSZ, 0600);
	ok(id >= 0, "objects: kipc_shmget(IPC_PRIVATE, %d, 0600) makes a segment (id %d)", SEGSZ,
	   id);
	shm_path(path, id);
	ok(stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600,
	   "objects: its file is <ns>/sysv/shm.<id>, a regular file of mode 0600");
	img = load(path, &len, 0);
	ok(img && len >= sizeof(struct kipc__obj_hdr) &&
	   !memcmp(img + HOFF(magic), KIPC__OBJ_MAGIC, 8) &&
	   get32(img, HOFF(version)) == KIPC__OBJ_VERSION &&
	   get32(img, HOFF(hdr_size)) == sizeof(struct kipc__obj_hdr) &&
	   get32(img, HOFF(type)) == KIPC__OBJ_SYSV_SHM && get64(img, HOFF(file_size)) == len &&
	   (int32_t)get32(img, HOFF(id)) == id && (int32_t)get32(img, HOFF(key)) == IPC_PRIVATE &&
	   get32(img, HOFF(cpid)) == (uint32_t)getpid() &&
	   get32(img, HOFF(state)) == KIPC__OBJ_LIVE && get64(img, MOFF(segsz)) == SEGSZ &&
	   get64(img, HOFF(data_size)) == (SEGSZ + page - 1) / page * page,
	   "objects: its header: magic, version, size, type, file_size, id, key, cpid, LIVE, segsz");
	if (!img) {
		ok(0, "objects: kipc__obj_check on the valid file (no file)");
		return;
	}
	memset(&g, 0, sizeof(g));
	is(check_copy(img, len, 0, &g), 0, "objects: kipc__obj_check(any type) on the file: 0");
	ok(geom_inside(&g, len, KIPC__OBJ_SYSV_SHM) && g.data_off == get64(img, HOFF(data_off)) &&
	   g.data_size == get64(img, HOFF(data_size)) && g.nelem > 0 &&
	   g.nelem == get32(img, MOFF(nslots)) &&
	   g.nelem == (g.meta_size - sizeof(struct kipc__obj_hdr) -
		       sizeof(struct shm_meta_mirror)) / SHM_SLOT_BYTES,
	   "objects: ... its geometry is the header's and inside the file, the slot table "
	   "fills the meta (%u slots)", g.nelem);
	is(check_copy(img, len, KIPC__OBJ_SYSV_SHM, &g), 0,
	   "objects: kipc__obj_check(KIPC__OBJ_SYSV_SHM) on the file: 0");
	is(check_copy(img, len, KIPC__OBJ_MQ, &g), -EINVAL,
	   "objects: kipc__obj_check(KIPC__OBJ_MQ) on a segment: -EINVAL (another type)");
	free(img);
	is(kipc_shmctl(id, IPC_RMID, NULL), 0, "objects: IPC_RMID of the unattached segment: 0");
	ok(access(path, F_OK) < 0, "objects: ... and its file is gone");
}

static void test_obj_corruptions(void)
{
	for (size_t i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]); i++) {
		const struct corruption *c = &corruptions[i];
		struct kipc__obj_geom g;
		struct kipc__obj_hdr h;
		char path[PATH_MAX];
		unsigned char *img = NULL;
		struct probe p;
		size_t len = 0;
		int id = kipc_shmget(IPC_PRIVATE, SEGSZ, 0600), hdr, any, shm;
		bool survived;

		if (id >= 0) {
			shm_path(path, id);
			img = load(path, &len, page);
		}
		if (!img || !(c->apply(img, &len), store(path, img, len, page))) {
			ok(0, "corrupt %s: could not make the file (id %d)", c->what, id);
			ok(0, "corrupt %s: IPC_STAT and shmat (not run)", c->what);
			free(img);
			continue;
		}
		memcpy(&h, img, sizeof(h));
		memset(&g, 0, sizeof(g));
		hdr = kipc__obj_check_hdr(&h, len, KIPC__OBJ_SYSV_SHM, &g);
		any = check_copy(img, len, 0, &g);
		shm = check_copy(img, len, KIPC__OBJ_SYSV_SHM, &g);
		/*
		 * Relabelled as another type, with any type accepted: -EINVAL
		 * while this build knows no layout for it, -EBADMSG once it
		 * does (the bytes are no valid object of that type).
		 */
		if (c->check == -EINVAL && any == -EBADMSG)
			any = -EINVAL;
		ok(hdr == c->check_hdr && any == c->check && shm == c->check,
		   "corrupt %s: kipc__obj_check_hdr -> %s, kipc__obj_check -> %s (got %s, %s, %s)",
		   c->what, ename(-c->check_hdr), ename(-c->check), ename(-hdr), ename(-any),
		   ename(-shm));
		survived = probe(id, &p);
		ok(survived && probe_as_expected(&p, c->err),
		   "corrupt %s: IPC_STAT and shmat %s%s (got %d/%s, %s)", c->what,
		   c->err ? "fail with " : "work", c->err ? ename(c->err) : "",
		   p.stat_rc, ename(p.stat_err), !survived ? "child crashed or hung" :
		   p.at_ok ? "attached" : ename(p.at_err));
		free(img);
		if (!c->err)
			kipc_shmctl(id, IPC_RMID, NULL);
		unlink(path);
	}
}

/* Random byte flips (and truncations) of a valid file's bytes. */
static void test_obj_fuzz_buffer(void)
{
	enum { ITERATIONS = 4000 };
	size_t span = sizeof(struct kipc__obj_hdr) + sizeof(struct shm_meta_mirror);
	char path[PATH_MAX];
	long accepted = 0, rejected = 0, bad = 0;
	uint64_t rs = seed * 2654435761u + 1;
	unsigned char *img, *buf;
	size_t len = 0;
	int id = kipc_shmget(IPC_PRIVATE, SEGSZ, 0600);

	shm_path(path, id);
	img = id >= 0 ? load(path, &len, 0) : NULL;
	if (!img) {
		ok(0, "fuzz: kipc__obj_check on flipped bytes (no segment)");
		ok(0, "fuzz: both outcomes seen (no segment)");
		return;
	}
	buf = malloc(len);
	for (int it = 0; it < ITERATIONS; it++) {
		struct kipc__obj_geom g;
		size_t n = len;
		int flips = 1 + (int)(rnd(&rs) % 4), rc;
		uint32_t type = rnd(&rs) & 1 ? 0 : KIPC__OBJ_SYSV_SHM;

		memcpy(buf, img, len);
		for (int f = 0; f < flips; f++) {
			/* Mostly where the checks look, now and then anywhere. */
			size_t off = rnd(&rs) % 8 ? rnd(&rs) % span : rnd(&rs) % len;

			if (rnd(&rs) & 1)
				buf[off] ^= (unsigned char)(1u << (rnd(&rs) % 8));
			else
				buf[off] = (unsigned char)rnd(&rs);
		}
		if (rnd(&rs) % 16 == 0)
			n = rnd(&rs) % len;
		memset(&g, 0xa5, sizeof(g));
		rc = check_copy(buf, n, type, &g);
		if (rc == 0 && geom_inside(&g, n, type)) {
			accepted++;
		} else if (rc == -EBADMSG || rc == -EINVAL) {
			rejected++;
		} else {
			if (bad++ < 5)
				diag("iteration %d: rc %d (%s), geometry %llu/%llu/%llu/%llu/%u for %zu bytes",
				     it, rc, ename(-rc), (unsigned long long)g.file_size,
				     (unsigned long long)g.meta_size, (unsigned long long)g.data_off,
				     (unsigned long long)g.data_size, g.nelem, n);
		}
	}
	ok(bad == 0, "fuzz: %d random flips of a valid file: kipc__obj_check gives 0 with a "
	   "geometry inside the bytes, or -EBADMSG/-EINVAL (%ld accepted, %ld rejected, %ld bad)",
	   ITERATIONS, accepted, rejected, bad);
	ok(accepted > 0 && rejected > ITERATIONS / 10,
	   "fuzz: the flips exercised both outcomes (%ld accepted, %ld rejected)", accepted,
	   rejected);
	free(buf);
	free(img);
	unlink(path);
}

/*
 * The same through the file and the public calls, in one child: flipped
 * headers (the lock excepted: a lock word naming a live thread is a held
 * lock, not a corruption) must give 0 or EBADMSG/EINVAL, never a crash.
 */
static void test_obj_fuzz_file(void)
{
	enum { ITERATIONS = 300 };
	size_t span = sizeof(struct kipc__obj_hdr) + sizeof(struct shm_meta_mirror);
	size_t lock_lo = HOFF(lock), lock_hi = HOFF(lock) + sizeof(struct kipc_mutex);
	char path[PATH_MAX];
	unsigned char *img;
	size_t len = 0;
	pid_t pid;
	int id = kipc_shmget(IPC_PRIVATE, SEGSZ, 0600);
	bool exited;

	shm_path(path, id);
	img = id >= 0 ? load(path, &len, 0) : NULL;
	if (!img) {
		ok(0, "fuzz: flipped files through IPC_STAT and shmat (no segment)");
		return;
	}
	memset(probe_area, 0, sizeof(*probe_area));
	fflush(stdout);
	pid = fork_child();
	if (pid == 0) {
		uint64_t rs = seed * 40503u + 7;
		unsigned char *buf = malloc(len);

		for (int it = 0; it < ITERATIONS; it++) {
			struct shmid_ds ds;
			void *p;
			int flips = 1 + (int)(rnd(&rs) % 3);

			memcpy(buf, img, len);
			for (int f = 0; f < flips; f++) {
				size_t off = rnd(&rs) % span;

				if (off >= lock_lo && off < lock_hi)
					continue;
				buf[off] ^= (unsigned char)(1u << (rnd(&rs) % 8));
			}
			if (!store(path, buf, len, len))
				_exit(3);
			errno = 0;
			if (kipc_shmctl(id, IPC_STAT, &ds) < 0 && errno != EBADMSG && errno != EINVAL) {
				probe_area->stat_err = errno;
				_exit(4);
			}
			p = kipc_shmat(id, NULL, 0);
			if (p == (void *)-1 && errno != EBADMSG && errno != EINVAL && errno != ENOMEM) {
				probe_area->at_err = errno;
				_exit(5);
			}
			if (p != (void *)-1 && kipc_shmdt(p) != 0)
				_exit(6);
		}
		probe_area->done = 1;
		_exit(0);
	}
	exited = pid > 0 && reap_child(pid, 20.0);
	ok(exited && probe_area->done,
	   "fuzz: %d flipped files: IPC_STAT and shmat work or fail with EBADMSG/EINVAL "
	   "(ENOMEM for no slots), no crash, no hang (IPC_STAT %s, shmat %s)",
	   ITERATIONS, ename(probe_area->stat_err), ename(probe_area->at_err));
	free(img);
	unlink(path);
}

/* ------------------------------------------------------------------------ */
/* 4. Things planted in sysv/ under an id name                              */
/* ------------------------------------------------------------------------ */

static void test_planted(void)
{
	char path[PATH_MAX], target[PATH_MAX];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct probe p;
	bool survived;
	int sock, id, rc;

	set_ns("main");
	kipc__ns_mkdirs(KIPC__NS_SYSV);

	shm_path(path, 424242);
	rc = mkfifo(path, 0600);
	survived = probe(424242, &p);
	ok(rc == 0 && survived && probe_as_expected(&p, EBADMSG),
	   "planted: a FIFO named shm.424242: IPC_STAT and shmat fail with EBADMSG, "
	   "without blocking (got %d/%s, %s)", p.stat_rc, ename(p.stat_err),
	   !survived ? "child hung or crashed" : ename(p.at_err));

	shm_path(path, 424243);
	rc = mkdir(path, 0700);
	survived = probe(424243, &p);
	ok(rc == 0 && survived && probe_as_expected(&p, EBADMSG),
	   "planted: a directory named shm.424243: IPC_STAT and shmat fail with EBADMSG "
	   "(got %d/%s, %s)", p.stat_rc, ename(p.stat_err),
	   !survived ? "child hung or crashed" : ename(p.at_err));

	shm_path(path, 424244);
	if (strlen(path) < sizeof(sa.sun_path))
		memcpy(sa.sun_path, path, strlen(path) + 1);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	rc = sock >= 0 && strlen(path) < sizeof(sa.sun_path) ?
		     bind(sock, (struct sockaddr *)&sa, sizeof(sa)) : -1;
	survived = probe(424244, &p);
	ok(rc == 0 && survived && probe_as_expected(&p, EBADMSG),
	   "planted: a socket named shm.424244: IPC_STAT and shmat fail with EBADMSG "
	   "(got %d/%s, %s)", p.stat_rc, ename(p.stat_err),
	   !survived ? "child hung or crashed" : ename(p.at_err));
	if (sock >= 0)
		close(sock);

	/* A symlink to a valid segment's file: O_NOFOLLOW, so not that segment. */
	id = kipc_shmget(IPC_PRIVATE, SEGSZ, 0600);
	shm_path(target, id);
	shm_path(path, 424245);
	rc = id >= 0 ? symlink(target, path) : -1;
	survived = probe(424245, &p);
	ok(rc == 0 && survived && p.stat_rc == -1 && !p.at_ok &&
	   (p.stat_err == ELOOP || p.stat_err == EBADMSG || p.stat_err == EINVAL),
	   "planted: a symlink shm.424245 to a valid segment: IPC_STAT and shmat refuse it "
	   "(got %d/%s, %s)", p.stat_rc, ename(p.stat_err),
	   !survived ? "child hung or crashed" : p.at_ok ? "attached" : ename(p.at_err));
	if (id >= 0)
		kipc_shmctl(id, IPC_RMID, NULL);
}

/* ------------------------------------------------------------------------ */
/* 5. Process liveness                                                      */
/* ------------------------------------------------------------------------ */

static void test_proc_self(void)
{
	const struct kipc__proc *self = kipc__proc_self();
	pid_t pid;
	bool exited;

	ok(self->pid == (uint32_t)getpid() && self->start != 0 &&
	   self->start == stat_start(getpid()),
	   "proc: kipc__proc_self() is getpid() and the start time /proc shows (%u, %llu)",
	   self->pid, (unsigned long long)self->start);
	is(kipc__proc_alive(self->pid, self->start), 1, "proc: kipc__proc_alive(self) is 1");
	is(kipc__proc_alive(self->pid, self->start + 1), 0,
	   "proc: kipc__proc_alive(self pid, a later start time) is 0");
	is(kipc__proc_alive(self->pid, self->start - 1), 0,
	   "proc: kipc__proc_alive(self pid, an earlier start time) is 0");

	fflush(stdout);
	pid = fork_child();
	if (pid == 0) {
		const struct kipc__proc *me = kipc__proc_self();

		_exit(me->pid == (uint32_t)getpid() && me->start == stat_start(getpid()) &&
		      kipc__proc_alive(me->pid, me->start) == 1 ? 0 : 1);
	}
	exited = pid > 0 && reap_child(pid, 10.0);
	ok(exited, "proc: in a fork child, kipc__proc_self() is recomputed (child's pid and start)");
	ok(kipc__proc_self()->pid == (uint32_t)getpid(),
	   "proc: ... and the parent's is still its own");
}

static void test_proc_absurd(void)
{
	const struct { uint32_t pid; const char *what; } cases[] = {
		{ 0, "pid 0" },
		{ (uint32_t)INT32_MAX + 1, "pid INT32_MAX + 1" },
		{ UINT32_MAX, "pid UINT32_MAX" },
		{ INT32_MAX, "pid INT32_MAX (no such process)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		is(kipc__proc_alive(cases[i].pid, 0), 0, "proc: %s, any start: 0", cases[i].what);
	}
}

/* A child that reports its start time and sleeps; -1 on failure. */
static pid_t spawn_sleeper(uint64_t *start)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	fflush(stdout);
	pid = fork_child();
	if (pid == 0) {
		uint64_t s = kipc__proc_self()->start;

		close(fds[0]);
		if (write(fds[1], &s, sizeof(s)) != sizeof(s))
			_exit(2);
		for (;;)
			pause();
	}
	close(fds[1]);
	if (pid > 0 && !read_within(fds[0], start, sizeof(*start), 10)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(fds[0]);
	return pid;
}

static void test_proc_child(void)
{
	uint64_t start = 0;
	pid_t pid = spawn_sleeper(&start);
	bool zombie;

	if (pid < 0) {
		ok(0, "proc: a sleeping child (could not start one)");
		return;
	}
	ok(start != 0 && start == stat_start(pid),
	   "proc: the child's own kipc__proc_self() start is its /proc start time");
	is(kipc__proc_alive((uint32_t)pid, start), 1, "proc: a running child is alive");
	is(kipc__proc_alive((uint32_t)pid, start + 1), 0,
	   "proc: the running child's pid with a wrong start time: 0");
	kill(pid, SIGKILL);
	zombie = wait_dead_unreaped(pid);
	ok(zombie && task_state(pid, pid) == 'Z' && kipc__proc_alive((uint32_t)pid, start) == 0,
	   "proc: killed with SIGKILL, still an unreaped zombie: dead (0)");
	waitpid(pid, NULL, 0);
	is(kipc__proc_alive((uint32_t)pid, start), 0, "proc: after reaping: 0");
}

static int go_fd = -1;

/* The survivor: runs until the parent says so, then ends the process. */
static void *survivor(void *arg)
{
	char c;

	(void)arg;
	read_within(go_fd, &c, 1, 10);
	_exit(0);
}

static void *forever(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/*
 * A child whose main thread calls pthread_exit() while another thread
 * runs on (until told through a pipe): alive, though its leader is 'Z'.
 */
static void test_proc_leader_exit(void)
{
	int ready[2], go[2];
	uint64_t start = 0;
	bool seen_zombie_leader = false;
	double end;
	pid_t pid;
	char c = 'g';
	int alive_then;

	if (pipe(ready) < 0 || pipe(go) < 0) {
		ok(0, "proc: leader exit (no pipes)");
		return;
	}
	fflush(stdout);
	pid = fork_child();
	if (pid == 0) {
		pthread_t t;
		uint64_t s = kipc__proc_self()->start;

		go_fd = go[0];
		if (pthread_create(&t, NULL, survivor, NULL) != 0)
			_exit(2);
		if (write(ready[1], &s, sizeof(s)) != sizeof(s))
			_exit(3);
		pthread_exit(NULL);
	}
	close(ready[1]);
	close(go[0]);
	if (pid < 0 || !read_within(ready[0], &start, sizeof(start), 10)) {
		ok(0, "proc: leader exit: the child did not start");
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		close(ready[0]);
		close(go[1]);
		return;
	}
	end = now() + 5.0;
	while (!(seen_zombie_leader = task_state(pid, pid) == 'Z') && now() < end)
		sleep_ms(1);
	alive_then = kipc__proc_alive((uint32_t)pid, start);
	ok(seen_zombie_leader && alive_then == 1,
	   "proc: main thread gone (pthread_exit, leader 'Z'), another thread running: alive "
	   "(leader state %c, alive %d)", task_state(pid, pid), alive_then);
	if (write(go[1], &c, 1) != 1)
		kill(pid, SIGKILL);
	ok(wait_dead_unreaped(pid) && kipc__proc_alive((uint32_t)pid, start) == 0,
	   "proc: ... once that thread ends the process: dead (0), before reaping");
	waitpid(pid, NULL, 0);
	close(ready[0]);
	close(go[1]);
}

/* A killed process with several threads is dead once it is a zombie. */
static void test_proc_killed_threads(void)
{
	int ready[2];
	uint64_t start = 0;
	pid_t pid;

	if (pipe(ready) < 0) {
		ok(0, "proc: killed multi-threaded child (no pipe)");
		return;
	}
	fflush(stdout);
	pid = fork_child();
	if (pid == 0) {
		pthread_t t[2];
		uint64_t s = kipc__proc_self()->start;

		for (int i = 0; i < 2; i++)
			if (pthread_create(&t[i], NULL, forever, NULL) != 0)
				_exit(2);
		if (write(ready[1], &s, sizeof(s)) != sizeof(s))
			_exit(3);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (pid > 0 && read_within(ready[0], &start, sizeof(start), 10)) {
		int before = kipc__proc_alive((uint32_t)pid, start);

		kill(pid, SIGKILL);
		ok(before == 1 && wait_dead_unreaped(pid) &&
		   kipc__proc_alive((uint32_t)pid, start) == 0,
		   "proc: a three-thread child: alive, then dead once killed (unreaped zombie)");
	} else {
		ok(0, "proc: a three-thread child (did not start)");
		if (pid > 0)
			kill(pid, SIGKILL);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	close(ready[0]);
}

/* ------------------------------------------------------------------------ */
/* 6. The descriptor table                                                  */
/* ------------------------------------------------------------------------ */

#define DUMMY_LIVE 0x64756d79u

struct dummy {
	struct kipc__file file;	/* first: the library frees the dummy */
	uint32_t magic;
	int fd;			/* where it was installed */
	int forked;		/* fork_child calls, in this process's copy */
	int released;		/* release calls */
	int reenter_fd;		/* >= 0: release closes this descriptor */
};

static struct fd_counts {
	pid_t parent;
	int fork_calls_parent, fork_calls_child;
	int child_result;
} *counts;			/* MAP_SHARED */

static int release_count;	/* releases in this process */
static int reenter_rc = 1;	/* the last reentrant close from a release */

static void dummy_release(struct kipc__file *f)
{
	struct dummy *d = (struct dummy *)f;

	__atomic_add_fetch(&d->released, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&release_count, 1, __ATOMIC_RELAXED);
	/* Release runs outside the table lock: it may use the table. */
	if (d->reenter_fd >= 0)
		reenter_rc = kipc_close(d->reenter_fd);
}

static void dummy_fork(struct kipc__file *f)
{
	struct dummy *d = (struct dummy *)f;

	d->forked++;
	if (getpid() == counts->parent)
		counts->fork_calls_parent++;
	else
		counts->fork_calls_child++;
}

static const struct kipc__file_ops ops_a = { "dummy-a", dummy_release, dummy_fork };
static const struct kipc__file_ops ops_b = { "dummy-b", dummy_release, dummy_fork };
static const struct kipc__file_ops ops_x = { "dummy-x", dummy_release, NULL };

static struct dummy *new_dummy(const struct kipc__file_ops *ops)
{
	struct dummy *d = calloc(1, sizeof(*d));

	if (!d)
		abort();
	d->file.ops = ops;
	kipc_atomic_set(&d->file.refs, 1);
	d->magic = DUMMY_LIVE;
	d->reenter_fd = -1;
	d->fd = -1;
	return d;
}

/*
 * A new dummy installed where it is expected to land (recorded before it is
 * published, for the lookups racing with it); its fd, or a negative errno.
 */
static int install_at(const struct kipc__file_ops *ops, int expect, struct dummy **out)
{
	struct dummy *d = new_dummy(ops);
	int fd;

	d->fd = expect;
	fd = kipc__fd_install(&d->file);
	if (fd < 0) {
		free(d);
		d = NULL;
	}
	if (out)
		*out = d;
	return fd;
}

/* The same, single-threaded: the dummy records where it did land. */
static int install(const struct kipc__file_ops *ops, struct dummy **out)
{
	struct dummy *d;
	int fd = install_at(ops, -1, &d);

	if (d)
		d->fd = fd;
	if (out)
		*out = d;
	return fd;
}

/*
 * fork() while another thread grows the table: the atfork handlers take the
 * RCU callback lock and the table lock, and growth takes them too (it
 * queues the old array for freeing): in a consistent order, or the fork
 * deadlocks.  In a child (which starts the threads), bounded by a deadline.
 */
static int grow_done;

static void *grower_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++)
		if (install(&ops_x, NULL) < 0)
			break;
	__atomic_store_n(&grow_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_fd_fork_vs_growth(void)
{
	enum { ROUNDS = 4 };
	bool exited = true;
	int round;

	if (UNDER_TSAN) {
		ok(1, "# SKIP fork() racing table growth: fork() in a threaded TSan process");
		return;
	}
	/* A race: a few rounds (each about 0.2 s), each child with a fresh table. */
	for (round = 0; round < ROUNDS && exited; round++) {
		pid_t pid;

		fflush(stdout);
		pid = fork_child();
		if (pid == 0) {
			pthread_t t;

			/* The RCU callback thread runs, as after any kipc_close. */
			kipc_close(install(&ops_x, NULL));
			if (pthread_create(&t, NULL, grower_thread, NULL) != 0)
				_exit(2);
			for (int i = 0; i < 5000 && !__atomic_load_n(&grow_done, __ATOMIC_ACQUIRE);
			     i++) {
				pid_t g = fork();

				if (g == 0)
					_exit(0);
				if (g > 0)
					waitpid(g, NULL, 0);
			}
			pthread_join(t, NULL);
			_exit(0);
		}
		exited = pid > 0 && reap_child(pid, 4.0);
	}
	ok(exited, "fd: fork() while another thread grows the table to 20000 descriptors "
	   "finishes, %d rounds (no atfork lock-order deadlock%s)", ROUNDS,
	   exited ? "" : ": stuck, killed");
}

/*
 * First of the table's tests, while this process has no thread: fork()
 * copies the table, the child finds every description at its fd, and
 * fork_child ran once per description, in the child only.
 */
static void test_fd_fork(void)
{
	enum { N = 3 };
	struct dummy *d[N];
	int fds[N];
	pid_t pid;
	bool exited, in_order = true;

	counts->parent = getpid();
	for (int i = 0; i < N; i++) {
		fds[i] = install(i == 1 ? &ops_b : &ops_a, &d[i]);
		in_order &= fds[i] == i;
	}
	ok(in_order, "fd: three installs in an empty table give descriptors 0, 1, 2");
	fflush(stdout);
	pid = fork_child();
	if (pid == 0) {
		int r = 0;

		if (counts->fork_calls_child != N)
			r |= 1;
		for (int i = 0; i < N; i++) {
			struct kipc__file *f = kipc__fd_get(i, NULL);

			if (f != &d[i]->file || d[i]->forked != 1)
				r |= 2;
			if (f)
				kipc__fd_put(f);
		}
		/* A close in the child releases the child's copy only. */
		if (kipc_close(0) != 0 || release_count != 1)
			r |= 4;
		counts->child_result = r;
		_exit(r);
	}
	exited = pid > 0 && reap_child(pid, 10.0);
	ok(exited && counts->fork_calls_child == N,
	   "fd: after fork, fork_child ran once per open description in the child (%d calls, "
	   "child result %#x)", counts->fork_calls_child, counts->child_result);
	ok(exited && !(counts->child_result & 2),
	   "fd: ... and the child finds each description at its descriptor");
	ok(exited && !(counts->child_result & 4),
	   "fd: ... the child's kipc_close releases its own copy");
	ok(counts->fork_calls_parent == 0 && d[0]->forked == 0 && d[1]->forked == 0 &&
	   d[2]->forked == 0, "fd: fork_child never ran in the parent");
	{
		struct kipc__file *f = kipc__fd_get(0, &ops_a);

		ok(f == &d[0]->file && release_count == 0,
		   "fd: the parent's descriptor 0 is untouched by the child's close");
		if (f)
			kipc__fd_put(f);
	}
	for (int i = 0; i < N; i++)
		kipc_close(fds[i]);
	is(release_count, N, "fd: closing the three in the parent releases three");
}

static void test_fd_basic(void)
{
	const int bad_fds[] = { -1, INT_MIN, 7, 63, 64, 1000, KIPC__FD_MAX, INT_MAX };
	struct dummy *d[8], *r;
	struct kipc__file *f;
	int fds[5], fd, refs, base, rc;
	bool in_order = true;

	for (int i = 0; i < 5; i++) {
		fds[i] = install(&ops_a, &d[i]);
		in_order &= fds[i] == i;
	}
	ok(in_order, "fd: five installs in an empty table give 0, 1, 2, 3, 4 (%d %d %d %d %d)",
	   fds[0], fds[1], fds[2], fds[3], fds[4]);
	is(kipc_close(2), 0, "fd: kipc_close(2): 0");
	is(install(&ops_a, &d[5]), 2, "fd: the next install reuses the lowest free descriptor, 2");
	is(install(&ops_b, &d[6]), 5, "fd: the one after that takes 5");

	refs = kipc_atomic_read(&d[1]->file.refs);
	f = kipc__fd_get(1, &ops_a);
	ok(f == &d[1]->file && kipc_atomic_read(&d[1]->file.refs) == refs + 1,
	   "fd: kipc__fd_get(1, right ops) returns the description, refs %d -> %d", refs,
	   kipc_atomic_read(&d[1]->file.refs));
	if (f)
		kipc__fd_put(f);
	is(kipc_atomic_read(&d[1]->file.refs), refs, "fd: kipc__fd_put gives the reference back");
	f = kipc__fd_get(5, NULL);
	ok(f == &d[6]->file, "fd: kipc__fd_get(fd, NULL ops) takes any type");
	if (f)
		kipc__fd_put(f);
	errno = 0;
	f = kipc__fd_get(1, &ops_b);
	ok(!f && errno == EBADF && kipc_atomic_read(&d[1]->file.refs) == refs,
	   "fd: kipc__fd_get with another type's ops: NULL, EBADF, no reference taken");
	for (size_t i = 0; i < sizeof(bad_fds) / sizeof(bad_fds[0]); i++) {
		errno = 0;
		f = kipc__fd_get(bad_fds[i], NULL);
		ok(!f && errno == EBADF, "fd: kipc__fd_get(%d) (never opened): NULL, EBADF",
		   bad_fds[i]);
		if (f)
			kipc__fd_put(f);
	}

	base = release_count;
	is(kipc_close(3), 0, "fd: kipc_close(3): 0");
	is(release_count, base + 1, "fd: ... the only reference gone, release ran once");
	errno = 0;
	rc = kipc_close(3);
	ok(rc == -1 && errno == EBADF, "fd: kipc_close(3) again: -1, EBADF");
	errno = 0;
	f = kipc__fd_get(3, NULL);
	ok(!f && errno == EBADF, "fd: kipc__fd_get of the closed descriptor: NULL, EBADF");
	for (size_t i = 0; i < sizeof(bad_fds) / sizeof(bad_fds[0]); i++) {
		errno = 0;
		rc = kipc_close(bad_fds[i]);
		ok(rc == -1 && errno == EBADF, "fd: kipc_close(%d) (never opened): -1, EBADF",
		   bad_fds[i]);
	}

	/* A held reference outlives the descriptor. */
	base = release_count;
	f = kipc__fd_get(4, &ops_a);
	rc = kipc_close(4);
	ok(f && rc == 0 && release_count == base,
	   "fd: kipc_close(4) while a kipc__fd_get reference is held: 0, no release yet");
	errno = 0;
	ok(!kipc__fd_get(4, NULL) && errno == EBADF,
	   "fd: ... the descriptor is closed for lookups at once");
	ok(f && d[4]->magic == DUMMY_LIVE && d[4]->released == 0,
	   "fd: ... the description is intact while the reference is held");
	if (f)
		kipc__fd_put(f);
	is(release_count, base + 1, "fd: ... release runs at the last kipc__fd_put");

	/* Release may call into the table (it runs outside the lock). */
	base = release_count;
	fd = install(&ops_a, &r);
	r->reenter_fd = 5;
	reenter_rc = 1;
	rc = kipc_close(fd);
	ok(rc == 0 && reenter_rc == 0 && release_count == base + 2,
	   "fd: a release that closes another descriptor runs outside the table lock");

	/* Leave the table empty: 0, 1, 2 remain. */
	for (int i = 0; i < 3; i++)
		kipc_close(i);
	fd = install(&ops_a, &r);
	is(fd, 0, "fd: with everything closed, the next install is 0 again");
	kipc_close(fd);
}

/*
 * Four threads look up random descriptors (of a given type, or any) while
 * a fifth closes and reinstalls them, and in the middle grows the table
 * with a batch of extra descriptors.  Every lookup that succeeds must hold
 * a live, unreleased description of the type asked for, installed at that
 * descriptor; every close must be matched by one release.
 */
enum { T_NFD = 32, T_GETTERS = 4, T_EXTRA = 200 };

struct getter {
	pthread_t thread;
	uint64_t rs;
	long hits, misses, bad, first_bad;
};

static int t_stop;
static struct closer_stats {
	long closes, installs, extras, bad;
} t_closer;

static void *getter_thread(void *arg)
{
	struct getter *g = arg;
	static const struct kipc__file_ops *const want[] = { &ops_a, &ops_b, NULL };

	while (!__atomic_load_n(&t_stop, __ATOMIC_RELAXED)) {
		uint64_t r = rnd(&g->rs);
		/* Mostly the busy ones; now and then the growth area and past it. */
		int fd = (int)(r % 4 ? r % T_NFD : r % (T_NFD + T_EXTRA + 8));
		const struct kipc__file_ops *ops = want[(r >> 32) % 3];
		struct kipc__file *f;
		struct dummy *d;
		int kind;

		errno = 0;
		f = kipc__fd_get(fd, ops);
		if (!f) {
			if (errno != EBADF && !g->bad++)
				g->first_bad = 1;
			g->misses++;
			continue;
		}
		d = (struct dummy *)f;
		kind = ops && f->ops != ops ? 2 : d->magic != DUMMY_LIVE ? 3 : d->fd != fd ? 4 :
		       __atomic_load_n(&d->released, __ATOMIC_RELAXED) ? 5 :
		       (fd >= T_NFD) != (f->ops == &ops_x) ? 6 : 0;
		if (kind && !g->bad++)
			g->first_bad = kind;
		g->hits++;
		kipc__fd_put(f);
	}
	return NULL;
}

static void *closer_thread(void *arg)
{
	uint64_t rs = *(uint64_t *)arg;
	double start = now();
	bool grown = false;

	while (!__atomic_load_n(&t_stop, __ATOMIC_RELAXED)) {
		int fd = (int)(rnd(&rs) % T_NFD);

		if (kipc_close(fd) != 0)
			t_closer.bad++;
		t_closer.closes++;
		if (install_at(rnd(&rs) & 1 ? &ops_a : &ops_b, fd, NULL) != fd)
			t_closer.bad++;
		t_closer.installs++;
		if (!grown && now() - start > 0.3) {
			/* Grow the table under the readers' feet, then shrink back. */
			for (int i = 0; i < T_EXTRA; i++)
				if (install_at(&ops_x, T_NFD + i, NULL) != T_NFD + i)
					t_closer.bad++;
			for (int i = 0; i < T_EXTRA; i++)
				if (kipc_close(T_NFD + i) != 0)
					t_closer.bad++;
			t_closer.extras = T_EXTRA;
			grown = true;
		}
		if (t_closer.closes % 64 == 0)
			sched_yield();
	}
	return NULL;
}

static void test_fd_threads(void)
{
	struct getter g[T_GETTERS];
	pthread_t closer;
	uint64_t closer_seed = seed * 31 + 5;
	long hits = 0, misses = 0, bad = 0;
	int base = release_count, created = T_NFD, first_bad = 0;
	bool setup = true;

	for (int i = 0; i < T_NFD; i++)
		setup &= install_at(i & 1 ? &ops_b : &ops_a, i, NULL) == i;
	ok(setup, "fd threads: %d descriptors installed at 0..%d", T_NFD, T_NFD - 1);
	__atomic_store_n(&t_stop, 0, __ATOMIC_RELAXED);
	memset(&t_closer, 0, sizeof(t_closer));
	for (int i = 0; i < T_GETTERS; i++) {
		memset(&g[i], 0, sizeof(g[i]));
		g[i].rs = seed * 7919 + (uint64_t)i * 104729 + 1;
		pthread_create(&g[i].thread, NULL, getter_thread, &g[i]);
	}
	pthread_create(&closer, NULL, closer_thread, &closer_seed);
	sleep_ms(1000);
	__atomic_store_n(&t_stop, 1, __ATOMIC_RELAXED);
	pthread_join(closer, NULL);
	for (int i = 0; i < T_GETTERS; i++) {
		pthread_join(g[i].thread, NULL);
		hits += g[i].hits;
		misses += g[i].misses;
		bad += g[i].bad;
		if (!first_bad)
			first_bad = (int)g[i].first_bad;
	}
	diag("%ld lookups hit, %ld missed; %ld closes and reinstalls, %ld extra descriptors",
	     hits, misses, t_closer.closes, t_closer.extras);
	/* first_bad: 1 not EBADF, 2 type, 3 magic, 4 fd, 5 released, 6 extra's type */
	ok(bad == 0 && hits > 0,
	   "fd threads: every successful lookup held a live description of the asked type at "
	   "that descriptor, every failed one was EBADF (%ld bad, first kind %d)", bad, first_bad);
	ok(t_closer.bad == 0 && t_closer.closes > 0 && t_closer.extras == T_EXTRA,
	   "fd threads: each close returned 0 and each reinstall got the closed descriptor "
	   "back, also across table growth (%ld bad)", t_closer.bad);
	for (int i = 0; i < T_NFD; i++)
		kipc_close(i);
	created += (int)(t_closer.installs + t_closer.extras);
	is(release_count - base, created,
	   "fd threads: releases equal descriptions closed (%d made, all closed)", created);
}

/* Growth past the initial 64 slots: every descriptor stays valid. */
static void test_fd_grow(void)
{
	enum { N = 1000 };
	struct dummy **d = calloc(N, sizeof(*d));
	int base = release_count, wrong_fd = 0, wrong_get = 0;

	for (int i = 0; i < N; i++)
		if (install(i % 3 ? &ops_a : &ops_b, &d[i]) != i)
			wrong_fd++;
	ok(wrong_fd == 0, "fd grow: %d installs give 0..%d in order (%d out of place)", N, N - 1,
	   wrong_fd);
	for (int i = 0; i < N; i++) {
		struct kipc__file *f = kipc__fd_get(i, i % 3 ? &ops_a : &ops_b);

		if (!d[i] || f != &d[i]->file || kipc_atomic_read(&d[i]->file.refs) != 2)
			wrong_get++;
		if (f)
			kipc__fd_put(f);
	}
	ok(wrong_get == 0, "fd grow: after growing, each of the %d descriptors names its own "
	   "description with the right type and references (%d wrong)", N, wrong_get);
	errno = 0;
	ok(!kipc__fd_get(N, NULL) && errno == EBADF,
	   "fd grow: the first descriptor past them is not open");
	for (int i = 0; i < N; i++)
		kipc_close(i);
	is(release_count - base, N, "fd grow: closing them all releases %d", N);
	free(d);
}

/* ------------------------------------------------------------------------ */

int main(void)
{
	struct passwd *pw = getpwnam("nobody");
	void *shared;

	seed = tap_seed();
	page = (size_t)sysconf(_SC_PAGESIZE);
	root = geteuid() == 0;
	if (pw) {
		nobody_uid = pw->pw_uid;
		nobody_gid = pw->pw_gid;
	}
	alarm(60);
	snprintf(ns_base, sizeof(ns_base), "/dev/shm/kipc-test-core-%d", (int)getpid());
	rm_tree(ns_base);
	if (mkdir(ns_base, 0755) < 0 || chmod(ns_base, 0755) < 0) {
		ok(0, "could not make %s: %s", ns_base, strerror(errno));
		return done_testing();
	}
	setenv("KIPC_NAMESPACE", ns_base, 1);
	shared = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		ok(0, "mmap: %s", strerror(errno));
		return done_testing();
	}
	probe_area = shared;
	counts = (struct fd_counts *)((char *)shared + page);

	test_names();

	test_ns_dirs();
	test_ns_root();
	test_ns_refusals();
	test_ns_open();
	test_ns_other_user();

	test_obj_layout();
	test_obj_corruptions();
	test_obj_fuzz_buffer();
	test_obj_fuzz_file();

	test_planted();

	test_proc_self();
	test_proc_absurd();
	test_proc_child();
	test_proc_leader_exit();
	test_proc_killed_threads();

	/* The last forks: nothing before this starts a thread here. */
	test_fd_fork_vs_growth();
	test_fd_fork();
	test_fd_basic();
	test_fd_threads();
	test_fd_grow();
	kipc_rcu_barrier();

	munmap(shared, 2 * page);
	rm_tree(ns_base);
	ok(access(ns_base, F_OK) < 0, "the private namespace %s is removed", ns_base);
	return done_testing();
}
