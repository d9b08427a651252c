/* SPDX-License-Identifier: MIT */
/*
 * kipc/pipe.h - pipes, FIFOs and socket pairs on shared memory.
 *
 * The calls of pipe(2), mkfifo(3), open(2), read(2), write(2), fcntl(2),
 * unlink(2) and socketpair(2), on kipc descriptors (kipc/ipc.h), with the
 * semantics of pipe(7) and fifo(7):
 *
 *   kipc_pipe(fds) / kipc_pipe2(fds, flags)   fds[0] reads, fds[1] writes;
 *                      flags O_NONBLOCK, O_CLOEXEC (kipc descriptors never
 *                      survive exec), O_DIRECT (packet mode)
 *   kipc_mkfifo(name, mode)   a named FIFO "/name" in the namespace
 *   kipc_open(name, flags)    open a FIFO: O_RDONLY waits for a writer,
 *                      O_WRONLY for a reader, O_RDWR never; with O_NONBLOCK
 *                      a reader opens at once and a writer with no reader
 *                      fails with ENXIO
 *   kipc_read(fd, buf, n) / kipc_write(fd, buf, n)
 *                      blocking or O_NONBLOCK (EAGAIN); writes of at most
 *                      PIPE_BUF are atomic; EOF (0) once every writer is
 *                      gone, EPIPE and SIGPIPE once every reader is
 *   kipc_fcntl(fd, cmd, ...)  F_GETFL, F_SETFL (O_NONBLOCK), F_GETPIPE_SZ,
 *                      F_SETPIPE_SZ (a power of two of pages up to 1 MiB;
 *                      EBUSY below what is buffered)
 *   kipc_unlink(name)   remove a FIFO's name; open ends keep working
 *   kipc_socketpair(AF_UNIX, SOCK_STREAM or SOCK_SEQPACKET, 0, sv)
 *                      two connected ends, one ring per direction;
 *                      SOCK_SEQPACKET keeps message boundaries (a short read
 *                      truncates the message, as recv() does)
 *
 * All return what the system calls return: -1 with errno on error.
 *
 * A process killed at any instant counts as having closed its ends: its
 * reader's peer gets EPIPE, its writer's peer EOF, within about 100 ms.
 * Capacity is 64 KiB by default.  See docs/pipe.md.
 */
#ifndef KIPC_PIPE_H
#define KIPC_PIPE_H

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <kipc/ipc.h>

int kipc_pipe(int fds[2]);
int kipc_pipe2(int fds[2], int flags);
int kipc_mkfifo(const char *name, mode_t mode);
int kipc_open(const char *name, int flags, ...);
ssize_t kipc_read(int fd, void *buf, size_t n);
ssize_t kipc_write(int fd, const void *buf, size_t n);
int kipc_fcntl(int fd, int cmd, ...);
int kipc_unlink(const char *name);
int kipc_socketpair(int domain, int type, int protocol, int sv[2]);

#endif /* KIPC_PIPE_H */
