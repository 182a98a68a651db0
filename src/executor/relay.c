/* The task metadata relay (relay.h): one listening socket, up to RELAY_PAIRS connections
 * relayed at once, each to a new connection to the attempt's unix socket. */
#define _GNU_SOURCE
#include "relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define RELAY_PAIRS 64
#define RELAY_BUF 65536

int relay_listen(const char *address) {
  char host[64];
  const char *colon = strrchr(address, ':');
  if (!colon || (size_t)(colon - address) >= sizeof host) return -1;
  memcpy(host, address, (size_t)(colon - address));
  host[colon - address] = 0;
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

/* Copies what is readable on `from` to `to`; 0 when the connection is over. */
static int relay_copy(int from, int to) {
  static char buf[RELAY_BUF];
  ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0) return 0;
  for (ssize_t done = 0; done < n;) {
    ssize_t w = write(to, buf + done, (size_t)(n - done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return 0;
    done += w;
  }
  return 1;
}

void relay_serve(int lfd, const char *socket_name, pid_t job, int sigchld_fd, void (*exit_as)(int wstatus)) {
  int pairs[RELAY_PAIRS][2];
  int npairs = 0;
  signal(SIGPIPE, SIG_IGN);
  for (;;) {
    struct pollfd p[2 + 2 * RELAY_PAIRS];
    int n = 0;
    p[n++] = (struct pollfd){.fd = sigchld_fd, .events = POLLIN};
    p[n++] = (struct pollfd){.fd = npairs < RELAY_PAIRS ? lfd : -1, .events = POLLIN};
    for (int i = 0; i < npairs; i++) {
      p[n++] = (struct pollfd){.fd = pairs[i][0], .events = POLLIN};
      p[n++] = (struct pollfd){.fd = pairs[i][1], .events = POLLIN};
    }
    if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR) _exit(127);
    if (p[0].revents) {
      struct signalfd_siginfo si;
      while (read(sigchld_fd, &si, sizeof si) == (ssize_t)sizeof si) { /* drained; reaped below */ }
      int ws;
      pid_t done;
      while ((done = waitpid(-1, &ws, WNOHANG)) > 0)
        if (done == job) {
          exit_as(ws);
          _exit(127); /* exit_as does not return */
        }
    }
    if (p[1].revents & POLLIN) {
      int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
      if (c >= 0) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        int u = strlen(socket_name) < sizeof a.sun_path ? socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
        if (u >= 0) {
          strcpy(a.sun_path, socket_name);
          if (connect(u, (struct sockaddr *)&a, sizeof a) < 0) {
            close(u);
            u = -1;
          }
        }
        if (u < 0) close(c);
        else {
          pairs[npairs][0] = c;
          pairs[npairs][1] = u;
          npairs++;
        }
      }
    }
    /* From the last, so that dropping one does not skip another. */
    for (int i = npairs - 1; i >= 0; i--) {
      int ok = 1;
      if (p[2 + 2 * i].revents) ok = relay_copy(pairs[i][0], pairs[i][1]);
      if (ok && p[3 + 2 * i].revents) ok = relay_copy(pairs[i][1], pairs[i][0]);
      if (!ok) {
        close(pairs[i][0]);
        close(pairs[i][1]);
        npairs--;
        pairs[i][0] = pairs[npairs][0];
        pairs[i][1] = pairs[npairs][1];
      }
    }
  }
}
