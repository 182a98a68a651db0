/*
 * The fork server's own sandbox: the namespaces, mounts, capabilities and user that
 * bubblewrap would give a job, made by the fork server's child itself (forkserver.c).
 *
 * Why: bubblewrap is a program of its own, run once per job, and setpriv and prlimit more
 * programs after it; on the 2-core hosts this runs on a sandboxed `true` took ~50 ms from
 * start to exit and ~2 ms of CPU more than a bare one (docs/benchmarks.md). The fork server
 * already forks every job; making the namespaces in that child costs a few system calls.
 *
 * What a job sees is decided in one place only, sandbox.ts: it writes bubblewrap's arguments,
 * and they go either to bwrap or, where the agent runs as root and has its fork server, here.
 * This file takes the subset of bubblewrap's options sandbox.ts writes and does what
 * bubblewrap does with each, in the same order, so that the job gets exactly the same world
 * (test/executor/sandboxNative.test.ts runs one probe both ways and compares what it sees):
 *
 *   namespaces   --unshare-pid, --unshare-ipc, --unshare-net (its loopback up, as bubblewrap
 *                brings it up), and always a mount namespace;
 *                the first process is pid 1 of the new pid namespace and reaps; the job is
 *                pid 2; when the job exits, pid 1 exits with its status (128 + signal when
 *                killed), which ends every other process of the namespace
 *   the root     a tmpfs, every mount below it a slave of the host's (host mounts made later
 *                still reach into it) and the host's tree detached once the root is made
 *   --ro-bind, --bind, --dev-bind   recursive binds, nosuid, nodev unless --dev-bind,
 *                read-only with --ro-bind — every submount too
 *   --symlink, --dir, --tmpfs (with --perms and --size), --remount-ro (that mount only)
 *   --proc       a proc of the new pid namespace, its irq, bus, sys and sysrq-trigger bound
 *                read-only where they are writable
 *   --dev        a tmpfs with null, zero, full, random, urandom and tty bound from the host,
 *                the stdin/stdout/stderr/fd/core links, shm, a private devpts and ptmx
 *   --cap-drop ALL --cap-add …   the job keeps those capabilities (inheritable, permitted,
 *                effective, ambient); no_new_privs is set for every job
 *   --chdir      the job's working directory
 * and the job's user, as setpriv --reuid --regid --init-groups|--clear-groups --pdeathsig keep
 * would switch to it, after the capabilities are set (for jobs outside a sandbox too: the
 * fork server does it for every job that switches user).
 */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { OP_RO_BIND = 1, OP_BIND, OP_DEV_BIND, OP_SYMLINK, OP_DIR, OP_TMPFS, OP_REMOUNT_RO, OP_PROC, OP_DEV };

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
struct mount_attr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

