/*
 * openbatch fork server: starts job processes on behalf of an agent (see forkServer.ts).
 *
 * Why it exists: an agent is a Node process of 50+ MiB, and Node forks it for every
 * child_process.spawn; on a 2-core VM that is ~9 ms of the agent's event loop per job, more
 * than the job `true` itself costs. This process is tiny, so its fork() costs a fraction of a
 * millisecond, and it never waits for a child's exec: every step is driven by poll().
 *
 * Protocol, one line per message; ids are the agent's; strings are bytes, every one that is
 * not printable ASCII (and space and %) escaped as %XX.
 *   agent -> server
 *     S <id> <cwd> <drainMs> [a:<arg>]... [e:<NAME=value>]... [c:<cgroup.procs file>]...
 *       [r:<name> <soft> <hard>]... [b:<bubblewrap option>]... [u:<uid> <gid> [<name>]]
 *       [m:<ipv4:port> <socket name>]
 *          start: fork; the child joins the cgroups, starts a session (its own process
 *          group), sets the resource limits (as prlimit(1) would, names as its options),
 *          changes to cwd, gets /dev/null as stdin and pipes as stdout/stderr, execs
 *          argv[0] looked up on the job's PATH, with exactly the given environment.
 *          With b: fields the child is made in new namespaces instead and sets up the
 *          sandbox those bubblewrap options describe (sandbox.c); the job is its child, pid
 *          2 of the sandbox, and switches to the u: user (setpriv's --reuid --regid, and
 *          --init-groups with a name, else --clear-groups) before its exec; with
 *          m:<ipv4:port> <socket name>, the sandbox's pid 1 relays that port to the unix
 *          socket of that name in the working directory, as metadata-relay.c would
 *     K <id> <signal>
 *          signal the job's process group once its exec has succeeded (a signal asked for
 *          earlier waits for that) and only while its leader is not yet reaped (so a
 *          recycled pid is never signalled)
 *   server -> agent
 *     P <id> <pid>                    forked (sent at once; F follows if exec fails)
 *     F <id> <step> <errno> [<what>]  the child failed at step chdir | exec | cgroup | fork |
 *                                     pipe | rlimit | sandbox (then what it was doing)
 *     O <id> <1|2> <length>\n<bytes>  output
 *     X <id> <code> <signal>          the leader exited (code, or -1 and the signal) and all
 *                                     output was delivered (or drainMs passed after the exit
 *                                     while escaped processes still held the pipes)
 * When the leader exits, the rest of its process group is SIGKILLed at once, as the kernel
 * does to a container when its init exits. When standard input closes (the agent stopped or
 * died) every job's group is SIGKILLed and the server exits: nothing outlives its agent.
 * Should the server itself be killed, each job's leader gets SIGKILL from the kernel
 * (PR_SET_PDEATHSIG, set in the child before anything else).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sandbox.h"

typedef struct Job {
  char *id;
  pid_t pid;
  int out, err, status_fd; /* -1 when closed */
  int exited, wstatus, failed;
  int pending_sig; /* a signal asked for before the exec's outcome was known */
  long long exited_at, drain_ms;
  struct Job *next;
} Job;

static Job *jobs;
static char *outbuf;
static size_t outlen, outcap;

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void die(const char *what) {
  perror(what);
  exit(2);
}

/* Output is collected per loop turn and written in one go. */
static void put(const void *p, size_t n) {
  if (outlen + n > outcap) {
    outcap = (outlen + n) * 2;
    outbuf = realloc(outbuf, outcap);
    if (!outbuf) die("realloc");
  }
  memcpy(outbuf + outlen, p, n);
  outlen += n;
}

static void putf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void putf(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  put(line, (size_t)n);
}

static void flush_out(void) {
  size_t off = 0;
  while (off < outlen) {
    ssize_t n = write(1, outbuf + off, outlen - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd p = {1, POLLOUT, 0};
        poll(&p, 1, -1);
        continue;
      }
      exit(0); /* the agent is gone */
    }
    off += (size_t)n;
  }
  outlen = 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes in place what the agent escaped (every byte that is not printable ASCII, and space
 * and %, as %XX); NULL when malformed. */
static char *unesc(char *s) {
  char *w = s;
  for (const char *r = s; *r; r++) {
    if (*r != '%') {
      *w++ = *r;
      continue;
    }
    int hi = r[1] ? hexval(r[1]) : -1, lo = hi >= 0 && r[2] ? hexval(r[2]) : -1;
    if (hi < 0 || lo < 0) return NULL;
    *w++ = (char)(hi * 16 + lo);
    r += 2;
  }
  *w = 0;
  return s;
}

