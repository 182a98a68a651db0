/**
 * `openbatch completion bash|zsh`: a shell completion script made from the commands and
 * options the program has, so that it never lags behind them. Commands, subcommands and
 * options complete everywhere; the values of a few options too: --output's formats,
 * --status's job statuses, and the names of the server's job queues for --queue (read with
 * `openbatch queues --output text` as the user types, silently nothing when no server answers).
 */
import type { Command, Option } from 'commander';
import { CliError } from './errors.js';
import { STATUSES } from './jobs.js';
import { OUTPUT_FORMATS } from './output.js';

/** The long and short forms of each option, the program's (global) options included. */
function optionWords(cmd: Command, globals: readonly Option[]): string[] {
  const out: string[] = [];
  for (const o of [...cmd.options, ...globals]) {
    if (o.hidden) continue;
    if (o.long) out.push(o.long);
    if (o.short) out.push(o.short);
  }
  out.push('--help');
  return [...new Set(out)];
}

const visible = (cmd: Command) => cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);

/** Values an option takes, as a shell word list (static) or a command to run (dynamic). */
const VALUES: Record<string, { words?: readonly string[]; run?: string }> = {
  '--output': { words: OUTPUT_FORMATS },
  '--status': { words: STATUSES },
  '-s': { words: STATUSES },
  '--queue': { run: 'openbatch queues --output text 2>/dev/null | cut -f1' },
  '-q': { run: 'openbatch queues --output text 2>/dev/null | cut -f1' },
};

export function bashCompletion(program: Command): string {
  const globals = program.options;
  const cases = visible(program)
    .map((c) => {
      const subs = visible(c).map((s) => s.name());
      const subCases = visible(c)
        .map((s) => `          ${s.name()}) opts="${optionWords(s, globals).join(' ')}" ;;`)
        .join('\n');
      const own = optionWords(c, globals).join(' ');
      if (!subs.length) return `      ${c.name()}) opts="${own}" ;;`;
      return `      ${c.name()})\n        case "\${words[2]}" in\n${subCases}\n          *) opts="${own} ${subs.join(' ')}" ;;\n        esac ;;`;
    })
    .join('\n');
  const valueCases = Object.entries(VALUES)
    .map(([flag, v]) => `    ${flag}) COMPREPLY=($(compgen -W "${v.words ? v.words.join(' ') : `$(${v.run})`}" -- "$cur")); return ;;`)
    .join('\n');
  return `# bash completion for openbatch; load it with:  source <(openbatch completion bash)
_openbatch() {
  local cur prev words cword opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  # the words without the program's options and their values, so that the command is words[1]
  words=()
  local i skip=0
  for ((i = 0; i < COMP_CWORD; i++)); do
    if [ $skip = 1 ]; then skip=0; continue; fi
    case "\${COMP_WORDS[i]}" in
      --endpoint-url|--endpoint|--region|--output) skip=1; continue ;;
    esac
    words+=("\${COMP_WORDS[i]}")
  done
  case "$prev" in
${valueCases}
  esac
  if [ \${#words[@]} -le 1 ]; then
    COMPREPLY=($(compgen -W "${visible(program).map((c) => c.name()).join(' ')} ${optionWords(program, []).join(' ')}" -- "$cur"))
    return
  fi
  case "\${words[1]}" in
${cases}
      *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _openbatch openbatch
`;
}

/** A zsh word for a description: no colons or quotes to break the spec. */
const zshText = (s: string) => s.replace(/[:'[\]]/g, ' ').replace(/\s+/g, ' ').trim();

function zshOptionSpecs(cmd: Command, globals: readonly Option[]): string[] {
  const out: string[] = [];
  for (const o of [...cmd.options, ...globals]) {
    if (o.hidden) continue;
    const names = [o.short, o.long].filter(Boolean) as string[];
    const takes = o.required || o.optional;
    const v = o.long ? VALUES[o.long] : undefined;
    const action = !takes ? '' : v?.words ? `:value:(${v.words.join(' ')})` : v?.run ? `:value:{_openbatch_run '${v.run}'}` : ':value:';
    const desc = zshText(o.description);
    if (names.length === 2) out.push(`'(${names.join(' ')})'{${names.join(',')}}'[${desc}]${action}'`);
    else out.push(`'${names[0]}[${desc}]${action}'`);
  }
  return out;
}

export function zshCompletion(program: Command): string {
  const globals = program.options;
  const commandList = visible(program).map((c) => `'${c.name()}:${zshText(c.description())}'`);
  const cases = visible(program)
    .map((c) => {
      const specs = zshOptionSpecs(c, globals).join(' \\\n            ');
      const subs = visible(c);
      const subList = subs.length ? ` \\\n            '1:subcommand:((${subs.map((s) => `${s.name()}\\:${zshText(s.description()).replace(/ /g, '\\ ')}`).join(' ')}))'` : '';
      return `        ${c.name()})\n          _arguments -s \\\n            ${specs}${subList} \\\n            '*::argument:_default' ;;`;
    })
    .join('\n');
  return `#compdef openbatch
# zsh completion for openbatch; load it with:  source <(openbatch completion zsh)
# (or save it as _openbatch in a directory of your $fpath)
_openbatch_run() {
  local -a values
  values=(\${(f)"$(eval $1)"})
  compadd -a values
}
_openbatch() {
  local curcontext="$curcontext" state line
  typeset -A opt_args
  _arguments -C \\
    ${zshOptionSpecs(program, []).join(' \\\n    ')} \\
    '1:command:->command' \\
    '*::argument:->argument'
  case $state in
    command)
      local -a commands
      commands=(${commandList.join(' ')})
      _describe -t commands 'openbatch command' commands ;;
    argument)
      case $line[1] in
${cases}
      esac ;;
  esac
}
if [ "$funcstack[1]" = "_openbatch" ]; then _openbatch "$@"; else compdef _openbatch openbatch; fi
`;
}

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script for bash or zsh')
    .argument('<shell>', 'bash or zsh')
    .addHelpText(
      'after',
      '\nExamples:\n  source <(openbatch completion bash)                      # this shell; add it to ~/.bashrc to keep it\n  openbatch completion zsh > "${fpath[1]}/_openbatch"       # zsh, for every new shell',
    )
    .action((shell: string) => {
      if (shell === 'bash') process.stdout.write(bashCompletion(program));
      else if (shell === 'zsh') process.stdout.write(zshCompletion(program));
      else throw new CliError(`completion is for bash or zsh (got '${shell}')`);
    });
}
