# Sourced by .ci/run: the CLI's tests under a real terminal (test/e2e/cli.terminal.test.ts)
# drive tmux, and check shell completion in bash and zsh.
apt_need tmux zsh
