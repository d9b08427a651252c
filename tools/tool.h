/* SPDX-License-Identifier: MIT */
/*
 * The kipc tool's verbs, one file per concern.  Exit codes, for scripts:
 * 0 success, 1 an object could not be found, read or removed (a message
 * on stderr says which and why), 2 bad usage.
 */
#ifndef KIPC_TOOL_H
#define KIPC_TOOL_H

#include <stdbool.h>

#define EXIT_OBJECT 1
#define EXIT_USAGE 2

int cmd_ls(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_mkfifo(int argc, char **argv);
int cmd_write(int argc, char **argv);
int cmd_read(int argc, char **argv);
int cmd_mkqueue(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_receive(int argc, char **argv);

/* argv[1] is --help or -h. */
bool wants_help(int argc, char **argv);

#endif
