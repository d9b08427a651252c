/* SPDX-License-Identifier: MIT */
/*
 * kipc/ipc.h - what all kipc IPC objects share.
 *
 * The namespace.  Named objects are files under $KIPC_NAMESPACE, else
 * /dev/shm/kipc (created mode 1777, like /tmp); a different directory is a
 * different IPC namespace.  Each kind has its own subdirectory (shm/, mq/,
 * fifo/, sysv/), as the kernel keeps separate name spaces per kind.  The
 * file's owner and mode are the object's permissions, enforced by the
 * kernel.  Objects live until removed (or the tmpfs is cleared); `kipc ls`
 * lists them and `kipc rm` removes them.  docs/ipc.md describes the files.
 *
 * Descriptors.  Pipes, FIFOs, socket pairs and message queues are kipc
 * descriptors: small ints from one per-process table, inherited by fork()
 * as kernel descriptors are.  They are not kernel file descriptors: pass
 * them to kipc_ calls only.
 *
 *   kipc_close(fd)   0, or -1 with errno EBADF
 */
#ifndef KIPC_IPC_H
#define KIPC_IPC_H

int kipc_close(int fd);

#endif /* KIPC_IPC_H */