static void nonblock_cloexec(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
}

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Sets close-on-exec on every descriptor from `first` on: close_range where the kernel has
 * it (5.11), else each descriptor /proc/self/fd lists. */
static void mark_cloexec_from(int first) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, (unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
#endif
  DIR *d = opendir("/proc/self/fd");
  if (!d) return;
  int self = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    if (fd >= first && fd != self) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  closedir(d);
}

/* Says why the child could not start the job (`what`: the failing step's detail, or NULL)
 * and ends it. */
static void child_fail_what(int status_fd, const char *step, const char *what) {
  char msg[PATH_MAX + 128];
  int n = snprintf(msg, sizeof msg, "%s %d", step, errno);
  if (what && *what) {
    n += snprintf(msg + n, sizeof msg - (size_t)n, " ");
    for (const char *p = what; *p && n < (int)sizeof msg - 3; p++) n += snprintf(msg + n, sizeof msg - (size_t)n, "%02x", (unsigned char)*p);
  }
  if (write(status_fd, msg, (size_t)n) < 0) { /* nothing more to do */ }
  _exit(127);
}

static void child_fail(int status_fd, const char *step) {
  child_fail_what(status_fd, step, NULL);
}

/* prlimit(1)'s option names, which are Docker's ulimit names. */
static const struct { const char *name; int resource; } LIMITS[] = {
  {"core", RLIMIT_CORE}, {"cpu", RLIMIT_CPU}, {"data", RLIMIT_DATA}, {"fsize", RLIMIT_FSIZE}, {"locks", RLIMIT_LOCKS},
  {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE}, {"nofile", RLIMIT_NOFILE},
  {"nproc", RLIMIT_NPROC}, {"rss", RLIMIT_RSS}, {"rtprio", RLIMIT_RTPRIO}, {"rttime", RLIMIT_RTTIME},
  {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
};

/* "<name> <soft> <hard>" (-1: unlimited) */
static int set_limit(const char *spec) {
  char name[16];
  long long soft, hard;
  if (sscanf(spec, "%15s %lld %lld", name, &soft, &hard) != 3) { errno = EINVAL; return -1; }
  for (size_t i = 0; i < sizeof LIMITS / sizeof LIMITS[0]; i++) {
    if (strcmp(LIMITS[i].name, name) != 0) continue;
    struct rlimit r = {soft < 0 ? RLIM_INFINITY : (rlim_t)soft, hard < 0 ? RLIM_INFINITY : (rlim_t)hard};
    return setrlimit(LIMITS[i].resource, &r);
  }
  errno = EINVAL;
  return -1;
}

/* "<uid> <gid> [<name>]" */
static int parse_user(char *spec, JobUser *u) {
  char *name = NULL;
  unsigned long uid, gid;
  int at = 0;
  if (sscanf(spec, "%lu %lu %n", &uid, &gid, &at) < 2) return -1;
  if (spec[at]) name = spec + at;
  *u = (JobUser){1, (uid_t)uid, (gid_t)gid, name};
  return 0;
}

static void finish(Job *j);

/* How a process ended, as one exit code: the shell's 128 + signal when it was killed. */
static int exit_code_of(int ws) {
  return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
}

/* Waits for `child` (reaping any other) and exits as it did. */
static void __attribute__((noreturn)) exit_with(pid_t child) {
  for (;;) {
    int ws;
    pid_t p = waitpid(-1, &ws, 0);
    if (p < 0 && errno == EINTR) continue;
    if (p < 0) _exit(127);
    if (p == child) _exit(exit_code_of(ws));
  }
}

/* A sandboxed job's leader, as bubblewrap's three processes: this one (the job's session
 * and group leader, outside the sandbox) makes the namespaces and waits; its child, pid 1 of
 * the new pid namespace, makes the job's root, starts the job as its own child (pid 2) and
 * exits with the job's status once the job exits — which ends every other process of the
 * sandbox. Killed, this one takes the sandbox with it (its child's parent-death signal). */
static void __attribute__((noreturn)) run_sandboxed(const Sandbox *sb, const JobUser *user, const char *relay, const char *cwd, char **argv, char **envp, int status_fd) {
  char what[PATH_MAX + 64];
  if (unshare(sandbox_clone_flags(sb)) < 0) child_fail_what(status_fd, "sandbox", "can't make the namespaces");
  pid_t init = fork();
  if (init < 0) child_fail(status_fd, "fork");
  if (init > 0) {
    close(status_fd);
    exit_with(init);
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (sandbox_enter(sb, what, sizeof what) < 0) child_fail_what(status_fd, "sandbox", what);
  /* The task metadata relay, on the sandbox's loopback (m: "<address> <socket name>", the
   * socket in the working directory). Without the port the job runs without it. */
  int lfd = -1, sfd = -1;
  char relay_socket[256] = "";
  if (relay) {
    char address[64];
    if (sscanf(relay, "%63s %255s", address, relay_socket) == 2 && chdir(sb->chdir ? sb->chdir : cwd) == 0) lfd = relay_listen(address);
    if (lfd >= 0) {
      sigset_t chld;
      sigemptyset(&chld);
      sigaddset(&chld, SIGCHLD);
      sigprocmask(SIG_BLOCK, &chld, NULL);
      sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
      if (sfd < 0) child_fail(status_fd, "sandbox");
    }
  }
  pid_t job = fork();
  if (job < 0) child_fail(status_fd, "fork");
  if (job == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (chdir(sb->chdir ? sb->chdir : cwd) < 0) child_fail(status_fd, "chdir");
    if (sandbox_become_job(sb, user, what, sizeof what) < 0) child_fail_what(status_fd, "sandbox", what);
    execvpe(argv[0], argv, envp);
    child_fail(status_fd, "exec");
  }
  /* The status pipe is the job's now: it closes on its exec, or says why it failed. */
  close(status_fd);
  if (lfd >= 0) relay_until_exit(lfd, relay_socket, job, sfd);
  exit_with(job);
}

static void start(char *id, char *cwd, char *drain, char **fields, int nfields) {
  char *argv[nfields + 1], *envp[nfields + 1], *cgroups[nfields + 1], *limits[nfields + 1], *box[nfields + 1];
  int na = 0, ne = 0, nc = 0, nl = 0, nb = 0;
  char *relay = NULL;
  JobUser user = {0};
  for (int i = 0; i < nfields; i++) {
    char *f = fields[i];
    if (strlen(f) < 2 || f[1] != ':' || !unesc(f + 2)) continue;
    if (f[0] == 'a') argv[na++] = f + 2;
    else if (f[0] == 'e') envp[ne++] = f + 2;
    else if (f[0] == 'c') cgroups[nc++] = f + 2;
    else if (f[0] == 'r') limits[nl++] = f + 2;
    else if (f[0] == 'b') box[nb++] = f + 2;
    else if (f[0] == 'm') relay = f + 2;
    else if (f[0] == 'u' && parse_user(f + 2, &user) < 0) {
      putf("F %s exec %d\n", id, EINVAL);
      return;
    }
  }
  argv[na] = NULL;
  envp[ne] = NULL;
  if (!unesc(cwd) || na == 0) {
    putf("F %s exec %d\n", id, EINVAL);
    return;
  }
  Sandbox sb;
  char why[256];
  if (nb > 0 && sandbox_parse(box, nb, &sb, why, sizeof why) < 0) {
    putf("F %s sandbox %d ", id, EINVAL);
    for (const char *p = why; *p; p++) putf("%02x", (unsigned char)*p);
    putf("\n");
    return;
  }
  int out[2], err[2], st[2];
  if (pipe2(out, O_CLOEXEC) < 0) { putf("F %s pipe %d\n", id, errno); return; }
  if (pipe2(err, O_CLOEXEC) < 0) { putf("F %s pipe %d\n", id, errno); close(out[0]); close(out[1]); return; }
  if (pipe2(st, O_CLOEXEC) < 0) { putf("F %s pipe %d\n", id, errno); close(out[0]); close(out[1]); close(err[0]); close(err[1]); return; }
  pid_t self_pid = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    putf("F %s fork %d\n", id, errno);
    close(out[0]); close(out[1]); close(err[0]); close(err[1]); close(st[0]); close(st[1]);
    if (nb > 0) free(sb.ops);
    return;
  }
  if (pid == 0) {
    /* Should this server die before the child has made its own group (setsid below), the
     * group kill would miss the child: the kernel kills it instead. Kept across the exec, so
     * a job never outlives the server that started it, however the server ends. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != self_pid) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    for (int i = 0; i < nc; i++) {
      /* "0": the writing process, whatever pid namespace it is in */
      int fd = open(cgroups[i], O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write(fd, "0\n", 2) < 0) child_fail(st[1], "cgroup");
      close(fd);
    }
    setsid();
    for (int i = 0; i < nl; i++) if (set_limit(limits[i]) < 0) child_fail_what(st[1], "rlimit", limits[i]);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) child_fail(st[1], "exec");
    if (devnull > 2) close(devnull);
    /* Nothing but 0, 1 and 2 reaches the job: whatever this server or the agent inherited
     * without close-on-exec (a launcher's stray descriptor) is marked so here. Marked, not
     * closed: the status pipe must stay open until the exec succeeds. */
    mark_cloexec_from(3);
    /* (A sandboxed job changes to it again inside: this is where a missing one is said as such.) */
    if (chdir(cwd) < 0) child_fail(st[1], "chdir");
    if (nb > 0) run_sandboxed(&sb, &user, relay, cwd, argv, envp, st[1]);
    if (user.set) {
      char what[PATH_MAX + 64];
      if (sandbox_become_job(NULL, &user, what, sizeof what) < 0) child_fail_what(st[1], "user", what);
    }
    /* argv[0] comes looked up on the job's own PATH (process.ts): execvpe would search this
       process's PATH, not envp's. */
    execvpe(argv[0], argv, envp);
    child_fail(st[1], "exec");
  }
  if (nb > 0) free(sb.ops);
  close(out[1]);
  close(err[1]);
  close(st[1]);
  nonblock_cloexec(out[0]);
  nonblock_cloexec(err[0]);
  nonblock_cloexec(st[0]);
  Job *j = calloc(1, sizeof *j);
  if (!j) die("calloc");
  j->id = strdup(id);
  j->pid = pid;
  j->out = out[0];
  j->err = err[0];
  j->status_fd = st[0];
  j->drain_ms = atoll(drain);
  j->next = jobs;
  jobs = j;
  putf("P %s %d\n", id, pid);
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* Reports the end of a job once its leader is reaped and its pipes are closed. */
static void finish(Job *j) {
  if (!j->exited || j->out >= 0 || j->err >= 0 || j->status_fd >= 0) return;
  if (!j->failed) {
    if (WIFSIGNALED(j->wstatus)) putf("X %s -1 %d\n", j->id, WTERMSIG(j->wstatus));
    else putf("X %s %d 0\n", j->id, WEXITSTATUS(j->wstatus));
  }
  for (Job **p = &jobs; *p; p = &(*p)->next) {
    if (*p == j) {
      *p = j->next;
      break;
    }
  }
  free(j->id);
  free(j);
}

