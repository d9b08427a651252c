/* SPDX-License-Identifier: MIT */
/*
 * kipc/shm.h - shared memory, POSIX and System V, in the kipc namespace.
 *
 * POSIX: a named segment is a plain file in the namespace's shm/ directory,
 * and kipc_shm_open() returns a real file descriptor to ftruncate() and
 * mmap(), exactly as shm_open() does for /dev/shm:
 *
 *   kipc_shm_open(name, oflag, mode)   fd, or -1 with errno (EINVAL for a
 *                                      bad name, ENAMETOOLONG, EEXIST,
 *                                      ENOENT, EACCES, ...)
 *   kipc_shm_unlink(name)              0, or -1 with errno
 *
 * System V: the calls and structures of <sys/shm.h>, so that
 * "#define shmget kipc_shmget" (and the other three) switches a program:
 *
 *   kipc_shmget(key, size, shmflg)     id, or -1 (IPC_PRIVATE, ftok keys,
 *                                      IPC_CREAT, IPC_EXCL, mode bits)
 *   kipc_shmat(id, addr, shmflg)       address, or (void *)-1 (SHM_RDONLY,
 *                                      SHM_RND, SHM_REMAP)
 *   kipc_shmdt(addr)                   0, or -1
 *   kipc_shmctl(id, cmd, buf)          IPC_STAT, IPC_SET, IPC_RMID
 *
 * Every struct shmid_ds field stays true: shm_nattch counts the attaches
 * of live processes (one killed with -9 stops counting at once; fork()
 * adds the child's), and a segment removed with IPC_RMID lives on, keyless
 * and marked SHM_DEST, until its last attach is gone.  Segments are fully
 * allocated when created, so a full /dev/shm fails shmget() with ENOSPC
 * instead of killing a process with SIGBUS later.
 *
 * Differences from the kernel, forced by files being the permission
 * system: bookkeeping an attach writes to the segment's file, so shmat()
 * needs write permission even with SHM_RDONLY (EACCES otherwise); a
 * segment of size 0 or beyond the file system's room fails with EINVAL or
 * ENOSPC; IPC_SET may give a segment away (uid/gid) only where fchown()
 * may (root).  See docs/ipc.md.
 */
#ifndef KIPC_SHM_H
#define KIPC_SHM_H

#include <fcntl.h>		/* O_* for kipc_shm_open */
#include <stddef.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/types.h>

int kipc_shm_open(const char *name, int oflag, mode_t mode);
int kipc_shm_unlink(const char *name);

int kipc_shmget(key_t key, size_t size, int shmflg);
void *kipc_shmat(int shmid, const void *shmaddr, int shmflg);
int kipc_shmdt(const void *shmaddr);
int kipc_shmctl(int shmid, int cmd, struct shmid_ds *buf);

#endif /* KIPC_SHM_H */
