/* SPDX-License-Identifier: MIT */
/*
 * The IPC namespace: one directory ($KIPC_NAMESPACE, else /dev/shm/kipc,
 * mode 1777 like /tmp) holding one file per object.  Each kind of object
 * has a subdirectory of its own, because the kernel keeps POSIX shared
 * memory, message queues and FIFOs in separate name spaces too: "/x" may
 * be a segment and a queue at once.
 *
 *   kipc__ns_check_name(name)  0 for a POSIX name "/x" (one leading slash,
 *                              no other, 1..NAME_MAX bytes after it, not
 *                              "." or ".."), else -EINVAL / -ENAMETOOLONG
 *   kipc__ns_path(buf, kind, leaf)
 *                              the path of leaf in kind's directory;
 *                              -ENAMETOOLONG if it does not fit
 *   kipc__ns_mkdirs(kind)      create the namespace and kind's directory
 *                              if missing, 1777 whatever the umask; refuse
 *                              (-ENOTDIR / -EPERM) a symlink or a directory
 *                              others could swap objects in
 *   kipc__ns_open(kind, leaf, flags, mode)
 *                              open() in kind's directory with O_NOFOLLOW
 *                              and O_CLOEXEC, creating the directories
 *                              first under O_CREAT; an fd or -errno
 *   kipc__ns_umask()           the process's umask, read without changing it
 */
#ifndef KIPC_IPC_NAMESPACE_H
#define KIPC_IPC_NAMESPACE_H

#include <limits.h>
#include <sys/types.h>

enum kipc__ns_kind {
	KIPC__NS_SHM,		/* POSIX shared memory: plain files */
	KIPC__NS_MQ,		/* POSIX message queues */
	KIPC__NS_FIFO,		/* named FIFOs */
	KIPC__NS_SYSV,		/* System V objects, by id and by key */
	KIPC__NS_NKINDS
};

#define KIPC__NS_DEFAULT "/dev/shm/kipc"

extern const char *const kipc__ns_dirname[KIPC__NS_NKINDS];

const char *kipc__ns_root(void);
int kipc__ns_check_name(const char *name);
int kipc__ns_path(char buf[PATH_MAX], enum kipc__ns_kind kind, const char *leaf);
int kipc__ns_mkdirs(enum kipc__ns_kind kind);
int kipc__ns_open(enum kipc__ns_kind kind, const char *leaf, int flags, mode_t mode);
mode_t kipc__ns_umask(void);

#endif