/* Capability names bubblewrap takes, by number (linux/capability.h). */
static const char *const CAP_NAMES[] = {
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
  "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
  "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
  "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};
#define NCAPS ((int)(sizeof CAP_NAMES / sizeof CAP_NAMES[0]))

static int cap_number(const char *name) {
  for (int i = 0; i < NCAPS; i++)
    if (strcasecmp(CAP_NAMES[i], name) == 0 || strcasecmp(CAP_NAMES[i] + 4, name) == 0) return i;
  return -1;
}

static int add_op(Sandbox *sb, int kind, char *src, char *dest, int *perms, long long *size) {
  SandboxOp *ops = realloc(sb->ops, (size_t)(sb->nops + 1) * sizeof *ops);
  if (!ops) return -1;
  sb->ops = ops;
  ops[sb->nops++] = (SandboxOp){kind, src, dest, *perms, *size};
  *perms = -1;
  *size = -1;
  return 0;
}

int sandbox_parse(char **a, int n, Sandbox *sb, char *err, size_t errlen) {
  memset(sb, 0, sizeof *sb);
  int perms = -1;
  long long size = -1;
  unsigned long long caps = 0;
  for (int i = 0; i < n; i++) {
    const char *o = a[i];
    int left = n - i - 1;
#define NEED(k) if (left < (k)) { snprintf(err, errlen, "%s needs %d argument(s)", o, (k)); return -1; }
    if (!strcmp(o, "--die-with-parent")) continue; /* the fork server's PR_SET_PDEATHSIG, and pid 1's exit */
    else if (!strcmp(o, "--unshare-pid")) sb->unshare_pid = 1;
    else if (!strcmp(o, "--unshare-ipc")) sb->unshare_ipc = 1;
    else if (!strcmp(o, "--unshare-net")) sb->unshare_net = 1;
    else if (!strcmp(o, "--ro-bind") || !strcmp(o, "--bind") || !strcmp(o, "--dev-bind") || !strcmp(o, "--symlink")) {
      NEED(2);
      int kind = o[2] == 'r' ? OP_RO_BIND : o[2] == 'b' ? OP_BIND : o[2] == 'd' ? OP_DEV_BIND : OP_SYMLINK;
      if (add_op(sb, kind, a[i + 1], a[i + 2], &perms, &size) < 0) return -1;
      i += 2;
    } else if (!strcmp(o, "--dir") || !strcmp(o, "--tmpfs") || !strcmp(o, "--remount-ro") || !strcmp(o, "--proc") || !strcmp(o, "--dev")) {
      NEED(1);
      int kind = !strcmp(o, "--dir") ? OP_DIR : !strcmp(o, "--tmpfs") ? OP_TMPFS : !strcmp(o, "--remount-ro") ? OP_REMOUNT_RO : !strcmp(o, "--proc") ? OP_PROC : OP_DEV;
      if (add_op(sb, kind, NULL, a[i + 1], &perms, &size) < 0) return -1;
      i += 1;
    } else if (!strcmp(o, "--perms")) {
      NEED(1);
      perms = (int)strtol(a[++i], NULL, 8);
    } else if (!strcmp(o, "--size")) {
      NEED(1);
      size = strtoll(a[++i], NULL, 10);
    } else if (!strcmp(o, "--chdir")) {
      NEED(1);
      sb->chdir = a[++i];
    } else if (!strcmp(o, "--cap-drop") || !strcmp(o, "--cap-add")) {
      NEED(1);
      const char *c = a[++i];
      int drop = o[6] == 'd';
      if (!sb->caps_given) {
        /* without the options every capability is kept: the options start from that */
        caps = ~0ULL;
        sb->caps_given = 1;
      }
      if (!strcasecmp(c, "ALL")) caps = drop ? 0 : ~0ULL;
      else {
        int k = cap_number(c);
        if (k < 0) { snprintf(err, errlen, "unknown capability %s", c); return -1; }
        if (drop) caps &= ~(1ULL << k);
        else caps |= 1ULL << k;
      }
    } else {
      snprintf(err, errlen, "option %s is not one the fork server's sandbox takes", o);
      return -1;
    }
#undef NEED
  }
  sb->keep_caps = caps;
  return 0;
}

int sandbox_clone_flags(const Sandbox *sb) {
  return CLONE_NEWNS | (sb->unshare_pid ? CLONE_NEWPID : 0) | (sb->unshare_ipc ? CLONE_NEWIPC : 0) | (sb->unshare_net ? CLONE_NEWNET : 0);
}

/* ── mounts ─────────────────────────────────────────────────────────────────────────────── */

static int fail(char *what, size_t len, const char *step, const char *path) {
  int e = errno;
  snprintf(what, len, "%s %s", step, path ? path : "");
  errno = e;
  return -1;
}

static int setattr(const char *path, uint64_t set, int recursive) {
  struct mount_attr attr = {set, 0, 0, 0};
  return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &attr, sizeof attr);
}

/* Makes every missing directory above `path`, 0755. */
static int mkdir_parents(const char *path) {
  char p[PATH_MAX];
  if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) { errno = ENAMETOOLONG; return -1; }
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(p, 0755) < 0 && errno != EEXIST) return -1;
    *s = '/';
  }
  return 0;
}

