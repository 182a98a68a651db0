/* The task metadata relay (relay.c): what makes the agent's per-attempt task metadata socket
 * reachable at an IPv4 address inside a sandbox with a network of its own. Two programs run
 * it: the fork server's sandbox, as its pid 1 (sandbox.c), and openbatch-metadata-relay, the
 * first program of a bubblewrap sandbox (metadata-relay.c). */
#ifndef OPENBATCH_RELAY_H
#define OPENBATCH_RELAY_H

#include <sys/types.h>

/* Listens on "<ipv4>:<port>" in this network namespace; -1 when it cannot. */
int relay_listen(const char *address);

/* Accepts on `lfd`, copies each connection to and from a new connection to the unix socket
 * `socket_name`, reaps children as `sigchld_fd` (a signalfd of SIGCHLD) says, and when `job`
 * ends, calls `exit_as` with its wait status (which must not return). SIGPIPE is ignored. */
void relay_serve(int lfd, const char *socket_name, pid_t job, int sigchld_fd, void (*exit_as)(int wstatus)) __attribute__((noreturn));

#endif
