// SPDX-License-Identifier: MIT
/*
 * Named FIFOs: pipe objects (pipe.h) linked as fifo/NAME in the namespace,
 * and the open rules of fifo(7).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <kipc/pipe.h>
#include "ipc/fail.h"
#include "ipc/namespace.h"
#include "ipc/pipe.h"

int kipc_mkfifo(const char *name, mode_t mode)
{
	struct kipc__obj_geom g;
	struct kipc__obj obj;
	int err = kipc__ns_check_name(name);

	if (err)
		return kipc__fail(err);
	kipc__pipe_geom(1, &g);
	/* mkfifo(3) honours the umask. */
	err = kipc__obj_create(KIPC__NS_FIFO, &g, mode & ~kipc__ns_umask() & 0777, &obj);
	if (err)
		return kipc__fail(err);
	kipc__pipe_init(&obj, 1, KIPC__PIPE_STREAM);
	__atomic_store_n(&obj.hdr->state, KIPC__OBJ_LIVE, __ATOMIC_RELEASE);
	err = kipc__obj_link(&obj, KIPC__NS_FIFO, name + 1);
	kipc__obj_close(&obj);
	return err ? kipc__fail(err) : 0;
}

int kipc_unlink(const char *name)
{
	char path[PATH_MAX];
	int err = kipc__ns_check_name(name);

	if (!err)
		err = kipc__ns_path(path, KIPC__NS_FIFO, name + 1);
	if (err)
		return kipc__fail(err);
	return unlink(path);
}

/* The flags open(2) takes that mean something for a FIFO, or nothing. */
#define OPEN_FLAGS (O_ACCMODE | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_LARGEFILE)

int kipc_open(const char *name, int flags, ...)
{
	int acc = flags & O_ACCMODE, mine, other, fd, err = kipc__ns_check_name(name);
	struct kipc__pipe *p;
	struct kipc__obj obj;
	uint32_t seen;
	bool there;

	if (!err && ((flags & ~OPEN_FLAGS) || acc == O_ACCMODE))
		err = -EINVAL;	/* O_CREAT and friends: kipc_mkfifo() makes FIFOs */
	if (!err)
		err = kipc__obj_open(KIPC__NS_FIFO, name + 1, KIPC__OBJ_FIFO, &obj);
	/* Readers move the ring's tail: every end needs to write the file. */
	if (!err && !obj.writable) {
		kipc__obj_close(&obj);
		err = -EACCES;
	}
	if (!err)
		err = kipc__pipe_attach(&obj, &p);
	if (err)
		return kipc__fail(err);
	mine = acc == O_WRONLY ? KIPC__ROLE_WRITE : KIPC__ROLE_READ;
	other = !mine;
	if (acc == O_WRONLY && (flags & O_NONBLOCK) && !kipc__pipe_role_live(p, 0, KIPC__ROLE_READ)) {
		kipc__pipe_put(p);
		return kipc__fail(-ENXIO);
	}
	/*
	 * fifo(7): a blocking open waits only if the other side has no end
	 * now and opens none meanwhile.  Both are looked at before our own
	 * end exists: a waiting opener of the other side cannot finish its
	 * open (and perhaps close again) until it sees us, so one that is
	 * there now is seen by role_live(), and one that comes later moves
	 * the open counter from seen.
	 */
	seen = __atomic_load_n(&p->m->chan[0].open_seq[other], __ATOMIC_ACQUIRE);
	there = kipc__pipe_role_live(p, 0, other);
	fd = kipc__pipe_end_open(p, acc == O_WRONLY ? -1 : 0, acc == O_RDONLY ? -1 : 0, flags);
	if (fd >= 0) {
		kipc__pipe_announce(p, mine);
		if (acc == O_RDWR)
			kipc__pipe_announce(p, other);
		else if (!(flags & O_NONBLOCK) && !there &&
			 (err = kipc__pipe_open_wait(p, other, seen))) {
			kipc_close(fd);
			fd = err;
		}
	}
	kipc__pipe_put(p);
	return fd < 0 ? kipc__fail(fd) : fd;
}
