import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { TARGETS } from '../pipeline/targets.js';

/** Options of a command and of the root program, for completion. */
function optionsOf(cmd: Command): string[] {
  return cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => !!f));
}

/**
 * bash and zsh completion scripts generated from the registered commands, so a command added
 * to commands.ts completes without touching this file. Repo names come from `isobuild list`,
 * target names (after -t/--target) from the targets table.
 */
export function completionScript(shell: 'bash' | 'zsh', program: Command): string {
  const commands = program.commands.map((c) => c.name()).filter((n) => n !== 'completion');
  const cases = program.commands
    .map((c) => `    ${c.name()}) opts="${[...optionsOf(c), ...optionsOf(program)].join(' ')}" ;;`)
    .join('\n');
  const bash = `# isobuild bash completion: eval "$(isobuild completion bash)"
_isobuild_repos() {
  isobuild list --json 2>/dev/null | sed -n 's/.*"repo":"\\([^"]*\\)".*/\\1/p'
}
_isobuild() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd="" opts="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in -*) ;; *) cmd=\${COMP_WORDS[i]}; break ;; esac
  done
  case $cmd in
${cases}
    *) opts="${optionsOf(program).join(' ')}" ;;
  esac
  if [[ $prev == -t || $prev == --target ]]; then
    COMPREPLY=($(compgen -W "${TARGETS.join(' ')}" -- "$cur"))
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "${commands.join(' ')} help $(_isobuild_repos)" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(_isobuild_repos)" -- "$cur") $(compgen -f -- "$cur"))
  fi
}
complete -F _isobuild isobuild
`;
  if (shell === 'bash') return bash;
  return `#compdef isobuild
# isobuild zsh completion: eval "$(isobuild completion zsh)" (bashcompinit runs the bash function)
autoload -U +X bashcompinit && bashcompinit
${bash}`;
}

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print the bash or zsh completion script: eval "$(isobuild completion bash)"')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh')
        throw new UsageError(`completion: "${shell}" is not bash or zsh`);
      process.stdout.write(completionScript(shell, program));
    });
}
