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
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PAIRS 64
#define BUF 65536

/* One relayed connection: fds[0] the job's side (TCP), fds[1] the agent's (unix). */
typedef struct {
  int fds[2];
} Pair;

static Pair pairs[MAX_PAIRS];
static int npairs;

static int listen_on(const char *spec) {
  char host[64];
  const char *colon = strrchr(spec, ':');
  if (!colon || (size_t)(colon - spec) >= sizeof host) return -1;
  memcpy(host, spec, colon - spec);
  host[colon - spec] = 0;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(colon + 1))};
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) return -1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int connect_unix(const char *path) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof a.sun_path) return -1;
  strcpy(a.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void drop(int i) {
  close(pairs[i].fds[0]);
  close(pairs[i].fds[1]);
  pairs[i] = pairs[--npairs];
}

/* Copies what is readable on one side to the other; 0 when the connection is over. */
static int copy(int from, int to) {
  static char buf[BUF];
  ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0) return 0;
  for (ssize_t done = 0; done < n;) {
    ssize_t w = write(to, buf + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return 0;
    done += w;
  }
  return 1;
}

static void exit_like(int wstatus) {
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
  int lfd = listen_on(argv[1]);
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
  signal(SIGPIPE, SIG_IGN);
  for (;;) {
    struct pollfd p[2 + 2 * MAX_PAIRS];
    int n = 0;
    p[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    p[n++] = (struct pollfd){.fd = npairs < MAX_PAIRS ? lfd : -1, .events = POLLIN};
    for (int i = 0; i < npairs; i++) {
      p[n++] = (struct pollfd){.fd = pairs[i].fds[0], .events = POLLIN};
      p[n++] = (struct pollfd){.fd = pairs[i].fds[1], .events = POLLIN};
    }
    if (poll(p, n, -1) < 0) {
      if (errno == EINTR) continue;
      perror("openbatch: poll");
      break;
    }
    if (p[0].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
      }
      int wstatus;
      pid_t done;
      while ((done = waitpid(-1, &wstatus, WNOHANG)) > 0) {
        if (done == pid) exit_like(wstatus);
      }
    }
    if (p[1].revents & POLLIN) {
      int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
      if (c >= 0) {
        int u = connect_unix(argv[2]);
        if (u < 0) close(c);
        else pairs[npairs++] = (Pair){{c, u}};
      }
    }
    /* Pairs are looked at from the last, so that dropping one does not skip another. */
    for (int i = npairs - 1; i >= 0; i--) {
      struct pollfd *job_side = &p[2 + 2 * i], *agent_side = &p[3 + 2 * i];
      int ok = 1;
      if (job_side->revents) ok = copy(pairs[i].fds[0], pairs[i].fds[1]);
      if (ok && agent_side->revents) ok = copy(pairs[i].fds[1], pairs[i].fds[0]);
      if (!ok) drop(i);
    }
  }
  int wstatus;
  waitpid(pid, &wstatus, 0);
  exit_like(wstatus);
}