static void read_status(Job *j) {
  char msg[PATH_MAX * 2 + 128];
  ssize_t n = read(j->status_fd, msg, sizeof msg - 1);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n > 0) {
    msg[n] = 0;
    char step[16];
    int e = 0, at = 0;
    if (sscanf(msg, "%15s %d%n", step, &e, &at) == 2) {
      putf("F %s %s %d", j->id, step, e);
      put(msg + at, strlen(msg + at));
      put("\n", 1);
    } else putf("F %s exec %d\n", j->id, EIO);
    j->failed = 1;
  } else if (j->pending_sig && !j->exited) {
    /* exec succeeded: now the signal may reach the job (before, it could have hit a child
       that was about to fail, turning "could not start" into "was terminated") */
    kill(-j->pid, j->pending_sig);
  }
  close_fd(&j->status_fd);
  finish(j);
}

static void read_output(Job *j, int which) {
  int *fd = which == 1 ? &j->out : &j->err;
  char buf[65536];
  for (;;) {
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      close_fd(fd);
      finish(j);
      return;
    }
    putf("O %s %d %zd\n", j->id, which, n);
    put(buf, (size_t)n);
    if (n < (ssize_t)sizeof buf) return;
  }
}

static void reap(void) {
  int ws;
  pid_t pid;
  while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
    for (Job *j = jobs; j; j = j->next) {
      if (j->pid != pid) continue;
      j->exited = 1;
      j->wstatus = ws;
      j->exited_at = now_ms();
      /* The leader is gone: so is every process of its group (the group id is still pinned
         by any survivor, so this cannot hit a recycled pid). */
      kill(-pid, SIGKILL);
      finish(j);
      break;
    }
  }
}

