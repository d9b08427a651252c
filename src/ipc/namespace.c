// SPDX-License-Identifier: MIT
/*
 * The IPC namespace; see namespace.h.
 *
 * Paths are built afresh on every call rather than opening the directory
 * once and using openat(): the environment variable may change, the
 * directory may be removed and made again (systemd's RemoveIPC, a test's
 * cleanup), and a path costs one open() where a cached directory fd would
 * need validating on every use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ipc/namespace.h"

const char *const kipc__ns_dirname[KIPC__NS_NKINDS] = {
	[KIPC__NS_SHM] = "shm",
	[KIPC__NS_MQ] = "mq",
	[KIPC__NS_FIFO] = "fifo",
	[KIPC__NS_SYSV] = "sysv",
};

const char *kipc__ns_root(void)
{
	const char *root = getenv("KIPC_NAMESPACE");

	return root && *root ? root : KIPC__NS_DEFAULT;
}

int kipc__ns_check_name(const char *name)
{
	size_t len;

	if (!name || name[0] != '/')
		return -EINVAL;
	name++;
	len = strnlen(name, NAME_MAX + 1);
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	if (len == 0 || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	return 0;
}

int kipc__ns_path(char buf[PATH_MAX], enum kipc__ns_kind kind, const char *leaf)
{
	int n;

	if (leaf)
		n = snprintf(buf, PATH_MAX, "%s/%s/%s", kipc__ns_root(),
			     kipc__ns_dirname[kind], leaf);
	else
		n = snprintf(buf, PATH_MAX, "%s/%s", kipc__ns_root(),
			     kipc__ns_dirname[kind]);
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/*
 * A shared sticky directory, as /tmp: anyone may create, only an object's
 * owner may remove or rename it.  An existing directory is accepted only if
 * it is a real directory that either belongs to us or root, or is sticky
 * (so nobody else can replace our files in it).
 */
static int shared_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 01777) == 0) {
		/* mkdir() obeys the umask; the namespace must not. */
		if (chmod(path, 01777) < 0 && errno != EPERM)
			return -errno;
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid() && st.st_uid != 0 && !(st.st_mode & S_ISVTX))
		return -EPERM;
	return 0;
}

int kipc__ns_mkdirs(enum kipc__ns_kind kind)
{
	char path[PATH_MAX];
	int err = shared_dir(kipc__ns_root());

	if (err)
		return err;
	err = kipc__ns_path(path, kind, NULL);
	return err ? err : shared_dir(path);
}

int kipc__ns_open(enum kipc__ns_kind kind, const char *leaf, int flags, mode_t mode)
{
	char path[PATH_MAX];
	int fd, err = kipc__ns_path(path, kind, leaf);

	if (err)
		return err;
	flags |= O_NOFOLLOW | O_CLOEXEC;
	fd = open(path, flags, mode);
	if (fd < 0 && errno == ENOENT && (flags & O_CREAT)) {
		err = kipc__ns_mkdirs(kind);
		if (err)
			return err;
		fd = open(path, flags, mode);
	}
	return fd < 0 ? -errno : fd;
}

/*
 * umask() can only be read by setting it, which races with other threads
 * creating files; /proc/self/status has it (Linux 4.7 and later).
 */
mode_t kipc__ns_umask(void)
{
	char buf[2048], *p;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	mode_t mask;

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			p = strstr(buf, "\nUmask:");
			if (p)
				return (mode_t)strtoul(p + 7, NULL, 8);
		}
	}
	mask = umask(022);
	umask(mask);
	return mask;
}