static int ensure_dir(const char *path, int mode) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
  if (mkdir(path, (mode_t)mode) < 0 && errno != EEXIST) return -1;
  return 0;
}

static int ensure_file(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) return 0;
  int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOCTTY, 0666);
  if (fd < 0) return errno == EEXIST ? 0 : -1;
  close(fd);
  return 0;
}

/* A recursive bind, nosuid, nodev unless `devices`, read-only if `readonly`, submounts too. */
static int bind_mount(const char *src, const char *dest, int readonly, int devices) {
  if (mount(src, dest, NULL, MS_BIND | MS_REC, NULL) < 0) return -1;
  return setattr(dest, MOUNT_ATTR_NOSUID | (devices ? 0 : MOUNT_ATTR_NODEV) | (readonly ? MOUNT_ATTR_RDONLY : 0), 1);
}

static int tmpfs(const char *dest, int perms, long long size) {
  char opts[64];
  if (size >= 0) snprintf(opts, sizeof opts, "mode=0%o,size=%lld", perms >= 0 ? perms : 0755, size);
  else snprintf(opts, sizeof opts, "mode=0%o", perms >= 0 ? perms : 0755);
  return mount("tmpfs", dest, "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

static char *joined(char *buf, size_t len, const char *root, const char *path) {
  while (*path == '/') path++;
  snprintf(buf, len, "%s/%s", root, path);
  return buf;
}

static int do_op(const SandboxOp *op, const char *src, const char *dest, char *what, size_t wl) {
  char sub[PATH_MAX + 32];
  struct stat st;
  switch (op->kind) {
  case OP_RO_BIND:
  case OP_BIND:
  case OP_DEV_BIND:
    if (stat(src, &st) < 0) return fail(what, wl, "can't find the source", op->src);
    if ((S_ISDIR(st.st_mode) ? ensure_dir(dest, 0755) : ensure_file(dest)) < 0) return fail(what, wl, "can't make the mount point", op->dest);
    if (bind_mount(src, dest, op->kind == OP_RO_BIND, op->kind == OP_DEV_BIND) < 0) return fail(what, wl, "can't bind mount at", op->dest);
    return 0;
  case OP_SYMLINK:
    if (symlink(op->src, dest) < 0) {
      char had[PATH_MAX];
      ssize_t n = errno == EEXIST ? readlink(dest, had, sizeof had - 1) : -1;
      if (n < 0 || (had[n] = 0, strcmp(had, op->src) != 0)) return fail(what, wl, "can't make the link", op->dest);
    }
    return 0;
  case OP_DIR:
    if (ensure_dir(dest, op->perms >= 0 ? op->perms : 0755) < 0) return fail(what, wl, "can't make the directory", op->dest);
    if (op->perms >= 0 && chmod(dest, (mode_t)op->perms) < 0) return fail(what, wl, "can't set the mode of", op->dest);
    return 0;
  case OP_TMPFS:
    if (ensure_dir(dest, 0755) < 0) return fail(what, wl, "can't make the mount point", op->dest);
    if (tmpfs(dest, op->perms, op->size) < 0) return fail(what, wl, "can't mount a tmpfs at", op->dest);
    return 0;
  case OP_REMOUNT_RO:
    if (setattr(dest, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0) < 0) return fail(what, wl, "can't remount read-only", op->dest);
    return 0;
  case OP_PROC: {
    if (ensure_dir(dest, 0755) < 0) return fail(what, wl, "can't make the mount point", op->dest);
    if (mount("proc", dest, "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) < 0) return fail(what, wl, "can't mount proc at", op->dest);
    static const char *const cover[] = {"sys", "sysrq-trigger", "irq", "bus"};
    for (size_t i = 0; i < sizeof cover / sizeof cover[0]; i++) {
      snprintf(sub, sizeof sub, "%s/%s", dest, cover[i]);
      if (access(sub, W_OK) < 0) {
        if (errno == EACCES || errno == ENOENT) continue; /* read-only already, or not there */
        return fail(what, wl, "can't look at", sub);
      }
      if (bind_mount(sub, sub, 1, 0) < 0) return fail(what, wl, "can't cover", sub);
    }
    return 0;
  }
  case OP_DEV: {
    if (ensure_dir(dest, 0755) < 0) return fail(what, wl, "can't make the mount point", op->dest);
    if (tmpfs(dest, -1, -1) < 0) return fail(what, wl, "can't mount a tmpfs at", op->dest);
    static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
      char host[64];
      snprintf(sub, sizeof sub, "%s/%s", dest, nodes[i]);
      snprintf(host, sizeof host, "/oldroot/dev/%s", nodes[i]);
      if (ensure_file(sub) < 0 || bind_mount(host, sub, 0, 1) < 0) return fail(what, wl, "can't provide", sub);
    }
    static const char *const links[][2] = {
      {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}, {"fd", "/proc/self/fd"}, {"core", "/proc/kcore"},
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
      snprintf(sub, sizeof sub, "%s/%s", dest, links[i][0]);
      if (symlink(links[i][1], sub) < 0) return fail(what, wl, "can't make the link", sub);
    }
    snprintf(sub, sizeof sub, "%s/shm", dest);
    if (mkdir(sub, 0755) < 0) return fail(what, wl, "can't make", sub);
    snprintf(sub, sizeof sub, "%s/pts", dest);
    if (mkdir(sub, 0755) < 0) return fail(what, wl, "can't make", sub);
    if (mount("devpts", sub, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620") < 0) return fail(what, wl, "can't mount devpts at", sub);
    snprintf(sub, sizeof sub, "%s/ptmx", dest);
    if (symlink("pts/ptmx", sub) < 0) return fail(what, wl, "can't make the link", sub);
    return 0;
  }
  }
  errno = EINVAL;
  return fail(what, wl, "unknown step for", op->dest);
}

/* The new network namespace's loopback, up (bubblewrap's loopback_setup does the same by netlink). */
static int loopback_up(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int r = ioctl(fd, SIOCGIFFLAGS, &ifr);
  if (r == 0) {
    ifr.ifr_flags |= IFF_UP;
    r = ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  close(fd);
  return r;
}

int sandbox_enter(const Sandbox *sb, char *what, size_t wl) {
  if (sb->unshare_net && loopback_up() < 0) return fail(what, wl, "can't bring up the loopback", NULL);
  /* Sources are resolved on the host first (a link to a hidden path leads where it points). */
  char **real = calloc((size_t)sb->nops, sizeof *real);
  if (!real) return fail(what, wl, "out of memory", NULL);
  for (int i = 0; i < sb->nops; i++) {
    const SandboxOp *op = &sb->ops[i];
    if (op->kind != OP_RO_BIND && op->kind != OP_BIND && op->kind != OP_DEV_BIND) continue;
    real[i] = realpath(op->src, NULL);
    if (!real[i]) return fail(what, wl, "can't find the source", op->src);
  }
  /* Mounts below are this namespace's own; host mounts made later still reach in. */
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) return fail(what, wl, "can't make the mounts private", "/");
  /* A tmpfs to work in, made the root: the host's tree goes to /oldroot, the job's to /newroot. */
  if (mount("tmpfs", "/tmp", "tmpfs", MS_NODEV | MS_NOSUID, NULL) < 0) return fail(what, wl, "can't mount a tmpfs at", "/tmp");
  if (chdir("/tmp") < 0 || mkdir("newroot", 0755) < 0 || mount("newroot", "newroot", NULL, MS_BIND | MS_REC, NULL) < 0 || mkdir("oldroot", 0755) < 0)
    return fail(what, wl, "can't prepare the new root", NULL);
  if (syscall(SYS_pivot_root, "/tmp", "oldroot") < 0 || chdir("/") < 0) return fail(what, wl, "can't pivot to the new root", NULL);
  char src[PATH_MAX + 16], dest[PATH_MAX + 16];
  for (int i = 0; i < sb->nops; i++) {
    const SandboxOp *op = &sb->ops[i];
    joined(dest, sizeof dest, "/newroot", op->dest);
    if (mkdir_parents(dest) < 0) return fail(what, wl, "can't make the directories above", op->dest);
    if (real[i]) joined(src, sizeof src, "/oldroot", real[i]);
    if (do_op(op, real[i] ? src : NULL, dest, what, wl) < 0) return -1;
    free(real[i]);
  }
  free(real);
  /* The host's tree is let go of; private first, so that its unmount reaches no other namespace. */
  if (mount("oldroot", "oldroot", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || umount2("oldroot", MNT_DETACH) < 0) return fail(what, wl, "can't detach the host's tree", NULL);
  if (chdir("/newroot") < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) return fail(what, wl, "can't enter the new root", NULL);
  return 0;
}

/* ── the job's process ──────────────────────────────────────────────────────────────────── */

static int set_caps(unsigned long long keep) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  for (int i = 0; i < 2; i++) {
    uint32_t part = (uint32_t)(keep >> (32 * i));
    data[i].effective = data[i].permitted = data[i].inheritable = part;
  }
  if (syscall(SYS_capset, &hdr, data) < 0) return -1;
  for (int c = 0; c <= CAP_LAST_CAP && c < 64; c++) {
    if (!(keep & (1ULL << c))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0 && errno != EINVAL) return -1;
  }
  return 0;
}

int sandbox_become_job(const Sandbox *sb, const JobUser *user, char *what, size_t wl) {
  if (sb) {
    /* Without the options, as root, the job keeps what the process has, as bubblewrap does. */
    if (sb->caps_given && set_caps(sb->keep_caps & (CAP_LAST_CAP >= 63 ? ~0ULL : ((1ULL << (CAP_LAST_CAP + 1)) - 1))) < 0)
      return fail(what, wl, "can't set the job's capabilities", NULL);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return fail(what, wl, "can't set no_new_privs", NULL);
  }
  if (user && user->set) {
    /* As setpriv switches: the user first, keeping the capabilities until the exec (which
     * the exec's own lookup of the program is still made with, and which it then drops);
     * then the group and the groups; then the parent-death signal the change cleared. */
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct caps[2];
    int deathsig = 0;
    if (syscall(SYS_capget, &hdr, caps) < 0 || prctl(PR_GET_PDEATHSIG, &deathsig) < 0) return fail(what, wl, "can't read the process's state", NULL);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return fail(what, wl, "can't keep the capabilities", NULL);
    if (setresuid(user->uid, user->uid, user->uid) < 0) return fail(what, wl, "can't switch user", NULL);
    hdr = (struct __user_cap_header_struct){_LINUX_CAPABILITY_VERSION_3, 0};
    if (syscall(SYS_capset, &hdr, caps) < 0) return fail(what, wl, "can't keep the capabilities", NULL);
    if (setresgid(user->gid, user->gid, user->gid) < 0) return fail(what, wl, "can't switch group", NULL);
    if (user->name) {
      if (initgroups(user->name, user->gid) < 0) return fail(what, wl, "can't set the groups of", user->name);
    } else if (setgroups(0, NULL) < 0) return fail(what, wl, "can't clear the groups", NULL);
    if (deathsig && prctl(PR_SET_PDEATHSIG, deathsig) < 0) return fail(what, wl, "can't keep the parent-death signal", NULL);
  }
  return 0;
}

/* ── the task metadata relay ────────────────────────────────────────────────────────────────
 * What metadata-relay.c does as the sandbox's first program, done by pid 1 itself: one exec
 * and one process fewer per job, and the job is pid 2 as in every other sandbox. */

/* pid 1 of a pid namespace is not killed by a signal it does not handle: it exits as a shell
 * reports a signal (128 + the signal) instead of re-raising it. */
static void __attribute__((noreturn)) exit_as_pid1(int ws) {
  _exit(WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws));
}

void relay_until_exit(int lfd, const char *socket_name, pid_t job, int sigchld_fd) {
  relay_serve(lfd, socket_name, job, sigchld_fd, exit_as_pid1);
}
