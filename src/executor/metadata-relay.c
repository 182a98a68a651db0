/*
 * openbatch metadata relay: makes the agent's task metadata endpoint (agent/taskMetadata.ts)
 * reachable from a sandboxed job whose network namespace has only its own loopback.
 *
 *   openbatch-metadata-relay <ipv4>:<port> <unix socket> -- <argv>...
 *
 * Run by bubblewrap as the sandbox's first process, inside the job's network namespace: it
 * listens on <ipv4>:<port> there, starts the job (argv, with the signal dispositions and mask
 * it was given), and copies every connection made to the port to and from the unix socket, a
 * per-attempt socket of the agent's in the attempt's working directory. The job's own network
 * stays as it was: nothing but this port is added, and it leads only to this attempt's
 * documents.
 *
 * It ends when the job's process does, with the same exit status (re-raising the signal that
 * ended it). It ignores SIGTERM, SIGINT and SIGHUP, which the executor sends to every process
 * of the sandbox: the job decides what they mean; SIGKILL ends both. When the port cannot be
 * had, the job runs without the relay.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "relay.h"

/* Ends as the job did: the same exit status, or the same signal re-raised. */
static void __attribute__((noreturn)) exit_like(int wstatus) {
  if (WIFSIGNALED(wstatus)) {
    int sig = WTERMSIG(wstatus);
    signal(sig, SIG_DFL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    raise(sig);
  }
  _exit(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 1);
}

int main(int argc, char **argv) {
  if (argc < 5 || strcmp(argv[3], "--") != 0) {
    fprintf(stderr, "usage: %s <ipv4>:<port> <unix socket> -- <argv>...\n", argv[0]);
    return 2;
  }
  char **job = argv + 4;
  int lfd = relay_listen(argv[1]);
  if (lfd < 0) {
    execvp(job[0], job);
    fprintf(stderr, "openbatch: execvp %s: %s\n", job[0], strerror(errno));
    return 127;
  }
  /*
   * The job gets the dispositions and mask this process was started with. SIGTERM, SIGINT and
   * SIGHUP are blocked, not ignored, across the fork: one sent to the job before it has its
   * own dispositions back stays pending and is delivered then, instead of being dropped.
   */
  sigset_t given, held, chld;
  sigprocmask(SIG_SETMASK, NULL, &given);
  sigemptyset(&held);
  sigaddset(&held, SIGTERM);
  sigaddset(&held, SIGINT);
  sigaddset(&held, SIGHUP);
  sigaddset(&held, SIGCHLD);
  sigprocmask(SIG_BLOCK, &held, NULL);
  /* Ignored SIGCHLD (inherited) would reap the job unseen and never tell: the default, then. */
  struct sigaction old_chld, dfl = {.sa_handler = SIG_DFL}, ign = {.sa_handler = SIG_IGN};
  sigaction(SIGCHLD, &dfl, &old_chld);
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  pid_t pid = fork();
  if (pid < 0) {
    perror("openbatch: fork");
    return 127;
  }
  if (pid == 0) {
    sigaction(SIGCHLD, &old_chld, NULL);
    sigprocmask(SIG_SETMASK, &given, NULL);
    execvp(job[0], job);
    fprintf(stderr, "openbatch: execvp %s: %s\n", job[0], strerror(errno));
    _exit(127);
  }
  /* Ignoring discards whatever of them is pending here: they were meant for the job. */
  sigaction(SIGTERM, &ign, NULL);
  sigaction(SIGINT, &ign, NULL);
  sigaction(SIGHUP, &ign, NULL);
  sigdelset(&held, SIGCHLD);
  sigprocmask(SIG_UNBLOCK, &held, NULL);
  relay_serve(lfd, argv[2], pid, sfd, exit_like);
}
