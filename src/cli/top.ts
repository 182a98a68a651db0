import type { Command } from 'commander';
export function registerTopCommand(_program: Command): void {}
