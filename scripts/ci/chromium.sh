# Sourced by .ci/run: the dashboard's end-to-end tests (test/e2e/dashboard.test.ts) drive
# Debian's chromium, headless, through playwright-core.
apt_need chromium fonts-dejavu-core
