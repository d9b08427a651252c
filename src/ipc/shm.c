// SPDX-License-Identifier: MIT
/*
 * POSIX shared memory: files in the namespace's shm/ directory, as glibc's
 * shm_open() keeps them in /dev/shm.  The segment is the caller's bytes
 * from offset 0, so it has no kipc header: there is nothing to validate,
 * and the kernel's file permissions are all the access control there is.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <kipc/shm.h>
#include "ipc/fail.h"
#include "ipc/namespace.h"

/* What shm_open(3) documents, and O_NONBLOCK, which glibc passes on too. */
#define SHM_OFLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_NONBLOCK)

int kipc_shm_open(const char *name, int oflag, mode_t mode)
{
	int fd, err = kipc__ns_check_name(name);

	if (!err && ((oflag & ~SHM_OFLAGS) || (oflag & O_ACCMODE) == O_ACCMODE))
		err = -EINVAL;
	if (err)
		return kipc__fail(err);
	fd = kipc__ns_open(KIPC__NS_SHM, name + 1, oflag, mode);
	return fd < 0 ? kipc__fail(fd) : fd;
}

int kipc_shm_unlink(const char *name)
{
	char path[PATH_MAX];
	int err = kipc__ns_check_name(name);

	if (!err)
		err = kipc__ns_path(path, KIPC__NS_SHM, name + 1);
	if (err)
		return kipc__fail(err);
	return unlink(path);
}