static void handle_line(char *line) {
  char *fields[4096];
  int n = 0;
  for (char *tok = strtok(line, " "); tok && n < 4096; tok = strtok(NULL, " ")) fields[n++] = tok;
  if (n >= 4 && strcmp(fields[0], "S") == 0) {
    start(fields[1], fields[2], fields[3], fields + 4, n - 4);
  } else if (n == 3 && strcmp(fields[0], "K") == 0) {
    for (Job *j = jobs; j; j = j->next) {
      if (strcmp(j->id, fields[1]) != 0 || j->exited) continue;
      if (j->status_fd >= 0) j->pending_sig = atoi(fields[2]);
      else kill(-j->pid, atoi(fields[2]));
    }
  }
}

int main(void) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) die("signalfd");
  signal(SIGPIPE, SIG_IGN);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);

  size_t incap = 1 << 16, inlen = 0;
  char *in = malloc(incap);
  if (!in) die("malloc");
  struct pollfd *pfds = NULL;
  Job **owners = NULL;
  int *kinds = NULL;
  size_t cap = 0;

  for (;;) {
    size_t njobs = 0;
    for (Job *j = jobs; j; j = j->next) njobs++;
    if (2 + 3 * njobs > cap) {
      cap = (2 + 3 * njobs) * 2;
      pfds = realloc(pfds, cap * sizeof *pfds);
      owners = realloc(owners, cap * sizeof *owners);
      kinds = realloc(kinds, cap * sizeof *kinds);
      if (!pfds || !owners || !kinds) die("realloc");
    }
    size_t n = 0;
    pfds[n] = (struct pollfd){0, POLLIN, 0}; owners[n] = NULL; kinds[n++] = 0;
    pfds[n] = (struct pollfd){sfd, POLLIN, 0}; owners[n] = NULL; kinds[n++] = 3;
    long long now = now_ms(), next = -1;
    for (Job *j = jobs; j; j = j->next) {
      if (j->status_fd >= 0) { pfds[n] = (struct pollfd){j->status_fd, POLLIN, 0}; owners[n] = j; kinds[n++] = 4; }
      if (j->out >= 0) { pfds[n] = (struct pollfd){j->out, POLLIN, 0}; owners[n] = j; kinds[n++] = 1; }
      if (j->err >= 0) { pfds[n] = (struct pollfd){j->err, POLLIN, 0}; owners[n] = j; kinds[n++] = 2; }
      if (j->exited && (j->out >= 0 || j->err >= 0)) {
        long long due = j->exited_at + j->drain_ms;
        if (next < 0 || due < next) next = due;
      }
    }
    int timeout = next < 0 ? -1 : (int)(next > now ? next - now : 0);
    int r = poll(pfds, n, timeout);
    if (r < 0 && errno != EINTR) die("poll");
    /* Exec results first, then output, then exits: so P/F precede O, and O precedes X. */
    for (size_t i = 0; i < n; i++) if (kinds[i] == 4 && pfds[i].revents) read_status(owners[i]);
    for (size_t i = 0; i < n; i++) if ((kinds[i] == 1 || kinds[i] == 2) && pfds[i].revents) read_output(owners[i], kinds[i]);
    if (pfds[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) { /* drained; reap below */ }
    }
    reap();
    /* Escaped processes (setsid) may hold the pipes: stop waiting for them after drainMs. */
    now = now_ms();
    for (Job *j = jobs, *nx; j; j = nx) {
      nx = j->next;
      if (j->exited && (j->out >= 0 || j->err >= 0) && now >= j->exited_at + j->drain_ms) {
        close_fd(&j->out);
        close_fd(&j->err);
        finish(j);
      }
    }
    if (pfds[0].revents) {
      for (;;) {
        if (inlen == incap) {
          incap *= 2;
          in = realloc(in, incap);
          if (!in) die("realloc");
        }
        ssize_t k = read(0, in + inlen, incap - inlen);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && errno == EAGAIN) break;
        if (k <= 0) {
          /* The leader too, by pid: one forked a moment ago may not have made its group yet.
           * Its pid is ours until we reap it, so it cannot have been recycled. */
          for (Job *j = jobs; j; j = j->next) if (!j->exited) { kill(-j->pid, SIGKILL); kill(j->pid, SIGKILL); }
          flush_out();
          return 0;
        }
        inlen += (size_t)k;
      }
      size_t start_at = 0;
      for (size_t i = 0; i < inlen; i++) {
        if (in[i] != '\n') continue;
        in[i] = 0;
        handle_line(in + start_at);
        start_at = i + 1;
      }
      memmove(in, in + start_at, inlen - start_at);
      inlen -= start_at;
    }
    flush_out();
  }
}
