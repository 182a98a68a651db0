/* The fork server's own sandbox (sandbox.c): what bubblewrap does for a job, done by the
 * fork server's child itself. */
#ifndef OPENBATCH_SANDBOX_H
#define OPENBATCH_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

#include "relay.h"

/* One step of the sandbox, in bubblewrap's argument order. */
typedef struct SandboxOp {
  int kind;
  char *src, *dest;
  int perms;       /* --perms before it, or -1 */
  long long size;  /* --size before it, or -1 */
} SandboxOp;

typedef struct Sandbox {
  SandboxOp *ops;
  int nops;
  int unshare_pid, unshare_ipc, unshare_net;
  int caps_given;                /* --cap-drop / --cap-add were given */
  unsigned long long keep_caps;  /* the capabilities the job keeps, when given */
  char *chdir;                   /* --chdir, or NULL */
} Sandbox;

/* A job's user, as setpriv(1) --reuid --regid --init-groups | --clear-groups would make it. */
typedef struct JobUser {
  int set;
  uid_t uid;
  gid_t gid;
  char *name; /* --init-groups with this name; NULL: --clear-groups */
} JobUser;

/* Parses bubblewrap's options (the subset sandbox.ts writes, up to and without `--`).
 * Returns 0, or -1 with `err` saying what it does not take. */
int sandbox_parse(char **args, int n, Sandbox *sb, char *err, size_t errlen);

/* The clone(2) flags of the sandbox's namespaces. */
int sandbox_clone_flags(const Sandbox *sb);

/* In the sandbox's first process (pid 1 of its pid namespace, in a mount namespace of its
 * own): makes the job's root and moves into it. Returns 0, or -1 with errno set and `what`
 * saying which step failed. */
int sandbox_enter(const Sandbox *sb, char *what, size_t whatlen);

/* In the job's process, just before its exec: capabilities, no_new_privs, its user.
 * Returns 0, or -1 with errno set and `what` naming the step. */
int sandbox_become_job(const Sandbox *sb, const JobUser *user, char *what, size_t whatlen);

/* pid 1's loop with the task metadata relay (relay.h relay_serve), exiting as `job` does. */
void relay_until_exit(int lfd, const char *socket_name, pid_t job, int sigchld_fd) __attribute__((noreturn));

#endif
